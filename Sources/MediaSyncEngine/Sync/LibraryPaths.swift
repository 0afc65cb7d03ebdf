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

/// `LibraryPaths.fact` for many files in few folders: the last folder stays open and each file is looked up
/// by its base name in it (`fstatat`, no symlink followed), not by its whole path from the root. For the
/// purge's check that every file is home, a path walk of eight components per file was most of its cost.
/// Same answers as `LibraryPaths.fact`: the folder's own components are followed as `lstat` follows them.
final class LibraryFolderStat {
    private var folder: [UInt8]?
    private var fd: Int32 = -1

    deinit { if fd >= 0 { close(fd) } }

    func fact(_ path: [UInt8]) -> LibraryFileFact? {
        guard let slash = path.lastIndex(of: UInt8(ascii: "/")), slash > 0, slash + 1 < path.count else {
            return LibraryPaths.fact(path)
        }
        if folder == nil || !folder!.elementsEqual(path[..<slash]) {
            if fd >= 0 { close(fd) }
            folder = Array(path[..<slash])
            fd = BytePathC.with(folder!) { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        }
        guard fd >= 0 else { return nil }
        var st = stat()
        let base = Array(path[(slash + 1)...])
        guard BytePathC.with(base, { fstatat(fd, $0, &st, AT_SYMLINK_NOFOLLOW) }) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            return nil
        }
        return LibraryFileFact(size: Int64(st.st_size), mtime: Int64(st.st_mtim.tv_sec))
    }
}
