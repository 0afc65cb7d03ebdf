import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The tests' own children (rsync, ssh-keygen, python3, mediasync itself...): started with posix_spawn, waited for
/// with waitpid, every wait with a limit that kills the child and names what was waited for. Never Foundation's
/// Process: its `waitUntilExit` can hang on Linux when tests run in parallel (seen here: a reaped-late ssh-keygen
/// zombie blocked a test forever). One copy for every test target.
public enum TestChildren {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
        public init(description: String) { self.description = description }
    }

    public struct Output: Sendable {
        public let status: Int32
        public let stdout: [UInt8]
        public let stderr: [UInt8]
        public var text: String { String(decoding: stdout, as: UTF8.self) }
        public var errorText: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// Starts `argv` (looked up in PATH) with `actions` applied to its descriptors and `environment` (ours when
    /// nil), with a clean signal mask and default handlers, as a shell or systemd starts a program: the test
    /// thread may block SIGCHLD, and a mediasync started with it blocked would never learn that rsync exited.
    public static func spawn(_ argv: [String], environment: [String: String]?,
                             actions: inout posix_spawn_file_actions_t) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var cArgs = argv.map { strdup($0) } + [nil]
        var cEnv = env.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) }; cEnv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, &attributes, &cArgs, &cEnv)
        guard rc == 0 else { throw Failure("cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// The exit status of `pid` (128+signal when killed) if it has ended, else nil. Reaps it.
    public static func poll(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    /// Waits up to `timeout` seconds for `pid` and returns its exit status (128+signal when killed). Past the
    /// limit the child is killed and the wait throws, naming `what` it waited for: a test never hangs here.
    @discardableResult
    public static func wait(_ pid: pid_t, timeout: Double = 120, what: @autoclosure () -> String) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let status = poll(pid) { return status }
            if Date() > deadline { break }
            usleep(5_000)
        }
        kill(pid, SIGKILL)
        reap(pid)
        throw Failure("\(what()) (pid \(pid)) did not end within \(Int(timeout)) s; killed it")
    }

    /// Reaps `pid` after it was sent a signal that ends it (SIGKILL): at most `timeout` seconds, so a child
    /// stuck in the kernel leaves a zombie instead of hanging the test. Its status, or nil.
    @discardableResult
    public static func reap(_ pid: pid_t, timeout: Double = 10) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let status = poll(pid) { return status }
            usleep(5_000)
        }
        return poll(pid)
    }

    /// Runs `argv` to completion with `input` on its stdin, and collects stdout and stderr (through files, so a
    /// child that writes much never blocks on a pipe nobody reads).
    public static func run(_ argv: [String], input: [UInt8] = [], environment: [String: String]? = nil,
                           timeout: Double = 120) throws -> Output {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("test-child-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let inPath = dir.appendingPathComponent("in").path
        let outPath = dir.appendingPathComponent("out").path
        let errPath = dir.appendingPathComponent("err").path
        _ = FileManager.default.createFile(atPath: inPath, contents: Data(input))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, inPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let pid = try spawn(argv, environment: environment, actions: &actions)
        let status = try wait(pid, timeout: timeout, what: argv.joined(separator: " "))
        let out = (try? Data(contentsOf: URL(fileURLWithPath: outPath))) ?? Data()
        let err = (try? Data(contentsOf: URL(fileURLWithPath: errPath))) ?? Data()
        return Output(status: status, stdout: Array(out), stderr: Array(err))
    }
}
