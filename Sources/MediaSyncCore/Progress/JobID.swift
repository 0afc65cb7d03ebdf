/// Names one job: one (source, folder) pair of a cycle, written "<source>/<folder>" on the wire.
public struct JobID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The configured source's name, e.g. `forge-box`.
    public var source: String
    /// The folder inside that source, e.g. `outputs/txt2img-images`.
    public var folder: String

    public init(source: String, folder: String) {
        self.source = source
        self.folder = folder
    }

    /// The id string events carry: `"<source>/<folder>"`.
    public var description: String { "\(source)/\(folder)" }

    public static func < (lhs: JobID, rhs: JobID) -> Bool {
        (lhs.source, lhs.folder) < (rhs.source, rhs.folder)
    }
}
