import Foundation

/// Runs helper programs for tests with posix_spawn and waitpid. Foundation's Process can hang in
/// waitUntilExit on Linux when tests run in parallel (seen here: a reaped-late ssh-keygen zombie
/// blocked a test forever), so tests use this instead. Every wait here has a limit.
enum Tool {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    struct Output {
        let status: Int32
        let stdout: [UInt8]
        let stderr: [UInt8]
        var text: String { String(decoding: stdout, as: UTF8.self) }
        var errorText: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// Starts `argv` with stdin from /dev/null (or `input`), returns its pid and the read ends.
    static func spawn(_ argv: [String], environment: [String: String]? = nil,
                      stdoutTo: String? = nil) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let stdoutTo {
            posix_spawn_file_actions_addopen(&actions, 1, stdoutTo, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_addopen(&actions, 2, stdoutTo, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        }
        return try spawn(argv, environment: environment, actions: &actions)
    }

    private static func spawn(_ argv: [String], environment: [String: String]?,
                              actions: inout posix_spawn_file_actions_t) throws -> pid_t {
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var cArgs = argv.map { strdup($0) } + [nil]
        var cEnv = env.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) }; cEnv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, &cArgs, &cEnv)
        guard rc == 0 else { throw Failure(description: "cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// The exit status of `pid` (128+signal when killed) if it has ended, else nil. Reaps it.
    static func poll(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        return decode(status)
    }

    private static func decode(_ status: Int32) -> Int32 {
        status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    /// Waits up to `timeout` seconds for `pid` and returns its exit status (128+signal when killed). Past the
    /// limit the child is killed and the wait throws, naming `what` it waited for: a test never hangs here.
    @discardableResult
    static func wait(_ pid: pid_t, timeout: Double = 120, what: @autoclosure () -> String) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let status = poll(pid) { return status }
            if Date() > deadline { break }
            usleep(5_000)
        }
        kill(pid, SIGKILL)
        reap(pid)
        throw Failure(description: "\(what()) (pid \(pid)) did not end within \(Int(timeout)) s; killed it")
    }

    /// Reaps `pid` after it was sent a signal that ends it (SIGKILL): at most `timeout` seconds, so a child
    /// stuck in the kernel leaves a zombie instead of hanging the test. Its status, or nil.
    @discardableResult
    static func reap(_ pid: pid_t, timeout: Double = 10) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let status = poll(pid) { return status }
            usleep(5_000)
        }
        return poll(pid)
    }

    /// Runs `argv` to completion, feeding `input` on stdin, and collects stdout and stderr.
    static func run(_ argv: [String], input: [UInt8] = [], environment: [String: String]? = nil,
                    timeout: Double = 120) throws -> Output {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tool-\(UUID().uuidString)")
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

    /// Runs `argv` and throws unless it exits 0; returns its stdout as text.
    @discardableResult
    static func check(_ argv: [String], input: [UInt8] = []) throws -> String {
        let out = try run(argv, input: input)
        guard out.status == 0 else {
            throw Failure(description: "\(argv.joined(separator: " ")) exited \(out.status): \(out.errorText)")
        }
        return out.text
    }
}
