#if canImport(Glibc)
import Glibc
#endif
import MediaSyncCore
import UV

/// What rsync moved out of the way (`--backup-dir`) while it placed a job's files straight into the library
/// (`Placement.library`): something another program put at a planned name after the plan looked. Each goes
/// back into the library beside ours, at the first free `~N` name, so nothing of it is lost.
///
/// ```swift
/// for kept in DisplacedFiles.restore(from: placing + "/displaced", libraryPrefix: prefix, writer: writer).kept {
///     log("\(kept.original) was taken by another program during the sync; it is kept as \(kept.keptAs)")
/// }
/// ```
enum DisplacedFiles {
    /// One restored entry, library-relative: the name it had, the name it has now.
    struct Kept: Equatable {
        var original: [UInt8]
        var keptAs: [UInt8]
    }

    /// Walks `displaced` (absolute; it mirrors the job's folder); every entry that is not a folder goes back
    /// to `<libraryPrefix>/<its path>`'s first free `~N` name, never replacing anything (renameat2 with
    /// RENAME_NOREPLACE, which `Placement.library` requires). Emptied folders are removed. An entry that
    /// cannot go back stays where it is, and its line is in `failed`.
    static func restore(from displaced: [UInt8], libraryPrefix: [UInt8],
                        writer: LibraryWriter) -> (kept: [Kept], failed: [String]) {
        var kept: [Kept] = []
        var failed: [String] = []
        walk(displaced, relative: []) { absolute, relative in
            let original = LibraryNaming.join(prefix: libraryPrefix, relative)
            let cut = original.lastIndex(of: UInt8(ascii: "/"))
            let folder = cut.map { Array(original[..<$0]) } ?? []
            let parent: Int32
            do {
                parent = try writer.openFolder(folder)
            } catch {
                failed.append("\(String(decoding: absolute, as: UTF8.self)): \(error)")
                return
            }
            defer { close(parent) }
            var number = 2
            while number <= 100_000 {
                let candidate = LibraryNaming.alternative(original, number: number)
                let name = Array(candidate[(candidate.lastIndex(of: UInt8(ascii: "/")).map { $0 + 1 } ?? 0)...])
                let moved = BytePathC.with(absolute) { from in
                    BytePathC.with(name) { to in LibrarySyscalls.renameNoReplace(AT_FDCWD, from, parent, to) }
                }
                if moved == 0 {
                    kept.append(Kept(original: original, keptAs: candidate))
                    return
                }
                guard errno == EEXIST else {
                    failed.append("\(String(decoding: absolute, as: UTF8.self)): cannot move it back into the library: \(String(cString: strerror(errno)))")
                    return
                }
                number += 1
            }
            failed.append("\(String(decoding: absolute, as: UTF8.self)): no free name beside it")
        }
        return (kept, failed)
    }

    /// Calls `body` for every entry under `folder` that is not a folder (absolute path, path relative to the
    /// walk's start), depth first, then removes the folders it emptied.
    private static func walk(_ folder: [UInt8], relative: [UInt8], _ body: ([UInt8], [UInt8]) -> Void) {
        guard let dir = BytePathC.with(folder, { opendir($0) }) else { return }
        var entries: [(name: [UInt8], isFolder: Bool)] = []
        while let entry = readdir(dir) {
            let name = DirectoryEntry.name(entry)
            if name == [0x2e] || name == [0x2e, 0x2e] { continue }
            var st = stat()
            let isFolder = BytePathC.with(name) { fstatat(dirfd(dir), $0, &st, AT_SYMLINK_NOFOLLOW) } == 0
                && st.st_mode & S_IFMT == S_IFDIR
            entries.append((name, isFolder))
        }
        closedir(dir)
        for entry in entries {
            let absolute = folder + [UInt8(ascii: "/")] + entry.name
            let path = relative.isEmpty ? entry.name : relative + [UInt8(ascii: "/")] + entry.name
            if entry.isFolder {
                walk(absolute, relative: path, body)
            } else {
                body(absolute, path)
            }
        }
        if !relative.isEmpty { _ = BytePathC.with(folder) { rmdir($0) } }
    }
}
