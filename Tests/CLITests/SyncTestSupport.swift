import Foundation
import Testing

/// A throwaway world for end-to-end `mediasync sync` runs: a source root, a library, a state folder and a
/// config file in one unique temp folder, and the built binary run with posix_spawn (Foundation's Process
/// hangs here when tests run in parallel).
final class SyncWorld {
    let root: String
    var sourceRoot: String { root + "/src" }
    var library: String
    var stateDir: String { root + "/state" }
    var configPath: String { root + "/config.yaml" }

    init() throws {
        // Short and unique: the staging path inside it identifies this test's rsync children in /proc.
        root = "/tmp/msync-e2e-" + UUID().uuidString.prefix(12).lowercased()
        library = root + "/lib"
        for dir in [sourceRoot, library] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// Writes the config: `top` lines (settle, retry, concurrency...) and one local source per entry.
    func writeConfig(sources: [(name: String, folders: [String], extra: String)], top: [String] = []) throws {
        var lines = ["library: \(library)", "state_dir: \(stateDir)"] + top + ["sources:"]
        for source in sources {
            let folders = source.folders.joined(separator: ", ")
            let extra = source.extra.isEmpty ? "" : ", " + source.extra
            lines.append("  - {name: \(source.name), transport: local, root: \(sourceRoot), folders: [\(folders)]\(extra)}")
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Path bytes below the source root.
    func source(_ relative: [UInt8]) -> [UInt8] { Array(sourceRoot.utf8) + [0x2F] + relative }
    func source(_ relative: String) -> [UInt8] { source(Array(relative.utf8)) }
    func inLibrary(_ relative: String) -> [UInt8] { Array((library + "/" + relative).utf8) }

    // MARK: running

    /// Starts `mediasync sync --config F --json <arguments>` in the background.
    func start(_ arguments: [String] = []) throws -> SyncProcess {
        let out = root + "/run-\(UUID().uuidString.prefix(8)).out"
        let err = out.replacingOccurrences(of: ".out", with: ".err")
        var env = ProcessInfo.processInfo.environment
        for key in ["MEDIASYNC_CONFIG", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR"] { env[key] = nil }
        env["HOME"] = root
        let argv = [try CLIRunner.binary(), "sync", "--config", configPath, "--json"] + arguments
        let pid = try Spawn.start(argv, environment: env, stdout: out, stderr: err)
        return SyncProcess(pid: pid, stdoutPath: out, stderrPath: err)
    }

    /// Runs a sync to its end (killed after `timeout` seconds, which fails the test).
    func sync(_ arguments: [String] = [], timeout: Double = 60) throws -> SyncResult {
        try start(arguments).finish(timeout: timeout)
    }
}

/// A running `mediasync sync`.
final class SyncProcess {
    let pid: pid_t
    let stdoutPath: String
    let stderrPath: String
    /// Kept once reaped: waitpid answers only once.
    private var status: Int32?

    init(pid: pid_t, stdoutPath: String, stderrPath: String) {
        self.pid = pid
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
    }

    /// The events written so far (complete lines only).
    func eventsSoFar() -> [[String: Any]] {
        SyncResult.parse(Array((try? Data(contentsOf: URL(fileURLWithPath: stdoutPath))) ?? Data()))
    }

    /// Non-blocking: the exit status if it ended.
    func poll() -> Int32? {
        if status == nil { status = Spawn.poll(pid) }
        return status
    }

    func finish(timeout: Double = 60) throws -> SyncResult {
        let deadline = Date().addingTimeInterval(timeout)
        while poll() == nil {
            if Date() > deadline {
                kill(pid, SIGKILL)
                status = Spawn.reap(pid)
                throw SyncTestError("mediasync sync did not finish within \(Int(timeout))s")
            }
            usleep(20_000)
        }
        let out = Array((try? Data(contentsOf: URL(fileURLWithPath: stdoutPath))) ?? Data())
        let err = String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: stderrPath))) ?? Data(), as: UTF8.self)
        return SyncResult(status: status ?? -1, stdout: out, stderr: err, events: SyncResult.parse(out))
    }
}

/// What a finished run printed and how it exited.
struct SyncResult {
    let status: Int32
    let stdout: [UInt8]
    let stderr: String
    let events: [[String: Any]]

    static func parse(_ bytes: [UInt8]) -> [[String: Any]] {
        var events: [[String: Any]] = []
        var line: [UInt8] = []
        for byte in bytes {
            if byte == 0x0A {
                if let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] { events.append(object) }
                else { events.append(["type": "<unparsable>", "line": String(decoding: line, as: UTF8.self)]) }
                line = []
            } else {
                line.append(byte)
            }
        }
        return events
    }

    func of(_ type: String) -> [[String: Any]] { events.filter { $0["type"] as? String == type } }

    /// Exact bytes of a name field: the base64 twin when present, else the string's UTF-8.
    static func exact(_ event: [String: Any], _ key: String) -> [UInt8]? {
        if let b64 = event[key + "_b64"] as? String, let data = Data(base64Encoded: b64) { return Array(data) }
        return (event[key] as? String).map { Array($0.utf8) }
    }

    /// The contract every run keeps: v=1, seq 1,2,3... without gaps, cycle_started first and
    /// cycle_finished last, one job_finished per job.
    func checkEnvelope(jobs: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!events.isEmpty, "no events; stderr: \(stderr)", sourceLocation: sourceLocation)
        for (index, event) in events.enumerated() {
            #expect(event["v"] as? Int == 2, "event \(index) v: \(event)", sourceLocation: sourceLocation)
            #expect(event["seq"] as? Int == index + 1, "seq gap at \(index): \(event)", sourceLocation: sourceLocation)
        }
        #expect(events.first?["type"] as? String == "cycle_started", sourceLocation: sourceLocation)
        #expect(events.last?["type"] as? String == "cycle_finished", sourceLocation: sourceLocation)
        let finished = of("job_finished").compactMap { $0["job"] as? String }
        #expect(finished.count == jobs && Set(finished).count == jobs, "job_finished: \(finished)", sourceLocation: sourceLocation)
    }
}

struct SyncTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
