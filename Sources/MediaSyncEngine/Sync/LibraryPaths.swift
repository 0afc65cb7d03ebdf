#if canImport(Glibc)
import Glibc
#endif
import MediaSyncCore

/// Small path facts the sync needs about the library and the staging folder, on raw bytes.
enum LibraryPaths {
    /// `base/relative`, bytes in, bytes out.
    static func join(_ base: [UInt8], _ relative: [UInt8]) -> [UInt8] {
        let rest = relative.drop(while: { $0 == UInt8(ascii: "/") })
        var path: [UInt8] = []
        path.reserveCapacity(base.count + 1 + rest.count)
        path += base
        if path.last != UInt8(ascii: "/") { path.append(UInt8(ascii: "/")) }
        path += rest
        return path
    }

    /// Size and mtime of a regular file at `path` (no symlink followed), or nil.
    static func fact(_ path: [UInt8]) -> LibraryFileFact? {
        var st = stat()
        guard BytePathC.with(path, { lstat($0, &st) }) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return LibraryFileFact(size: Int64(st.st_size), mtime: Int64(st.st_mtim.tv_sec))
    }

    /// `path` with every symlink resolved (realpath), or `path` itself when that fails.
    static func real(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func exists(_ path: [UInt8]) -> Bool {
        var st = stat()
        return BytePathC.with(path) { lstat($0, &st) } == 0
    }
}

/// Linux's `O_PATH` (<fcntl.h>; Swift's Glibc does not export it without _GNU_SOURCE; the value of x86-64 and
/// arm64): a descriptor that only names a folder for the `*at` calls, opened with search permission alone.
let openPathOnly: Int32 = 0o10000000

/// `LibraryPaths.fact` for many library-relative paths that come folder by folder, sorted (a sync plan looks at
/// the names of a job's new files, and with `--refetch` at its files home; a purge plan at every file it may
/// delete): each folder is opened once (`O_PATH`, or found missing once) and each file is one `fstatat` by its
/// name, instead of a walk of the whole absolute path per file. The answers are lstat's.
final class LibraryLookup {
    private let root: [UInt8]
    private var folder: [UInt8]?
    /// The held folder's descriptor; -1 when it is missing (every file in it is too).
    private var descriptor: Int32 = -1
    /// False once a look met something that is neither a regular file nor a real folder: a symlink on the
    /// way to a folder, or a folder (or device, ...) at a file's name. A sync then keeps to staging
    /// (`SyncPlan.libraryPlain`).
    private(set) var plain = true
    /// Folders (library-relative) found to be real folders or missing, every part of the way.
    private var plainFolders = Set<[UInt8]>()

    init(root: [UInt8]) { self.root = root }

    deinit { if descriptor >= 0 { _ = close(descriptor) } }

    /// Size and mtime of the regular file at library-relative `path` (no symlink followed), or nil.
    func fact(_ path: [UInt8]) -> LibraryFileFact? {
        let cut = path.lastIndex(of: UInt8(ascii: "/"))
        let folderPart = cut.map { path[..<$0] } ?? path[path.startIndex..<path.startIndex]
        if folder.map({ !$0.elementsEqual(folderPart) }) ?? true {
            if descriptor >= 0 { _ = close(descriptor) }
            descriptor = -1
            folder = Array(folderPart)
            if plain { checkPlain(Array(folderPart)) }
            let fd = BytePathC.with(LibraryPaths.join(root, Array(folderPart))) { open($0, openPathOnly | O_DIRECTORY | O_CLOEXEC) }
            if fd >= 0 {
                descriptor = fd
            } else if errno != ENOENT && errno != ENOTDIR {
                // Not a plain "missing" (permissions, too many open files): ask lstat itself, and again next time.
                folder = nil
                return LibraryPaths.fact(LibraryPaths.join(root, path))
            }
        }
        guard descriptor >= 0 else { return nil }
        let name = Array(path[(cut.map { $0 + 1 } ?? path.startIndex)...])
        var st = stat()
        guard BytePathC.with(name, { fstatat(descriptor, $0, &st, AT_SYMLINK_NOFOLLOW) }) == 0 else { return nil }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            plain = false
            return nil
        }
        return LibraryFileFact(size: Int64(st.st_size), mtime: Int64(st.st_mtim.tv_sec))
    }

    /// Clears `plain` when a part of `folder`'s way is there but is not a real folder (lstat each part once).
    private func checkPlain(_ folder: [UInt8]) {
        var end = 0
        while end <= folder.count {
            if end == folder.count || folder[end] == UInt8(ascii: "/") {
                let part = Array(folder[..<end])
                if !part.isEmpty, !plainFolders.contains(part) {
                    var st = stat()
                    if BytePathC.with(LibraryPaths.join(root, part), { lstat($0, &st) }) == 0 {
                        guard st.st_mode & S_IFMT == S_IFDIR else {
                            plain = false
                            return
                        }
                    } else if errno != ENOENT {
                        plain = false
                        return
                    }
                    plainFolders.insert(part)
                }
            }
            end += 1
        }
    }
}
