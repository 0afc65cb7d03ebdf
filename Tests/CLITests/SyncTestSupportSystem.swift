import Foundation
import TestChildren
import Testing

/// The sync tests' children (`TestChildren`: posix_spawn and waitpid, every wait with a limit).
enum Spawn {
    /// Starts `argv` with stdin from /dev/null and stdout/stderr into files (truncated, or appended to when
    /// `append`; the same path for both shares one file).
    static func start(_ argv: [String], environment: [String: String], stdout: String, stderr: String,
                      append: Bool = false) throws -> pid_t {
        let mode = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, mode, 0o644)
        if stderr == stdout {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, stderr, mode, 0o644)
        }
        return try TestChildren.spawn(argv, environment: environment, actions: &actions)
    }

    /// The exit status (128+signal when killed) if `pid` has ended, else nil.
    static func poll(_ pid: pid_t) -> Int32? { TestChildren.poll(pid) }

    /// Waits up to `timeout` seconds for `pid`; past it, SIGKILL and an error naming `what`.
    @discardableResult
    static func wait(_ pid: pid_t, timeout: Double = 120, what: @autoclosure () -> String) throws -> Int32 {
        try TestChildren.wait(pid, timeout: timeout, what: what())
    }

    /// Reaps `pid` after a signal that ends it, within `timeout` seconds; its status, or nil.
    @discardableResult
    static func reap(_ pid: pid_t, timeout: Double = 10) -> Int32? { TestChildren.reap(pid, timeout: timeout) }

    /// Runs a helper program (mount, touch...) and throws unless it exits 0.
    static func check(_ argv: [String]) throws {
        let dir = "/tmp/msync-e2e-tool-\(UUID().uuidString.prefix(8))"
        defer { unlink(dir + ".out"); unlink(dir + ".err") }
        let pid = try start(argv, environment: ProcessInfo.processInfo.environment, stdout: dir + ".out", stderr: dir + ".err")
        let status = try wait(pid, what: argv.joined(separator: " "))
        guard status == 0 else {
            let err = (try? String(contentsOfFile: dir + ".err", encoding: .utf8)) ?? ""
            throw SyncTestError("\(argv.joined(separator: " ")) exited \(status): \(err)")
        }
    }
}

/// Files addressed by raw path bytes, so names that are not UTF-8 work.
enum RawFS {
    static func withPath<T>(_ path: [UInt8], _ body: (UnsafePointer<CChar>) -> T) -> T {
        (path + [0]).withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) } }
    }

    /// Writes `content` at `path` (parents made) and sets its mtime.
    static func write(_ path: [UInt8], _ content: [UInt8], mtime: Int) throws {
        if let slash = path.lastIndex(of: 0x2F) {
            let parent = String(decoding: path[..<slash], as: UTF8.self)
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        }
        let fd = withPath(path) { open($0, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
        guard fd >= 0 else { throw SyncTestError("cannot create \(String(decoding: path, as: UTF8.self)): errno \(errno)") }
        defer { close(fd) }
        var offset = 0
        while offset < content.count {
            let n = content[offset...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw SyncTestError("write failed: errno \(errno)") }
            offset += n
        }
        try setMtime(path, mtime)
    }

    static func setMtime(_ path: [UInt8], _ mtime: Int) throws {
        var times = [timespec(tv_sec: mtime, tv_nsec: 0), timespec(tv_sec: mtime, tv_nsec: 0)]
        let rc = withPath(path) { utimensat(AT_FDCWD, $0, &times, 0) }
        guard rc == 0 else { throw SyncTestError("utimensat failed: errno \(errno)") }
    }

    static func read(_ path: [UInt8]) -> [UInt8]? {
        let fd = withPath(path) { open($0, O_RDONLY) }
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += buffer[..<n]
        }
        return bytes
    }

    static func exists(_ path: [UInt8]) -> Bool {
        var st = stat()
        return withPath(path) { lstat($0, &st) } == 0
    }

    static func remove(_ path: [UInt8]) { _ = withPath(path) { unlink($0) } }

    /// One file as a user sees it.
    struct Entry: Equatable, CustomStringConvertible {
        let content: [UInt8]
        let mtime: Int
        var description: String { "\(content.count) bytes, mtime \(mtime)" }
    }

    /// Every regular file below `root` by relative path bytes, skipping `.mediasync` (the engine's own).
    static func tree(_ root: String) -> [[UInt8]: Entry] {
        var result: [[UInt8]: Entry] = [:]
        func walk(_ dir: [UInt8], _ relative: [UInt8]) {
            guard let handle = withPath(dir, { opendir($0) }) else { return }
            defer { closedir(handle) }
            while let entry = readdir(handle) {
                // In place up to the NUL, never `entry.pointee.d_name` (256 bytes, past a short last record).
                let pointer = UnsafeRawPointer(entry).advanced(by: MemoryLayout<dirent>.offset(of: \dirent.d_name)!)
                    .assumingMemoryBound(to: CChar.self)
                let name = Array(UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)))
                if name == [0x2E] || name == [0x2E, 0x2E] || (relative.isEmpty && name == Array(".mediasync".utf8)) { continue }
                let full = dir + [0x2F] + name
                let rel = relative.isEmpty ? name : relative + [0x2F] + name
                var st = stat()
                guard withPath(full, { lstat($0, &st) }) == 0 else { continue }
                if st.st_mode & S_IFMT == S_IFDIR { walk(full, rel) }
                else if st.st_mode & S_IFMT == S_IFREG {
                    result[rel] = Entry(content: read(full) ?? [], mtime: st.st_mtim.tv_sec)
                }
            }
        }
        walk(Array(root.utf8), [])
        return result
    }

    static func show(_ path: [UInt8]) -> String { String(decoding: path, as: UTF8.self).debugDescription }
}

/// Waiting and looking at running processes without fixed sleeps.
enum Watch {
    /// Polls `condition` every 10 ms until it holds or `timeout` passes; returns whether it held.
    @discardableResult
    static func until(timeout: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    /// Pids of processes whose command line contains `needle`.
    static func processes(containing needle: String) -> [pid_t] {
        let wanted = Array(needle.utf8)
        var pids: [pid_t] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(name),
                  let cmdline = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(name)/cmdline")) else { continue }
            let bytes = Array(cmdline)
            if bytes.count >= wanted.count,
               (0...(bytes.count - wanted.count)).contains(where: { bytes[$0..<($0 + wanted.count)].elementsEqual(wanted) }) {
                pids.append(pid)
            }
        }
        return pids
    }

    /// The direct children of `parent` whose program name is `comm`.
    static func children(of parent: pid_t, named comm: String) -> [pid_t] {
        var pids: [pid_t] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(name),
                  let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { continue }
            let program = stat[stat.index(after: open)..<close]
            let rest = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            if program == comm, rest.count > 1, pid_t(rest[1]) == parent { pids.append(pid) }
        }
        return pids
    }

    /// Whether `pid` has a file open whose path starts with `prefix` (the receiver writes into staging).
    static func hasOpenFile(_ pid: pid_t, under prefix: String) -> Bool {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        return fds.contains { fd in
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)")) ?? ""
            return target.hasPrefix(prefix)
        }
    }
}
