#if canImport(Glibc)
import Glibc
#endif
import MediaSyncCore

/// Small path facts the sync needs about the library and the staging folder, on raw bytes.
enum LibraryPaths {
    /// `base/relative`, bytes in, bytes out.
    static func join(_ base: [UInt8], _ relative: [UInt8]) -> [UInt8] {
        var path = base
        if path.last != UInt8(ascii: "/") { path.append(UInt8(ascii: "/")) }
        path.append(contentsOf: relative.drop(while: { $0 == UInt8(ascii: "/") }))
        return path
    }

    /// Size and mtime of a regular file at `path` (no symlink followed), or nil.
    static func fact(_ path: [UInt8]) -> LibraryFileFact? {
        var st = stat()
        guard BytePathC.with(path, { lstat($0, &st) }) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return LibraryFileFact(size: Int64(st.st_size), mtime: Int64(st.st_mtim.tv_sec))
    }

    static func exists(_ path: [UInt8]) -> Bool {
        var st = stat()
        return BytePathC.with(path) { lstat($0, &st) } == 0
    }
}
