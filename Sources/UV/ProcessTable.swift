#if canImport(Glibc)
import Glibc
#endif

/// Reads /proc to see which processes are still running in a process group.
enum ProcessTable {
    /// True if a process that is not a zombie has process group `group`.
    static func hasLiveMember(ofGroup group: Int32) -> Bool {
        guard let directory = opendir("/proc") else { return true }  // cannot tell: assume alive
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = Int32(name), let (state, pgrp) = stat(pid) else { continue }
            if pgrp == group && state != "Z" && state != "X" { return true }
        }
        return false
    }

    /// State letter and process group of `pid` from /proc/<pid>/stat, nil if it is gone.
    static func stat(_ pid: Int32) -> (state: Character, pgrp: Int32)? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { return nil }
        // "pid (comm) S ppid pgrp ...": comm may hold spaces and parentheses, so cut at the last ')'.
        guard let close = buffer[..<count].lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = buffer[(close + 1)..<count].split(separator: UInt8(ascii: " "))
        guard fields.count > 3, let pgrp = Int32(String(decoding: fields[2], as: UTF8.self)) else { return nil }
        return (Character(UnicodeScalar(fields[0].first!)), pgrp)
    }
}
