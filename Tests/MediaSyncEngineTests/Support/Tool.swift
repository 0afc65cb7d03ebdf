import Foundation
import TestChildren

/// Runs helper programs for the engine tests (`TestChildren`: posix_spawn and waitpid, every wait with a limit).
enum Tool {
    typealias Failure = TestChildren.Failure
    typealias Output = TestChildren.Output

    /// Starts `argv` with stdin from /dev/null, stdout and stderr appended to `stdoutTo` when given; its pid.
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
        return try TestChildren.spawn(argv, environment: environment, actions: &actions)
    }

    /// The exit status of `pid` (128+signal when killed) if it has ended, else nil. Reaps it.
    static func poll(_ pid: pid_t) -> Int32? { TestChildren.poll(pid) }

    /// Waits up to `timeout` seconds for `pid`; past it, SIGKILL and an error naming `what`.
    @discardableResult
    static func wait(_ pid: pid_t, timeout: Double = 120, what: @autoclosure () -> String) throws -> Int32 {
        try TestChildren.wait(pid, timeout: timeout, what: what())
    }

    /// Reaps `pid` after a signal that ends it, within `timeout` seconds; its status, or nil.
    @discardableResult
    static func reap(_ pid: pid_t, timeout: Double = 10) -> Int32? { TestChildren.reap(pid, timeout: timeout) }

    /// Runs `argv` to completion, feeding `input` on stdin, and collects stdout and stderr.
    static func run(_ argv: [String], input: [UInt8] = [], environment: [String: String]? = nil,
                    timeout: Double = 120) throws -> Output {
        try TestChildren.run(argv, input: input, environment: environment, timeout: timeout)
    }

    /// Runs `argv` and throws unless it exits 0; returns its stdout as text.
    @discardableResult
    static func check(_ argv: [String], input: [UInt8] = []) throws -> String {
        let out = try run(argv, input: input)
        guard out.status == 0 else {
            throw Failure("\(argv.joined(separator: " ")) exited \(out.status): \(out.errorText)")
        }
        return out.text
    }
}
