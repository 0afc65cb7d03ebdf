import Foundation
import Testing

/// Runs the built `mediasync` binary as a user would, in a fresh temp HOME.
struct CLIRunner {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// A unique temp folder per test, so tests can run in parallel.
    let home: URL

    init() throws {
        home = FileManager.default.temporaryDirectory.appendingPathComponent("mediasync-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
    }

    /// `$MEDIASYNC_BIN`, else `mediasync` next to the test runner (`swift build --build-tests` puts both
    /// in the same build folder).
    static func binary() throws -> String {
        if let override = ProcessInfo.processInfo.environment["MEDIASYNC_BIN"], !override.isEmpty { return override }
        let runner = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        var folder = URL(fileURLWithPath: runner).deletingLastPathComponent()
        // On some layouts the runner sits inside a `.xctest` bundle folder.
        while folder.pathExtension == "xctest" || folder.lastPathComponent == "MacOS" { folder.deleteLastPathComponent() }
        let candidate = folder.appendingPathComponent("mediasync").path
        guard FileManager.default.isExecutableFile(atPath: candidate) else {
            throw CLIRunnerError(message: "no mediasync binary at \(candidate); run `swift build` first or set MEDIASYNC_BIN")
        }
        return candidate
    }

    /// The repository root, found from this file's path (for contrib/ and Sources/).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Writes `text` to a file in this test's temp folder and returns its path.
    func write(_ name: String, _ text: String) throws -> String {
        let url = home.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// Runs mediasync with `arguments`; the environment is cleared of config-related variables and HOME
    /// points at the temp folder, plus `environment`.
    func run(_ arguments: [String], environment: [String: String] = [:], timeout: Double = 120) throws -> Result {
        var env = ProcessInfo.processInfo.environment
        for key in ["MEDIASYNC_CONFIG", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR"] { env[key] = nil }
        env["HOME"] = home.path
        env.merge(environment) { $1 }
        // posix_spawn and files, not Foundation's Process and pipes: Process hangs here when tests run in
        // parallel, and files cannot deadlock however much either stream prints. The wait has a limit.
        let outPath = home.appendingPathComponent(".stdout-\(UUID().uuidString)").path
        let errPath = home.appendingPathComponent(".stderr-\(UUID().uuidString)").path
        // coreutils' `env -C` starts it in the temp folder (and execs it: the pid is mediasync's).
        let pid = try Spawn.start(["/usr/bin/env", "-C", home.path, try Self.binary()] + arguments, environment: env,
                                  stdout: outPath, stderr: errPath)
        let deadline = Date().addingTimeInterval(timeout)
        var status = Spawn.poll(pid)
        while status == nil {
            if Date() > deadline {
                kill(pid, SIGKILL)
                Spawn.reap(pid)
                throw CLIRunnerError(message: "mediasync \(arguments.joined(separator: " ")) did not finish within \(Int(timeout)) s")
            }
            usleep(10_000)
            status = Spawn.poll(pid)
        }
        return Result(status: status ?? -1,
                      stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }

    func cleanUp() {
        try? FileManager.default.removeItem(at: home)
    }
}

struct CLIRunnerError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
