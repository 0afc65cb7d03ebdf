import Foundation
import MediaSyncCore
import UV

/// Asks ssh what it will connect with for each ssh source (`ssh -G`), for `check-config`. Information
/// only: a missing ssh or a config ssh rejects is reported as such, never thrown.
public enum SSHConfigProbe {
    public enum Outcome: Sendable, Equatable {
        /// What ssh resolved, and what it warned about on the way (a key file it cannot read).
        case resolved(SSHResolved, warnings: [String])
        /// ssh is not installed (or not in PATH).
        case sshMissing
        /// ssh ran but refused; its own first error line.
        case failed(String)
    }

    /// `ssh -G` for `source`; nil unless it is an ssh source. Gives up after `timeoutMs` (a `Match exec`
    /// in the user's config could run anything).
    public static func probe(_ source: Source, config: Config, timeoutMs: UInt64 = 5_000) -> Outcome? {
        let commands = TransportCommands(
            source: source, controlFolder: config.stateDirectory + "/ssh",
            fallbackControlFolder: TransportCommands.fallbackControlFolder(uid: getuid()),
            ioTimeoutSeconds: Int(config.ioTimeout.components.seconds))
        guard let argv = commands.resolveArgv() else { return nil }
        let environment = commands.environment(parent: Command.currentEnvironment())
        guard executableInPath(argv[0], path: environment["PATH"]) else { return .sshMissing }
        Loop.prepareProcess()
        fillClosedStandardDescriptors()
        guard let loop = try? Loop() else { return .failed("cannot start ssh (no event loop)") }
        var outcome: Outcome?
        resolve(loop: loop, argv: argv, environment: environment, timeoutMs: timeoutMs) { outcome = $0 }
        _ = loop.run()
        loop.closeAll()
        _ = loop.run()
        try? loop.close()
        return outcome ?? .failed("`ssh -G` ended without an answer")
    }

    /// Runs `argv` (`TransportCommands.resolveArgv`: `ssh -G ...`) on `loop` and hands `done` what ssh
    /// resolved, or why not, once, on the loop. Stopped after `timeoutMs`. Returns the child (to stop it
    /// early: `done` then gets a failure), or nil when it could not start (`done` has run already).
    @discardableResult
    static func resolve(loop: Loop, argv: [String], environment: [String: String], timeoutMs: UInt64,
                        done: @escaping (Outcome) -> Void) -> Child? {
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var timedOut = false
        let timer = try? UV.Timer(loop: loop)
        let child: Child
        do {
            child = try Child(loop: loop, command: Command(argv[0], Array(argv.dropFirst()), environment: environment,
                                                           stdin: .ignore, stdout: .pipe, stderr: .pipe),
                              onStdout: { stdout.append(contentsOf: $0) },
                              onStderr: { stderr.append(contentsOf: $0) },
                              outputGraceAfterExit: 1_000,
                              onFinished: { status, _ in
                                  timer?.close()
                                  if timedOut { return done(.failed("`ssh -G` did not answer within \(timeoutMs / 1000) s")) }
                                  let said = String(decoding: stderr, as: UTF8.self).split(separator: "\n")
                                      .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                                      .filter { !$0.isEmpty && !$0.hasPrefix("Pseudo-terminal") }
                                  guard status.succeeded, let resolved = SSHResolved.parse(String(decoding: stdout, as: UTF8.self)) else {
                                      return done(.failed(said.first ?? "ssh -G exited with \(status.description)"))
                                  }
                                  done(.resolved(resolved, warnings: said))
                              })
        } catch {
            timer?.close()
            done(.failed("cannot start ssh: \(error)"))
            return nil
        }
        timer?.start(after: timeoutMs) { timedOut = true; child.stop(grace: 500) }
        return child
    }

    /// A command started with stdin (or stdout, stderr) closed would get its pipes on fds 0-2, which libuv
    /// refuses (it asserts `fd > STDERR_FILENO` when closing them): /dev/null fills any such hole first.
    private static func fillClosedStandardDescriptors() {
        while true {
            let fd = open("/dev/null", O_RDWR)
            if fd < 0 { return }
            if fd > STDERR_FILENO { close(fd); return }
        }
    }

    private static func executableInPath(_ program: String, path: String?) -> Bool {
        if program.contains("/") { return FileManager.default.isExecutableFile(atPath: program) }
        return (path ?? "/usr/bin:/bin").split(separator: ":")
            .contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(program)") }
    }
}
