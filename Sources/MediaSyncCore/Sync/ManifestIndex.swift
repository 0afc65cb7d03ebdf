/// One job's manifest rows as the planner needs them, held compactly: a folder of 200,000 files is 200,000
/// rows each cycle. Keyed by remote path (`PathKey`, hashed in one call); a row whose library path is the
/// natural one (`<dest>/<folder>/<remote path>`, nearly all of them) does not keep a copy of it.
///
/// ```swift
/// var index = ManifestIndex(prefix: Array("forge/txt2img".utf8))
/// index.add(remotePath: row.remotePath, size: row.size, mtime: row.mtime, libraryPath: row.libraryPath)
/// index.home(of: file)           // the library path that holds `file` as it is now, if recorded
/// index.isTaken(libraryPath)     // some row of this job holds that library path
/// ```
public struct ManifestIndex: Sendable {
    struct Entry: Sendable {
        var size: Int64
        var mtime: Int64
        /// nil: the natural name.
        var libraryPath: [UInt8]?
    }

    /// `<dest>/<folder>`, library-relative.
    public let prefix: [UInt8]
    private var first: [PathKey: Entry] = [:]
    private var more: [PathKey: [Entry]] = [:]
    /// Library paths of rows that are not at their natural name.
    private var renamed: Set<PathKey> = []
    public private(set) var count = 0

    public init(prefix: [UInt8], capacity: Int = 0) {
        var trimmed = prefix
        while trimmed.last == UInt8(ascii: "/") { trimmed.removeLast() }
        self.prefix = trimmed
        first.reserveCapacity(capacity)
    }

    public init(prefix: [UInt8], rows: [ManifestRow]) {
        self.init(prefix: prefix, capacity: rows.count)
        for row in rows { add(remotePath: row.remotePath, size: row.size, mtime: row.mtime, libraryPath: row.libraryPath) }
    }

    /// Adds a row; `libraryPath` is read in place (a BLOB from SQLite) and copied only when it is not the
    /// natural name.
    public mutating func add(remotePath: [UInt8], size: Int64, mtime: Int64, libraryPath: UnsafeRawBufferPointer) {
        let natural = isNatural(libraryPath, for: remotePath)
        let kept: [UInt8]? = natural ? nil : Array(libraryPath)
        if let kept { renamed.insert(PathKey(kept)) }
        let entry = Entry(size: size, mtime: mtime, libraryPath: kept)
        let key = PathKey(remotePath)
        if first[key] == nil { first[key] = entry } else { more[key, default: []].append(entry) }
        count += 1
    }

    public mutating func add(remotePath: [UInt8], size: Int64, mtime: Int64, libraryPath: [UInt8]) {
        libraryPath.withUnsafeBytes { add(remotePath: remotePath, size: size, mtime: mtime, libraryPath: $0) }
    }

    /// Where a row's file is in the library, without making the natural name's bytes.
    public enum Home: Sendable, Equatable {
        /// `<prefix>/<remote path>`.
        case natural
        case other([UInt8])
    }

    /// The library path recorded for `file` with its size and mtime as they are now, if any.
    public func home(of file: RemoteFile) -> [UInt8]? {
        recordedHome(of: file).map { path(of: $0, for: file.path) }
    }

    /// `home(of:)` without building the natural name (a purge of 200,000 files keeps 200,000 of them).
    public func recordedHome(of file: RemoteFile) -> Home? {
        let key = PathKey(file.path)
        guard let head = first[key] else { return nil }
        let same = { (entry: Entry) in entry.size == file.size && entry.mtime == file.mtime }
        guard let entry = same(head) ? head : more[key]?.first(where: same) else { return nil }
        return entry.libraryPath.map(Home.other) ?? .natural
    }

    /// The library path `home` names for the file at `remotePath`.
    public func path(of home: Home, for remotePath: [UInt8]) -> [UInt8] {
        switch home {
        case .natural: return LibraryNaming.join(prefix: prefix, remotePath)
        case .other(let path): return path
        }
    }

    /// The size and mtime of the row recorded last for `remotePath`, if any.
    public func latest(of remotePath: [UInt8]) -> (size: Int64, mtime: Int64)? {
        let key = PathKey(remotePath)
        guard let entry = more[key]?.last ?? first[key] else { return nil }
        return (entry.size, entry.mtime)
    }

    /// Whether any row has this remote path (with whatever size and mtime).
    public func knows(_ remotePath: [UInt8]) -> Bool { first[PathKey(remotePath)] != nil }

    /// Whether a row of this job holds `libraryPath`.
    public func isTaken(_ libraryPath: [UInt8]) -> Bool {
        if renamed.contains(PathKey(libraryPath)) { return true }
        guard libraryPath.count > prefix.count + 1 || prefix.isEmpty else { return false }
        let remote: [UInt8]
        if prefix.isEmpty {
            remote = libraryPath
        } else {
            guard libraryPath.starts(with: prefix), libraryPath[prefix.count] == UInt8(ascii: "/") else { return false }
            remote = Array(libraryPath[(prefix.count + 1)...])
        }
        let key = PathKey(remote)
        guard let head = first[key] else { return false }
        return head.libraryPath == nil || (more[key] ?? []).contains { $0.libraryPath == nil }
    }

    private func isNatural(_ libraryPath: UnsafeRawBufferPointer, for remotePath: [UInt8]) -> Bool {
        if prefix.isEmpty { return libraryPath.elementsEqual(remotePath) }
        guard libraryPath.count == prefix.count + 1 + remotePath.count else { return false }
        return libraryPath.prefix(prefix.count).elementsEqual(prefix) && libraryPath[prefix.count] == UInt8(ascii: "/")
            && libraryPath.suffix(remotePath.count).elementsEqual(remotePath)
    }
}
