#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MediaSyncCore
import UV

/// Finds out what the library's file system can do by trying it, once per library and cycle, in a folder
/// of its own under `<library>/.mediasync/`: whether `renameat2(RENAME_NOREPLACE)` or `link()` work, how
/// fine a stored mtime is, and which names it refuses. Asking the file system beats a table of file
/// system types: FUSE drivers (exfat-fuse, fusefat, sshfs) all say "fuse", and each has its own limits.
///
/// ```swift
/// let traits = LibraryProbe.probe(library: config.library)   // .posix when the probe itself cannot run
/// let writer = LibraryWriter(libraryRoot: config.library, traits: traits)
/// ```
public enum LibraryProbe {
    public static func probe(library: String) -> LibraryTraits {
        let name = describe(library)
        // One fixed folder, emptied before and after: some FUSE drivers (fusefat) refuse rmdir.
        let folder = library + "/.mediasync/probe"
        _ = mkdir(library + "/.mediasync", 0o755)
        guard mkdir(folder, 0o700) == 0 || errno == EEXIST else {
            return LibraryTraits(fileSystem: name, move: .renameNoReplace, mtimeStep: 1, names: .posix)
        }
        empty(folder)
        defer { empty(folder) }
        let (step, keepsTimes) = mtimes(in: folder, library: library, isFUSE: name.hasPrefix("fuse"))
        return LibraryTraits(fileSystem: name, move: moveMethod(in: folder), mtimeStep: step,
                             names: nameRules(in: folder), keepsTimes: keepsTimes, setsModes: setsModes(in: folder))
    }

    /// `ext4`, `fuseblk on /dev/sdb1`, `fuse.sshfs on box:/data`: the mount's type and source, from
    /// /proc/self/mountinfo (the longest mount point that holds `path`).
    public static func describe(_ path: String) -> String {
        let real = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)).map { $0.hasPrefix("/") ? $0 : path } ?? path
        let resolved = URL(fileURLWithPath: real).resolvingSymlinksInPath().path
        guard let text = readAll("/proc/self/mountinfo") else { return "unknown" }
        var best: (point: String, type: String, source: String)?
        for line in text.split(separator: "\n") {
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let left = halves[0].split(separator: " "), right = halves[1].split(separator: " ")
            guard left.count >= 5, right.count >= 2 else { continue }
            let point = unescape(String(left[4]))
            let inside = point == "/" || resolved == point || resolved.hasPrefix(point + "/")
            if inside, point.count >= (best?.point.count ?? -1) {
                best = (point, String(right[0]), unescape(String(right[1])))
            }
        }
        guard let best else { return "unknown" }
        return best.source.isEmpty || best.source == "none" || best.source == best.type
            ? best.type : "\(best.type) on \(best.source)"
    }

    // MARK: probes

    private static func moveMethod(in folder: String) -> LibraryTraits.Move {
        let a = folder + "/a", b = folder + "/b", c = folder + "/c"
        guard create(a) else { return .renameNoReplace }
        if LibrarySyscalls.renameNoReplace(AT_FDCWD, a, AT_FDCWD, b) == 0 { return .renameNoReplace }
        if link(a, c) == 0 { return .link }
        return .checkedRename
    }

    /// Writes a file, sets an mtime of an odd second and a half and reads it back (FAT keeps 2-second steps),
    /// then flushes the file system and reads it again (fusefat's delayed write stamps its own time over it).
    private static func mtimes(in folder: String, library: String, isFUSE: Bool) -> (step: Int64, kept: Bool) {
        let file = folder + "/t"
        let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return (1, true) }
        _ = write(fd, "mediasync", 9)
        close(fd)
        let planned = 1_700_000_001
        var times = [timespec(tv_sec: planned, tv_nsec: 500_000_000), timespec(tv_sec: planned, tv_nsec: 500_000_000)]
        var st = stat()
        guard utimensat(AT_FDCWD, file, &times, 0) == 0, stat(file, &st) == 0 else { return (1, true) }
        let difference = abs(Int64(st.st_mtim.tv_sec) - Int64(planned))
        let step: Int64 = difference == 0 ? 1 : max(2, difference + 1)
        return (step, isFUSE ? keepsTimes(file, planned: Int64(planned), step: step, library: library) : true)
    }

    /// fusefat stamps the time of a rename over a file's mtime when it next writes the file's entry (rsync's
    /// rename of its temporary file, our move home). Opening and fsyncing the renamed file makes it do so at
    /// once, so the probe needs no wait (a 1.5 s wait was not always long enough on a loaded machine).
    private static func keepsTimes(_ file: String, planned: Int64, step: Int64, library: String) -> Bool {
        let renamed = file + "r"
        guard rename(file, renamed) == 0 else { return true }
        let fd = open(renamed, O_RDONLY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
        var st = stat()
        return stat(renamed, &st) == 0 && abs(Int64(st.st_mtim.tv_sec) - planned) < step
    }

    private static func setsModes(in folder: String) -> Bool {
        let file = folder + "/m"
        guard create(file) else { return true }
        return chmod(file, 0o644) == 0 || (errno != ENOSYS && errno != EOPNOTSUPP)
    }

    private static func nameRules(in folder: String) -> NameRules {
        var forbidden: [UInt8] = []
        for byte in Array(#":?*"<>|\"#.utf8) where !create(folder + "/x" + String(Character(Unicode.Scalar(byte))) + "y") {
            forbidden.append(byte)
        }
        let asciiOnly = !create(folder + "/\u{e9}.png")
        let needsUTF8 = !createRaw(Array((folder + "/b").utf8) + [0xff])
        // 200 characters of 3 UTF-8 bytes: over 255 bytes, under 255 UTF-16 units.
        let countsUTF16 = !asciiOnly && create(folder + "/" + String(repeating: "\u{65e5}", count: 200))
        return NameRules(forbidden: forbidden, noTrailingDotOrSpace: !forbidden.isEmpty, maxLength: 255,
                         countsUTF16: countsUTF16, needsUTF8: needsUTF8 || asciiOnly, asciiOnly: asciiOnly)
    }

    // MARK: helpers

    private static func create(_ path: String) -> Bool { createRaw(Array(path.utf8)) }

    private static func createRaw(_ path: [UInt8]) -> Bool {
        let fd = BytePathC.with(path) { open($0, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        guard fd >= 0 else { return false }
        close(fd)
        return true
    }

    /// A /proc file read to its end. /proc reports a size of 0, and Foundation's `String(contentsOfFile:)`
    /// then returned only the first part of mountinfo: a mount listed late (a USB drive mounted last) was
    /// missed and the library described as the disk below it.
    static func readAll(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += buffer[..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Unlinks every entry by its raw name (a probe name need not be UTF-8).
    private static func empty(_ folder: String) {
        guard let dir = opendir(folder) else { return }
        defer { closedir(dir) }
        let fd = dirfd(dir)
        while let entry = readdir(dir) {
            let name = DirectoryEntry.name(entry)
            if name == [0x2e] || name == [0x2e, 0x2e] { continue }
            _ = BytePathC.with(name) { unlinkat(fd, $0, 0) }
        }
    }

    /// mountinfo escapes space, tab, newline and backslash as `\ooo`.
    private static func unescape(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        var bytes: [UInt8] = []
        let raw = Array(field.utf8)
        var index = 0
        while index < raw.count {
            if raw[index] == UInt8(ascii: "\\"), index + 3 < raw.count,
               let value = UInt8(String(decoding: raw[(index + 1)...(index + 3)], as: UTF8.self), radix: 8) {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(raw[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
