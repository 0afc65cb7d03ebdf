import Foundation
import Testing

/// `mediasync logs` read back what real `mediasync sync` runs kept in `<state_dir>/logs.sqlite`.
@Suite("mediasync logs, run as a built binary")
struct LogsCommandTests {
    /// One source that syncs (`good`) and one whose folder is a file, so its job fails (`bad`).
    private static func setUp(_ cli: CLIRunner) throws -> (config: String, state: String) {
        let root = cli.home.appendingPathComponent("gen").path
        try FileManager.default.createDirectory(atPath: root + "/renders", withIntermediateDirectories: true)
        for name in ["a.png", "b.png"] {
            try Data(repeating: 7, count: 2048).write(to: URL(fileURLWithPath: root + "/renders/" + name))
        }
        // A file where the folder should be: the job fails each cycle (a merely missing folder is "not created yet").
        try Data("x".utf8).write(to: URL(fileURLWithPath: root + "/not-a-folder"))
        let library = cli.home.appendingPathComponent("library").path
        try FileManager.default.createDirectory(atPath: library, withIntermediateDirectories: true)
        let state = cli.home.appendingPathComponent("state").path
        let config = try cli.write("config.yaml", """
            library: \(library)
            state_dir: \(state)
            settle: 0s
            retry: {attempts: 1}
            sources:
              - {name: good, transport: local, root: \(root), folders: [renders]}
              - {name: bad, transport: local, root: \(root), folders: [not-a-folder]}
            """)
        return (config, state)
    }

    /// Runs `mediasync ARGS` with posix_spawn and a clean signal mask, waiting at most `timeout` seconds.
    /// Foundation's Process starts the child with the test thread's mask, where SIGCHLD is blocked, and libuv
    /// then never learns that rsync exited (seen here: the cycle stalled forever). A shell or systemd never
    /// starts it that way.
    private static func mediasync(_ cli: CLIRunner, _ arguments: [String], timeout: Double = 120) throws -> CLIRunner.Result {
        let out = cli.home.appendingPathComponent("run-\(UUID().uuidString).out").path
        let err = out + ".err"
        var environment = ProcessInfo.processInfo.environment
        for key in ["MEDIASYNC_CONFIG", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR"] { environment[key] = nil }
        environment["HOME"] = cli.home.path
        // Spawn starts it with a clean signal mask (see there).
        let pid = try Spawn.start([try CLIRunner.binary()] + arguments, environment: environment, stdout: out, stderr: err)
        let status = ServeHarness.wait(pid, timeout: timeout)
        let result = CLIRunner.Result(status: status ?? -1,
                                      stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                                      stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
        guard status != nil else {
            throw CLIRunnerError(message: "`mediasync \(arguments.joined(separator: " "))` did not end within \(Int(timeout)) s (killed): \(result.stderr)")
        }
        return result
    }

    private static func sync(_ cli: CLIRunner, _ config: String) throws -> CLIRunner.Result {
        try mediasync(cli, ["sync", "--config", config])
    }

    private static func logs(_ cli: CLIRunner, _ arguments: [String]) throws -> CLIRunner.Result {
        try mediasync(cli, ["logs"] + arguments, timeout: 60)
    }

    /// Moves the times of `cycle`'s entries an hour back, as if it had run an hour ago: `--since` is then
    /// tested against real entries without waiting for time to pass. python3's sqlite3: CLITests has no SQLite.
    private static func age(cycle: Int, in state: String) throws {
        let script = "import sqlite3,sys\nc=sqlite3.connect(sys.argv[1])\n"
            + "n=c.execute('update log_entry set time_ms = time_ms - 3600000 where cycle = ?', (int(sys.argv[2]),)).rowcount\n"
            + "c.commit()\nprint(n)"
        let pid = try ServeHarness.spawn(["python3", "-c", script, state + "/logs.sqlite", "\(cycle)"],
                                         environment: [:], output: state + "/age.out")
        let status = ServeHarness.wait(pid, timeout: 30)
        let output = (try? String(contentsOfFile: state + "/age.out", encoding: .utf8)) ?? ""
        guard status == 0, let rows = Int(output.trimmingCharacters(in: .whitespacesAndNewlines)), rows > 0 else {
            throw CLIRunnerError(message: "could not age cycle \(cycle)'s log entries (status \(String(describing: status))): \(output)")
        }
    }

    private static func entries(_ result: CLIRunner.Result) -> [[String: Any]] {
        result.stdout.split(separator: "\n").map { line in
            let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            #expect(object != nil, "not a JSON object: \(line)")
            return object ?? [:]
        }
    }

    @Test func filtersWhatSyncLoggedByCycleSourceLevelAndTime() throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let (config, state) = try Self.setUp(cli)
        let old = try Self.sync(cli, config)
        #expect(old.status == 1, "the bad source fails: \(old.stderr)")
        // `--since 30m` below must leave cycle 1 out: it ran "an hour ago".
        try Self.age(cycle: 1, in: state)
        let now = try Self.sync(cli, config)
        #expect(now.status == 1, "\(now.stderr)")

        let all = Self.entries(try Self.logs(cli, ["--config", config, "--json"]))
        #expect(all.count >= 8, "two cycles: start, two jobs, end each: \(all)")
        #expect(Set(all.compactMap { $0["cycle"] as? Int }) == [1, 2])
        for entry in all {
            #expect(entry["time"] is String && entry["level"] is String && entry["message"] is String)
        }
        let failed = all.filter { $0["level"] as? String == "error" && $0["source"] as? String == "bad" }
        #expect(failed.allSatisfy { $0["folder"] as? String == "not-a-folder" })
        let jobFailures = failed.filter { ($0["error"] as? String)?.contains("not-a-folder") == true }
        #expect(Set(jobFailures.compactMap { $0["cycle"] as? Int }) == [1, 2], "each cycle's failed job, with its reason")

        let cycle2 = Self.entries(try Self.logs(cli, ["--config", config, "--json", "--cycle", "2"]))
        #expect(!cycle2.isEmpty && cycle2.allSatisfy { $0["cycle"] as? Int == 2 })
        #expect(cycle2.contains { ($0["message"] as? String)?.hasPrefix("cycle 2 finished") == true })

        let good = Self.entries(try Self.logs(cli, ["--config", config, "--json", "--source", "good"]))
        #expect(good.count == 2 && good.allSatisfy { $0["source"] as? String == "good" && $0["level"] as? String == "info" })
        #expect((good.first?["message"] as? String)?.hasPrefix("good/renders: done, 2 files") == true)

        let errors = Self.entries(try Self.logs(cli, ["--config", config, "--json", "--level", "error"]))
        #expect(!errors.isEmpty && errors.allSatisfy { ["error", "critical"].contains($0["level"] as? String) })
        let warnings = Self.entries(try Self.logs(cli, ["--config", config, "--json", "--level", "warning"]))
        #expect(warnings.count > errors.count, "the cycle summaries with a failed job are warnings")

        let recent = Self.entries(try Self.logs(cli, ["--config", config, "--json", "--since", "30m"]))
        #expect(!recent.isEmpty && recent.allSatisfy { $0["cycle"] as? Int == 2 }, "cycle 1 is an hour old")
        #expect(recent.count == all.filter { $0["cycle"] as? Int == 2 }.count, "all of cycle 2 is recent")
        let day = Self.entries(try Self.logs(cli, ["--config", config, "--json", "--since", "1d"]))
        #expect(day.count == all.count)

        let readable = try Self.logs(cli, ["--config", config, "--level", "error", "--cycle", "1"])
        #expect(readable.status == 0)
        let lines = readable.stdout.split(separator: "\n")
        #expect(!lines.isEmpty && lines.allSatisfy { $0.contains("  error  ") && $0.contains("cycle 1  bad/not-a-folder") })
    }

    @Test func badFiltersExit2AndSayHowToFixThem() throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let (config, state) = try Self.setUp(cli)
        let level = try Self.logs(cli, ["--config", config, "--level", "loud"])
        #expect(level.status == 2)
        #expect(level.stderr.contains("--level `loud` is not a level; use one of trace, debug, info, notice, warning, error, critical"))
        let since = try Self.logs(cli, ["--config", config, "--since", "2 hours"])
        #expect(since.status == 2)
        #expect(since.stderr.contains("--since `2 hours` is not a duration"))
        // Nothing synced yet: no log file, a note, and no file made by looking.
        let empty = try Self.logs(cli, ["--config", config])
        #expect(empty.status == 0 && empty.stdout.isEmpty)
        #expect(empty.stderr.contains("no log yet at"))
        #expect(!FileManager.default.fileExists(atPath: state + "/logs.sqlite"))
    }
}
