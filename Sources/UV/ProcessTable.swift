#if canImport(Glibc)
import Glibc
#endif

/// Reads /proc: the processes running, and each one's state, parent, process group and arguments.
public enum ProcessTable {
    /// What /proc/<pid>/stat says of a process.
    public struct Status: Sendable {
        /// The state letter (`R`, `S`, `Z` for a zombie...).
        public var state: Character
        public var parent: Int32
        public var group: Int32

        /// Not a zombie nor dead: still running (or able to).
        public var isLive: Bool { state != "Z" && state != "X" }
    }

    /// Every pid in /proc now (empty when /proc cannot be read).
    public static func pids() -> [Int32] {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var pids: [Int32] = []
        while let entry = readdir(directory) {
            if let pid = Int32(String(cString: DirectoryEntry.namePointer(entry))) { pids.append(pid) }
        }
        return pids
    }

    /// True if a process that is not a zombie has process group `group`.
    static func hasLiveMember(ofGroup group: Int32) -> Bool {
        guard access("/proc", R_OK) == 0 else { return true }  // cannot tell: assume alive
        return pids().contains { pid in status(pid).map { $0.group == group && $0.isLive } ?? false }
    }

    /// `pid`'s state, parent and process group from /proc/<pid>/stat; nil if it is gone.
    public static func status(_ pid: Int32) -> Status? {
        guard let bytes = read("/proc/\(pid)/stat", limit: 512) else { return nil }
        // "pid (comm) S ppid pgrp ...": comm may hold spaces and parentheses, so cut at the last ')'.
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 3, let state = fields[0].first,
              let parent = Int32(String(decoding: fields[1], as: UTF8.self)),
              let group = Int32(String(decoding: fields[2], as: UTF8.self)) else { return nil }
        return Status(state: Character(UnicodeScalar(state)), parent: parent, group: group)
    }

    /// `pid`'s arguments from /proc/<pid>/cmdline (empty when it is gone or has none).
    public static func commandLine(of pid: Int32) -> [[UInt8]] {
        guard let bytes = read("/proc/\(pid)/cmdline", limit: Int.max) else { return [] }
        return bytes.split(separator: 0, omittingEmptySubsequences: false).map { Array($0) }
    }

    /// A /proc file's bytes, up to `limit`, with plain calls (these run for every process on the machine).
    private static func read(_ path: String, limit: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < limit {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return bytes.isEmpty ? nil : bytes
    }
}
