import Foundation
import UV

/// The running processes as /proc shows them: what tests use to find the remote rsync and to prove
/// that no child outlived its cycle.
struct RunningProcesses {
    struct Process {
        let pid: pid_t
        let parent: pid_t
        /// The one-letter state from /proc/PID/stat (`R`, `S`, `T` stopped, `Z` zombie...).
        let state: Character
        let argv: [[UInt8]]
        let environment: [UInt8]
        /// pid -> parent of the whole table, to walk the ancestry.
        let parents: [pid_t: pid_t]

        func argvContains(_ needle: [UInt8]) -> Bool { argv.contains { RunningProcesses.contains($0, needle) } }
        func environmentContains(_ needle: [UInt8]) -> Bool { RunningProcesses.contains(environment, needle) }
        /// The program's base name is `name` (`ssh`, `rsync`...).
        func isNamed(_ name: String) -> Bool {
            guard let first = argv.first else { return false }
            let base = first.split(separator: UInt8(ascii: "/")).last.map(Array.init) ?? first
            return base == Array(name.utf8)
        }

        func hasAncestor(_ ancestor: pid_t) -> Bool {
            var current = parent
            var steps = 0
            while current > 1 && steps < 64 {
                if current == ancestor { return true }
                current = parents[current] ?? 0
                steps += 1
            }
            return false
        }

        var shown: String {
            "pid \(pid) [\(state)] " + argv.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
        }
    }

    /// Every live (non-zombie) process but this one.
    static func snapshot() -> [Process] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var raw: [(pid_t, pid_t, Character)] = []
        for name in names {
            guard let pid = pid_t(name), pid != getpid(), let stat = read("/proc/\(pid)/stat") else { continue }
            // `pid (comm) S ppid ...`: comm may hold spaces and parentheses, so split after the last ')'.
            guard let close = stat.lastIndex(of: UInt8(ascii: ")")) else { continue }
            let fields = stat[(close + 1)...].split(separator: UInt8(ascii: " "))
            guard fields.count > 2, let parent = pid_t(String(decoding: fields[1], as: UTF8.self)) else { continue }
            raw.append((pid, parent, Character(UnicodeScalar(fields[0].first ?? 0x3F))))
        }
        let parents = Dictionary(raw.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        return raw.compactMap { pid, parent, state in
            guard state != "Z", state != "X" else { return nil }
            let argv = (read("/proc/\(pid)/cmdline") ?? []).split(separator: 0, omittingEmptySubsequences: false)
                .map(Array.init).filter { !$0.isEmpty }
            return Process(pid: pid, parent: parent, state: state, argv: argv,
                           environment: read("/proc/\(pid)/environ") ?? [], parents: parents)
        }
    }

    /// Polls until no process matches, for up to `seconds`; returns those still matching at the end.
    /// SIGKILLs every rsync whose argv mentions `unique`, as a crash or the watchdog's second step would, and
    /// waits until they are gone; returns how many it killed. They are SIGSTOPped first, until none runs: a
    /// local rsync forks its receiver, which removes its temporary file when its parent dies alone, and one
    /// read of the process table can miss a fork.
    @discardableResult
    static func killRsyncs(mentioning unique: [UInt8]) -> Int {
        let mine = { snapshot().filter { $0.isNamed("rsync") && $0.argvContains(unique) } }
        for _ in 0..<5 {
            for process in mine() { kill(process.pid, SIGSTOP) }
            usleep(50_000)
        }
        let victims = mine()
        for process in victims { kill(process.pid, SIGKILL) }
        _ = waitUntilGone(within: 10) { $0.isNamed("rsync") && $0.argvContains(unique) }
        return victims.count
    }

    static func waitUntilGone(within seconds: Double, _ matches: (Process) -> Bool) -> [String] {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let left = snapshot().filter(matches)
            if left.isEmpty || Date() > deadline { return left.map(\.shown) }
            usleep(100_000)
        }
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count)
        where haystack[start] == needle[0] && haystack[start..<start + needle.count].elementsEqual(needle) {
            return true
        }
        return false
    }

    private static func read(_ path: String) -> [UInt8]? {
        BytePath.read(Array(path.utf8))
    }
}

/// Every regular file under a folder, by its raw relative path: what a user would compare between the
/// source and the library (content, size, mtime).
struct TreeSnapshot: Equatable {
    struct File: Equatable {
        let content: [UInt8]
        let size: Int64
        let mtime: Int64
    }

    var files: [[UInt8]: File] = [:]

    init(_ root: String) {
        walk(Array(root.utf8), relative: [])
    }

    private mutating func walk(_ folder: [UInt8], relative: [UInt8]) {
        guard let dir = opendir(BytePath.c(folder)) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            if DirectoryEntry.isDotOrDotDot(entry) { continue }
            let name = DirectoryEntry.name(entry)
            let full = folder + [0x2F] + name
            let rel = relative.isEmpty ? name : relative + [0x2F] + name
            guard let st = BytePath.stat(full) else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR: walk(full, relative: rel)
            case S_IFREG:
                files[rel] = File(content: BytePath.read(full) ?? [], size: Int64(st.st_size),
                                  mtime: Int64(st.st_mtim.tv_sec))
            default:
                // A symlink or socket in the library is a difference too.
                files[rel] = File(content: Array("<not a regular file>".utf8), size: -1, mtime: 0)
            }
        }
    }

    /// The paths that differ between two trees, readable, for a failure message.
    func differences(from other: TreeSnapshot) -> [String] {
        var out: [String] = []
        for path in Set(files.keys).union(other.files.keys) {
            let shown = String(decoding: path, as: UTF8.self).debugDescription
            switch (files[path], other.files[path]) {
            case (nil, _): out.append("\(shown) only in the second")
            case (_, nil): out.append("\(shown) only in the first")
            case let (a?, b?):
                if a.content != b.content { out.append("\(shown) content differs") }
                if a.size != b.size { out.append("\(shown) size \(a.size) vs \(b.size)") }
                // rsync --times carries whole seconds; the library copy must show the same second.
                if a.mtime != b.mtime { out.append("\(shown) mtime \(a.mtime) vs \(b.mtime)") }
            }
        }
        return out.sorted()
    }
}

/// Freezes, with SIGSTOP, the first `rsync --server --sender` started through `server` once it has sent
/// `afterBytes` (its /proc io `wchar`): a box or container that hangs mid-file. Polls on its own thread,
/// so it works whatever the cycle on the test's thread is doing.
final class RemoteFreezer: @unchecked Sendable {
    private let lock = NSLock()
    private var frozenPid: pid_t?
    private var frozenAt: Date?
    private var stopped = false

    init(server: TestSSHD, afterBytes: Int) {
        let serverPid = server.pid
        Thread.detachNewThread { [self] in
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline && !isStopped {
                let senders = RunningProcesses.snapshot().filter { p in
                    p.hasAncestor(serverPid) && p.isNamed("rsync") && p.argvContains(Array("--sender".utf8))
                }
                if let sender = senders.first, Self.bytesWritten(sender.pid) >= afterBytes {
                    kill(sender.pid, SIGSTOP)
                    lock.withLock { frozenPid = sender.pid; frozenAt = Date() }
                    return
                }
                usleep(20_000)
            }
        }
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    /// The frozen process and when it was frozen, once it is.
    var frozen: (pid: pid_t, at: Date)? {
        lock.withLock { frozenPid.flatMap { pid in frozenAt.map { (pid, $0) } } }
    }

    /// Stops looking (a cycle that ended before anything was frozen).
    func cancel() { lock.withLock { stopped = true } }

    /// `wchar` of /proc/PID/io: bytes the process has written (for the sender: sent to the receiver).
    static func bytesWritten(_ pid: pid_t) -> Int {
        let text = String(decoding: BytePath.read(Array("/proc/\(pid)/io".utf8)) ?? [], as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("wchar: ") {
            return Int(line.dropFirst(7)) ?? 0
        }
        return 0
    }
}
