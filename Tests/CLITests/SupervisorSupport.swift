import Foundation
import Testing

/// A real `mediasync serve` process on a temp config of local sources, for the supervisor tests.
final class ServeHarness: @unchecked Sendable {
    let root: String
    let library: String
    let sources: String
    let socket: String
    let configPath: String
    let logPath: String
    private(set) var pid: pid_t = 0
    var environment: [String: String] = [:]

    /// `folders`: the source folders (one local source `src`); `extraConfig` is appended verbatim.
    init(folders: [String] = ["a", "b"], interval: String = "1h", extraConfig: String = "", sourceExtra: String = "") throws {
        // Short: a Unix socket path holds at most 107 bytes.
        root = "/tmp/mss-" + String(UUID().uuidString.prefix(8))
        library = root + "/lib"
        sources = root + "/src"
        socket = root + "/run/ms.sock"
        configPath = root + "/config.yaml"
        logPath = root + "/serve.log"
        for folder in folders { try FileManager.default.createDirectory(atPath: sources + "/" + folder, withIntermediateDirectories: true) }
        try FileManager.default.createDirectory(atPath: library, withIntermediateDirectories: true)
        try writeConfig(folders: folders, interval: interval, extraConfig: extraConfig, sourceExtra: sourceExtra)
    }

    func writeConfig(folders: [String], interval: String, extraConfig: String = "", sourceExtra: String = "") throws {
        let text = """
            library: \(library)
            state_dir: \(root)/state
            socket: \(socket)
            interval: \(interval)
            settle: 0s
            retry: {attempts: 1, backoff: 1s, max_backoff: 2s}
            \(extraConfig)
            sources:
              - {name: src, transport: local, root: \(sources), folders: [\(folders.joined(separator: ", "))]\(sourceExtra)}

            """
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Writes `count` files of `size` bytes into a source folder.
    func makeFiles(_ folder: String, count: Int, size: Int, prefix: String = "f") throws {
        let dir = sources + "/" + folder
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let old = Date(timeIntervalSinceNow: -3600)
        for i in 0..<count {
            let path = "\(dir)/\(prefix)\(i).png"
            var bytes = [UInt8](repeating: UInt8(i & 0xFF), count: size)
            if size >= 8 { withUnsafeBytes(of: UInt64(i).littleEndian) { bytes.replaceSubrange(0..<8, with: $0) } }
            // Written in place, and a failure thrown with its reason: `createFile` only returns false (once, on a
            // loaded fresh root, the next line then failed with "the file doesn't exist", the cause unknown).
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: path)
        }
    }

    /// Starts `mediasync serve` and waits until its socket answers.
    func start(waitForSocket: Bool = true) throws {
        // In its own folder with core dumps on, so that a crash leaves `core` there (`keepCrash`); the
        // runtime's backtracer stays out of the way (it prints nothing in this sandbox and then dies anyway).
        var crashable = environment
        if crashable["SWIFT_BACKTRACE"] == nil { crashable["SWIFT_BACKTRACE"] = "enable=no" }
        pid = try Self.spawn(["/bin/sh", "-c", #"ulimit -c unlimited 2>/dev/null; cd "$0" && exec "$@""#, root,
                              try CLIRunner.binary(), "serve", "--config", configPath], environment: crashable, output: logPath)
        guard waitForSocket else { return }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let client = try? SocketClient(path: socket) {
                if (try? client.request(#"{"cmd":"status"}"#)) != nil { return }
            }
            if exitStatus(timeout: 0) != nil { throw HarnessError("serve exited early:\n\(log)") }
            usleep(50_000)
        }
        throw HarnessError("serve did not answer on \(socket) within 20 s:\n\(log)")
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func signal(_ signum: Int32) { if pid > 0 { kill(pid, signum) } }

    /// Waits up to `timeout` seconds for serve to exit; its status (128+signal when killed) or nil.
    func exitStatus(timeout: Double) -> Int32? {
        guard pid > 0 else { return nil }
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            var status: Int32 = 0
            let rc = waitpid(pid, &status, WNOHANG)
            if rc == pid {
                pid = 0
                return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
            }
            if rc < 0 { return nil }
            usleep(20_000)
        } while Date() < deadline
        return nil
    }

    /// VmRSS of serve in KiB.
    func rssKiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return -1 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? -1
    }

    /// Runs the mediasync binary to completion (a client command), output collected.
    func cli(_ arguments: [String], timeout: Double = 60) throws -> (status: Int32, stdout: String, stderr: String) {
        let out = root + "/cli-\(UUID().uuidString.prefix(6)).out"
        let err = out + ".err"
        let child = try Self.spawn([try CLIRunner.binary()] + arguments, environment: environment, output: out, errors: err)
        let status = Self.wait(child, timeout: timeout)
        return (status ?? -1, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    func stop() {
        if pid > 0 {
            kill(pid, SIGKILL)
            _ = exitStatus(timeout: 5)
        }
        keepCrash()
        try? FileManager.default.removeItem(atPath: root)
    }

    /// A serve that crashed leaves `core` in its folder (`start`): the core, the log and the binary's path are
    /// kept in `/tmp/mediasync-crashes/<id>`, named in the test's output (`stop` removes the folder). Read it with
    /// `gdb -batch -ex "thread apply all bt" BINARY core`.
    func keepCrash() {
        guard FileManager.default.fileExists(atPath: root + "/core") else { return }
        let kept = "/tmp/mediasync-crashes/serve-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: kept, withIntermediateDirectories: true)
        try? FileManager.default.copyItem(atPath: logPath, toPath: kept + "/serve.log")
        try? FileManager.default.moveItem(atPath: root + "/core", toPath: kept + "/core")
        try? ((try? CLIRunner.binary()) ?? "?").write(toFile: kept + "/binary", atomically: true, encoding: .utf8)
        Issue.record("mediasync serve crashed: its core and log are kept in \(kept)")
    }

    static func spawn(_ argv: [String], environment: [String: String], output: String, errors: String? = nil) throws -> pid_t {
        var env = ProcessInfo.processInfo.environment
        for key in ["MEDIASYNC_CONFIG", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR"] { env[key] = nil }
        env.merge(environment) { $1 }
        return try Spawn.start(argv, environment: env, stdout: output, stderr: errors ?? output, append: true)
    }

    static func wait(_ pid: pid_t, timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
            }
            usleep(20_000)
        } while Date() < deadline
        kill(pid, SIGKILL)
        Spawn.reap(pid)
        return nil
    }

    /// Pids of processes (other than serve) whose command line mentions this test's root.
    func leftoverProcesses() -> [String] {
        var found: [String] = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), pid != getpid() else { continue }
            guard let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
            let cmdline = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            if cmdline.contains(root), !cmdline.contains(" serve ") { found.append("\(pid): \(cmdline)") }
        }
        return found
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A plain socket(AF_UNIX) client, as any tool would write one.
final class SocketClient: @unchecked Sendable {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if rc != 0 {
            let code = errno
            close(fd)
            throw HarnessError("connect \(path): \(String(cString: strerror(code)))")
        }
    }

    deinit { close(fd) }

    /// Sends raw bytes; false once the peer is gone.
    @discardableResult
    func sendRaw(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { if n < 0 && errno == EINTR { continue }; return false }
            offset += n
        }
        return true
    }

    func send(_ line: String) { sendRaw(Array((line + "\n").utf8)) }

    /// The next line, or nil at EOF or after `timeout` seconds.
    func readLine(timeout: Double = 10) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return nil }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, Int32(min(left, 1) * 1000)) <= 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n <= 0 { return nil }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }

    /// The next line as a JSON object.
    func readObject(timeout: Double = 10) -> [String: Any]? {
        guard let line = readLine(timeout: timeout) else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }

    func request(_ line: String) throws -> [String: Any] {
        send(line)
        guard let reply = readObject() else { throw HarnessError("no reply to \(line)") }
        return reply
    }

    /// Reads until EOF (true) or `timeout` (false).
    func readsToEOF(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while deadline.timeIntervalSinceNow > 0 {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 200) <= 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n <= 0 { return true }
        }
        return false
    }

    /// Reads event lines until one matches, collecting them all; nil on timeout or EOF.
    func collect(until stop: ([String: Any]) -> Bool, timeout: Double = 60) -> [[String: Any]]? {
        var seen: [[String: Any]] = []
        let deadline = Date().addingTimeInterval(timeout)
        while let object = readObject(timeout: max(0.1, deadline.timeIntervalSinceNow)) {
            seen.append(object)
            if stop(object) { return seen }
        }
        return nil
    }
}

extension Dictionary where Key == String, Value == Any {
    var type: String { self["type"] as? String ?? "" }
    var seq: Int { self["seq"] as? Int ?? 0 }
    func int(_ key: String) -> Int { self[key] as? Int ?? -1 }
}
