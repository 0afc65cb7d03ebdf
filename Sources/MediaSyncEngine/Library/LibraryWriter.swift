#if canImport(Glibc)
import Glibc
#endif
import MediaSyncCore

/// Moves finished files from the staging folder to their planned library paths, never replacing a file.
///
/// ```swift
/// let writer = LibraryWriter(libraryRoot: config.library)
/// for transfer in finished {
///     let outcome = try writer.move(staged: stagingFolder + "/" + transfer.remotePath,
///                                   to: transfer.libraryPath, size: transfer.size, mtime: transfer.mtime)
///     rows.append(row(for: transfer, at: outcome.libraryPath))
/// }
/// try writer.flush()      // durable before the manifest transaction that records them
/// ```
///
/// A move is `renameat2(RENAME_NOREPLACE)`, or `link()` + `unlink()` where the file system refuses that
/// flag; both fail with EEXIST instead of replacing, so a file that appears in the library between any
/// check and the move is still never overwritten. exFAT and FAT offer neither: there the name is checked and
/// then `rename()`d (`LibraryTraits.Move.checkedRename`); only a file another program creates at that very
/// name between the check and the rename could be replaced. Which one is used is probed once per cycle
/// (`LibraryProbe`), and mtimes compare in the file system's own steps. Folders on the way are opened
/// with O_NOFOLLOW, so a symlink planted in the library cannot send a file elsewhere.
public struct LibraryWriter: Sendable {
    /// What became of one staged file.
    public enum Outcome: Equatable, Sendable {
        /// Moved to its planned path.
        case moved(libraryPath: [UInt8])
        /// The planned name holds another file, so it got the first free `~N` name.
        case movedAside(libraryPath: [UInt8], planned: [UInt8])
        /// A file of the same size and mtime already sits there (brought home before, e.g. before a crash
        /// lost its manifest row); the staged copy was removed.
        case alreadyHome(libraryPath: [UInt8])

        /// Where the file now is, relative to the library root: what the manifest row records.
        public var libraryPath: [UInt8] {
            switch self {
            case let .moved(path), let .movedAside(path, _), let .alreadyHome(path): path
            }
        }
    }

    /// Absolute path of the library root.
    public let libraryRoot: String
    /// What the library's file system can do (how to move, mtime steps).
    public let traits: LibraryTraits
    /// How many `~N` names are tried before giving up.
    let nameLimit: Int

    public init(libraryRoot: String, traits: LibraryTraits = .posix) {
        self.init(libraryRoot: libraryRoot, traits: traits, nameLimit: 100_000)
    }

    /// Tests turn `useRenameNoReplace` off to run the link() + unlink() path.
    init(libraryRoot: String, useRenameNoReplace: Bool, nameLimit: Int = 100_000) {
        var traits = LibraryTraits.posix
        if !useRenameNoReplace { traits.move = .link }
        self.init(libraryRoot: libraryRoot, traits: traits, nameLimit: nameLimit)
    }

    init(libraryRoot: String, traits: LibraryTraits, nameLimit: Int) {
        self.libraryRoot = libraryRoot
        self.traits = traits
        self.nameLimit = nameLimit
    }

    /// Moves `staged` (an absolute path) to `libraryPath` (relative to the root) if it is a regular file of
    /// `size` bytes and modification time `mtime` (whole seconds); otherwise throws and leaves it in place.
    public func move(staged: [UInt8], to libraryPath: [UInt8], size: Int64,
                     mtime: Int64) throws(LibraryWriteError) -> Outcome {
        try move(staged: staged, to: libraryPath, size: size, mtime: mtime, folders: OpenFolder())
    }

    /// `move`, reusing the library folder `folders` holds open when the file goes into the same folder
    /// as the one before (files arrive sorted, so most do): the folder walk then happens once per folder
    /// instead of once per file. The folder is never looked up by name again while it is held, so no
    /// symlink planted on the way later can redirect a file either.
    public func move(staged: [UInt8], to libraryPath: [UInt8], size: Int64, mtime: Int64,
                     folders: OpenFolder) throws(LibraryWriteError) -> Outcome {
        try move(StagedFile(path: staged), to: libraryPath, size: size, mtime: mtime, folders: folders)
    }

    /// `move` of a staged file named relative to a held staging folder (`StagedFile`): no path walk per
    /// file on the staging side either. `checked` says the caller found the staged file regular and of
    /// `size` and `mtime` itself a moment ago (`StagedFile.fact()`), so it is not looked at again.
    public func move(_ staged: StagedFile, to libraryPath: [UInt8], size: Int64, mtime: Int64,
                     folders: OpenFolder, checked: Bool = false) throws(LibraryWriteError) -> Outcome {
        guard Self.isSafe(libraryPath) else { throw .unsafeLibraryPath(path: show(libraryPath)) }
        if !checked { try verify(staged: staged, size: size, mtime: mtime) }
        let slash = libraryPath.lastIndex(of: UInt8(ascii: "/"))
        let folderPath = libraryPath[..<(slash ?? 0)]
        let walk = { () throws(LibraryWriteError) -> Int32 in
            try openParent(Self.components(of: libraryPath, shown: show(libraryPath)).dropLast(), of: libraryPath)
        }
        var parent = try folders.fd(for: folderPath, open: walk)

        var candidate = libraryPath
        var number = 1
        var reopened = false
        while true {
            let name = Array(candidate[(candidate.lastIndex(of: UInt8(ascii: "/")).map { $0 + 1 } ?? 0)...])
            let placed: Bool
            do {
                placed = try place(staged, into: parent, name: name, candidate: candidate)
            } catch let error {
                // The held folder was removed (or moved away and emptied) since it was opened: walk again.
                guard case let .system(_, _, code) = error, code == ENOENT, !reopened else { throw error }
                reopened = true
                folders.close()
                parent = try folders.fd(for: folderPath, open: walk)
                continue
            }
            if placed {
                if !traits.keepsTimes {
                    // The file system lost the time in the rename (fusefat): set it again on the library copy.
                    var times = [timespec(tv_sec: Int(mtime), tv_nsec: 0), timespec(tv_sec: Int(mtime), tv_nsec: 0)]
                    _ = BytePathC.with(name) { utimensat(parent, $0, &times, AT_SYMLINK_NOFOLLOW) }
                }
                return candidate == libraryPath ? .moved(libraryPath: candidate)
                    : .movedAside(libraryPath: candidate, planned: libraryPath)
            }
            if isSameFile(in: parent, name: name, size: size, mtime: mtime) {
                _ = BytePathC.with(staged.name) { unlinkat(staged.folder, $0, 0) }
                return .alreadyHome(libraryPath: candidate)
            }
            number += 1
            guard number <= nameLimit + 1 else { throw .noFreeName(path: show(libraryPath)) }
            candidate = LibraryNaming.alternative(libraryPath, number: number)
        }
    }

    /// Moves the staged copy of a planned transfer: `<stagingFolder>/<remote path>` to its library path.
    public func move(_ transfer: SyncPlan.Transfer, stagingFolder: [UInt8]) throws(LibraryWriteError) -> Outcome {
        try move(staged: LibraryNaming.join(prefix: stagingFolder, transfer.remotePath), to: transfer.libraryPath,
                 size: transfer.size, mtime: transfer.mtime)
    }

    /// Makes every move so far durable: one `syncfs` on the library's file system. Call it once per batch,
    /// before the manifest transaction that records the batch.
    public func flush() throws(LibraryWriteError) {
        let fd = open(libraryRoot, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .from(errno: errno, operation: "open library", path: libraryRoot) }
        defer { close(fd) }
        guard LibrarySyscalls.syncFileSystem(fd) == 0 else {
            throw .from(errno: errno, operation: "syncfs", path: libraryRoot)
        }
    }

    /// The library-relative `folder` opened by a walk that follows no symlink (`create`: made 0755 where
    /// missing); the caller closes it. A job that places files straight into the library (`Placement.library`)
    /// makes its folder with it, and looks at the placed files through it without making any.
    public func openFolder(_ folder: [UInt8], create: Bool = true) throws(LibraryWriteError) -> Int32 {
        guard !folder.isEmpty else { return try openParent([], of: folder, create: create) }
        guard Self.isSafe(folder) else { throw .unsafeLibraryPath(path: show(folder)) }
        return try openParent(Self.components(of: folder, shown: show(folder))[...], of: folder, create: create)
    }

    // MARK: steps

    /// True when `path` is relative with no empty, `.` or `..` part and no NUL: it cannot leave the library.
    static func isSafe(_ path: [UInt8]) -> Bool {
        guard !path.isEmpty, !path.contains(0) else { return false }
        var start = 0
        for end in 0...path.count where end == path.count || path[end] == UInt8(ascii: "/") {
            let length = end - start
            if length == 0 { return false }
            if path[start] == 0x2e && (length == 1 || (length == 2 && path[start + 1] == 0x2e)) { return false }
            start = end + 1
        }
        return true
    }

    /// Splits a library path into its parts, refusing anything that could climb out of the library.
    static func components(of path: [UInt8], shown: String) throws(LibraryWriteError) -> [[UInt8]] {
        let parts = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map(Array.init)
        guard !parts.isEmpty, !parts.contains(where: { $0.isEmpty || $0 == [0x2e] || $0 == [0x2e, 0x2e] }),
              !path.contains(0) else {
            throw .unsafeLibraryPath(path: shown)
        }
        return parts
    }

    private func verify(staged: StagedFile, size: Int64, mtime: Int64) throws(LibraryWriteError) {
        var shown: String { staged.shown }
        var st = stat()
        guard BytePathC.with(staged.name, { fstatat(staged.folder, $0, &st, AT_SYMLINK_NOFOLLOW) }) == 0 else {
            throw .stagedFileNotAsPlanned(path: shown, problem: "is missing (\(String(cString: strerror(errno))))")
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            let kind = st.st_mode & S_IFMT == S_IFLNK ? "a symlink" : "not a regular file"
            throw .stagedFileNotAsPlanned(path: shown, problem: "is \(kind)")
        }
        if Int64(st.st_size) != size || !traits.sameMTime(Int64(st.st_mtim.tv_sec), mtime) {
            throw .stagedFileNotAsPlanned(path: shown, problem: "has size \(st.st_size) and mtime \(st.st_mtim.tv_sec), "
                                          + "the listing said size \(size) and mtime \(mtime)")
        }
    }

    /// Opens (creating 0755 as needed, unless not to `create`) the folder that will hold the file, never
    /// following a symlink.
    private func openParent(_ folders: ArraySlice<[UInt8]>, of libraryPath: [UInt8],
                            create: Bool = true) throws(LibraryWriteError) -> Int32 {
        var fd = open(libraryRoot, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .from(errno: errno, operation: "open library", path: libraryRoot) }
        var walked: [UInt8] = []
        for folder in folders {
            walked += walked.isEmpty ? folder : [UInt8(ascii: "/")] + folder
            let name = BytePathC.c(folder)
            if create && mkdirat(fd, name, 0o755) != 0 && errno != EEXIST {
                let code = errno
                close(fd)
                throw .from(errno: code, operation: "create folder", path: show(walked))
            }
            let next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let code = errno
            close(fd)
            guard next >= 0 else {
                if code == ENOTDIR || code == ELOOP { throw .notAFolder(path: show(walked)) }
                throw .from(errno: code, operation: "open folder", path: show(walked))
            }
            fd = next
        }
        return fd
    }

    /// Puts `staged` at `name` in `parent` unless that name exists: true when placed, false when taken.
    private func place(_ staged: StagedFile, into parent: Int32, name: [UInt8],
                       candidate: [UInt8]) throws(LibraryWriteError) -> Bool {
        var shown: String { show(candidate) }
        var onFileSystem: String { " (the library is on \(traits.fileSystem))" }
        if traits.move == .checkedRename {
            var st = stat()
            if BytePathC.with(name, { fstatat(parent, $0, &st, AT_SYMLINK_NOFOLLOW) }) == 0 { return false }
            guard errno == ENOENT else {
                throw .from(errno: errno, operation: "look up the library name (fstatat)\(onFileSystem)", path: shown)
            }
            let renamed = BytePathC.with(staged.name) { from in BytePathC.with(name) { to in renameat(staged.folder, from, parent, to) } }
            if renamed == 0 { return true }
            switch errno {
            case EXDEV: throw .crossDevice(staged: staged.shown, library: shown)
            case let code: throw .from(errno: code, operation: "move into library (rename)\(onFileSystem)", path: shown)
            }
        }
        if traits.move == .renameNoReplace {
            let renamed = BytePathC.with(staged.name) { from in
                BytePathC.with(name) { to in LibrarySyscalls.renameNoReplace(staged.folder, from, parent, to) }
            }
            if renamed == 0 { return true }
            switch errno {
            case EEXIST: return false
            // The file system does not know RENAME_NOREPLACE (or libc lacks renameat2): link below.
            case EINVAL, ENOSYS, EOPNOTSUPP: break
            case EXDEV: throw .crossDevice(staged: staged.shown, library: shown)
            case let code: throw .from(errno: code, operation: "move into library (renameat2)\(onFileSystem)", path: shown)
            }
        }
        let from = BytePathC.c(staged.name), to = BytePathC.c(name)
        // link() never replaces an existing name; the staged name goes only once the library one exists.
        guard linkat(staged.folder, from, parent, to, 0) == 0 else {
            switch errno {
            case EEXIST: return false
            case EXDEV: throw .crossDevice(staged: staged.shown, library: shown)
            case let code: throw .from(errno: code, operation: "link into library (link)\(onFileSystem)", path: shown)
            }
        }
        _ = unlinkat(staged.folder, from, 0)
        return true
    }

    private func isSameFile(in parent: Int32, name: [UInt8], size: Int64, mtime: Int64) -> Bool {
        var st = stat()
        guard BytePathC.with(name, { fstatat(parent, $0, &st, AT_SYMLINK_NOFOLLOW) }) == 0 else { return false }
        return st.st_mode & S_IFMT == S_IFREG && Int64(st.st_size) == size && traits.sameMTime(Int64(st.st_mtim.tv_sec), mtime)
    }

    private func show(_ libraryPath: [UInt8]) -> String {
        libraryRoot + "/" + String(decoding: libraryPath, as: UTF8.self)
    }
}

/// NUL-terminated C strings from raw path bytes (names need not be UTF-8).
enum BytePathC {
    static func c(_ bytes: [UInt8]) -> [CChar] { bytes.map { CChar(bitPattern: $0) } + [0] }

    /// Calls `body` with `bytes` as a C string on the stack (no heap allocation, for per-file calls).
    static func with<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count + 1) { buffer in
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
            }
            buffer[bytes.count] = 0
            return body(buffer.baseAddress!)
        }
    }
}
