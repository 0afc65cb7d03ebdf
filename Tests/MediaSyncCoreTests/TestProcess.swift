import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a helper program (python3, sh, rsync) for the core tests with posix_spawn and files, never Foundation's
/// Process: its `waitUntilExit` can hang on Linux when tests run in parallel (see MediaSyncEngineTests' `Tool`).
/// Every run has a limit: past it the child is killed and the run throws, naming the program.
enum TestProcess {
    struct Output {
        let status: Int32
        let stdout: [UInt8]
        let stderr: String
    }

    static func run(_ argv: [String], stdin: [UInt8] = [], environment: [String: String]? = nil,
                    timeout: Double = 120) throws -> Output {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mediasync-core-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let inPath = dir.appendingPathComponent("in").path, outPath = dir.appendingPathComponent("out").path
        let errPath = dir.appendingPathComponent("err").path
        _ = FileManager.default.createFile(atPath: inPath, contents: Data(stdin))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, inPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var cArgs = argv.map { strdup($0) } + [nil]
        var cEnv = env.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) }; cEnv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, &cArgs, &cEnv)
        guard rc == 0 else { throw SyncTestError("cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
        let status = try wait(pid, timeout: timeout, what: argv.prefix(2).joined(separator: " "))
        return Output(status: status,
                      stdout: Array((try? Data(contentsOf: URL(fileURLWithPath: outPath))) ?? Data()),
                      stderr: String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: errPath))) ?? Data(), as: UTF8.self))
    }

    /// Waits up to `timeout` seconds; past it, SIGKILL, a bounded reap, and an error naming `what`.
    static func wait(_ pid: pid_t, timeout: Double, what: String) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) != pid {
            if Date() > deadline {
                kill(pid, SIGKILL)
                let reapBy = Date().addingTimeInterval(10)
                while waitpid(pid, nil, WNOHANG) != pid && Date() < reapBy { usleep(5_000) }
                throw SyncTestError("\(what) (pid \(pid)) did not end within \(Int(timeout)) s; killed it")
            }
            usleep(2_000)
        }
        return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }
}
