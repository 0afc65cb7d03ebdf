/// Whether a child that did not exit 0 did its work all the same, because the only thing it complained
/// about was files that vanished under it. Generators and people delete files while a folder is listed or
/// copied: GNU find prints `find: './x.png': No such file or directory` for an entry that vanished between
/// readdir and stat and exits 1; rsync says `file has vanished` (exit 24) for a file deleted during the
/// transfer, and `link_stat "..." failed: No such file or directory (2)` (exit 23) for a name of its
/// `--files-from` list that is gone. In each case the rest is complete. Anything else (the folder gone,
/// permission denied, an I/O error, a full disk) keeps the exit a failure with its own reason.
///
/// ```swift
/// var stderr = VanishedFiles()
/// stderr.add(message)                       // every stderr line of the child
/// if let vanished = stderr.completeDespite(code: 1, signal: 0) { useListing() }
/// ```
public struct VanishedFiles: Sendable {
    /// Files the child said had vanished.
    public private(set) var count = 0
    /// Complaints that are not about a vanished file: any one makes a non-zero exit a failure.
    public private(set) var others = 0

    public init() {}

    public mutating func add(_ message: RsyncMessage) {
        switch Self.kind(of: message.text) {
        case .vanished: count += 1
        case .summary: break
        case .other: if message.severity != .info { others += 1 }
        }
    }

    /// The number of vanished files when a child that exited with `code` did its work anyway, else nil.
    /// 0 is a success; 1 (find), 23 and 24 (rsync) count only when every complaint was a vanished file.
    public func completeDespite(code: Int32, signal: Int32) -> Int? {
        guard signal == 0 else { return nil }
        if code == 0 { return count }
        guard code == 1 || code == 23 || code == 24, count > 0, others == 0 else { return nil }
        return count
    }

    /// The same judgement over messages already gathered.
    public static func completeDespite(code: Int32, signal: Int32, messages: [RsyncMessage]) -> Int? {
        var files = VanishedFiles()
        for message in messages { files.add(message) }
        return files.completeDespite(code: code, signal: signal)
    }

    /// Whether a line is about vanished files (or rsync's summary of them), i.e. not a complaint of its own.
    public static func isAboutVanishedFiles(_ line: String) -> Bool { kind(of: line) != .other }

    enum Kind { case vanished, summary, other }

    static func kind(of line: String) -> Kind {
        let text = line.drop { $0 == " " || $0 == "\t" }
        if text.hasPrefix("file has vanished: ") { return .vanished }
        // rsync's closing lines repeat what the lines before said.
        if text.hasPrefix("rsync warning: some files vanished before they could be transferred")
            || text.hasPrefix("rsync error: some files/attrs were not transferred") { return .summary }
        if text.hasPrefix("rsync: "), text.contains("link_stat \""),
           text.hasSuffix("failed: No such file or directory (2)") { return .vanished }
        // find names the entry in quotes ('' in the C locale, ‘’ in a UTF-8 one); `.` is the folder itself.
        guard text.hasPrefix("find: "), text.hasSuffix(": No such file or directory") else { return .other }
        let quoted = text.dropFirst("find: ".count).dropLast(": No such file or directory".count)
        return quoted.count > 2 && quoted != "'.'" && quoted != "‘.’" ? .vanished : .other
    }
}
