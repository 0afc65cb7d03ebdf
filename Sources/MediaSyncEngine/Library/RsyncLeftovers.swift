#if canImport(Glibc)
import Glibc
#endif
import MediaSyncCore
import UV

/// rsync's own temporary files that a killed rsync left in the library when it placed files there itself
/// (`Placement.library`): rsync writes `<name>` as `.<name>.XXXXXX` beside it and renames it when whole, and
/// removes it on any end it sees (an error, SIGTERM); a SIGKILL, a crash of mediasync or a power cut leave it.
/// Only names of the job's own planned files are matched, in their own folders, and only regular files.
///
/// ```swift
/// let removed = RsyncLeftovers.remove(names: shareLibraryPaths, libraryRoot: config.library)
/// ```
enum RsyncLeftovers {
    /// rsync's suffix: a dot and mkstemp's six characters.
    static let suffixLength = 7
    /// rsync shortens a long name to fit its temporary name in NAME_MAX (255): `strlcpy` of the name into
    /// NAME_MAX - 8 bytes keeps at most 246 of it (seen: a 254-byte name's temporary file is 254 bytes long).
    static let longestKept = 255 - 8 - 1

    /// True when `entry` is rsync's temporary name for `name`: `.` + name (shortened as rsync does) + `.XXXXXX`.
    static func isTemporary(_ entry: [UInt8], of name: [UInt8]) -> Bool {
        let kept = name.prefix(longestKept)
        guard entry.count == 1 + kept.count + suffixLength, entry.first == UInt8(ascii: "."),
              entry[1..<(1 + kept.count)].elementsEqual(kept), entry[1 + kept.count] == UInt8(ascii: ".") else { return false }
        return entry[(2 + kept.count)...].allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
        }
    }

    /// Removes rsync's leftovers for the library-relative `paths` (folder by folder, one read of each folder);
    /// returns the library-relative paths removed.
    @discardableResult
    static func remove(for paths: [[UInt8]], libraryRoot: String) -> [[UInt8]] {
        var byFolder: [[UInt8]: Set<[UInt8]>] = [:]
        for path in paths {
            let cut = path.lastIndex(of: UInt8(ascii: "/"))
            byFolder[cut.map { Array(path[..<$0]) } ?? [], default: []].insert(Array(path[(cut.map { $0 + 1 } ?? 0)...]))
        }
        var removed: [[UInt8]] = []
        for (folder, names) in byFolder {
            let absolute = Array((libraryRoot + "/").utf8) + folder
            let fd = BytePathC.with(absolute) { open($0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            guard fd >= 0, let dir = fdopendir(fd) else { continue }
            var found: [[UInt8]] = []
            while let entry = readdir(dir) {
                let name = DirectoryEntry.name(entry)
                guard name.count > 1 + suffixLength, name.first == UInt8(ascii: ".") else { continue }
                // The name it stands for: the whole stem, or, for a stem rsync shortened, a planned name it begins.
                let stem = Array(name[1..<(name.count - suffixLength)])
                let of = names.contains(stem) ? stem : stem.count == longestKept ? names.first { isTemporary(name, of: $0) } : nil
                if let of, isTemporary(name, of: of) { found.append(name) }
            }
            for name in found where isRegular(dirfd(dir), name) {
                if BytePathC.with(name, { unlinkat(dirfd(dir), $0, 0) }) == 0 {
                    removed.append(folder.isEmpty ? name : folder + [UInt8(ascii: "/")] + name)
                }
            }
            closedir(dir)
        }
        return removed
    }

    private static func isRegular(_ folder: Int32, _ name: [UInt8]) -> Bool {
        var st = stat()
        return BytePathC.with(name) { fstatat(folder, $0, &st, AT_SYMLINK_NOFOLLOW) } == 0 && st.st_mode & S_IFMT == S_IFREG
    }
}
