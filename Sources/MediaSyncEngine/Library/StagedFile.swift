#if canImport(Glibc)
import Glibc
#endif
import MediaSyncCore

/// One staged file, named relative to a staging folder the caller holds open (or an absolute path): moving
/// 20,000 small files home then costs no walk of the whole staging path per file, neither for the look at
/// the file nor for the rename.
///
/// ```swift
/// let staged = StagedFile(folder: fd, name: Array("00042-1.png".utf8), shownFolder: Array("/lib/.mediasync/staging/src/out/day".utf8))
/// if let fact = staged.fact(), fact.size == planned.size {
///     _ = try writer.move(staged, to: libraryPath, size: planned.size, mtime: planned.mtime, folders: folders, checked: true)
/// }
/// ```
public struct StagedFile {
    /// A descriptor of the folder holding the file (the caller keeps it open), or AT_FDCWD.
    public let folder: Int32
    /// The file's name in `folder` (an absolute path when `folder` is AT_FDCWD).
    public let name: [UInt8]
    /// The folder's path, for messages only: `shownPrefix` then `shownFolder`. Two parts so that a caller
    /// passes arrays it holds already, and a look at a file makes no path it will not show.
    let shownPrefix: [UInt8]
    let shownFolder: [UInt8]

    public init(folder: Int32, name: [UInt8], shownFolder: [UInt8], shownPrefix: [UInt8] = []) {
        self.folder = folder
        self.name = name
        self.shownFolder = shownFolder
        self.shownPrefix = shownPrefix
    }

    /// The staged file at an absolute path.
    public init(path: [UInt8]) {
        self.init(folder: AT_FDCWD, name: path, shownFolder: [])
    }

    /// The path shown in messages.
    var shown: String {
        let folder = shownPrefix + shownFolder
        if folder.isEmpty { return String(decoding: name, as: UTF8.self) }
        return String(decoding: folder.last == UInt8(ascii: "/") ? folder + name : folder + [UInt8(ascii: "/")] + name, as: UTF8.self)
    }

    /// Size and mtime when it is a regular file (no symlink followed), else nil.
    public func fact() -> LibraryFileFact? {
        var st = stat()
        guard BytePathC.with(name, { fstatat(folder, $0, &st, AT_SYMLINK_NOFOLLOW) }) == 0,
              (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return LibraryFileFact(size: Int64(st.st_size), mtime: Int64(st.st_mtim.tv_sec))
    }

    /// True when something (of any kind) is at the name.
    public var exists: Bool {
        var st = stat()
        return BytePathC.with(name) { fstatat(folder, $0, &st, AT_SYMLINK_NOFOLLOW) } == 0
    }
}
