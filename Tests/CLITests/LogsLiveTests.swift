import Foundation
import Testing

/// `mediasync logs` and `logs --follow` while a real `mediasync serve` runs and logs (issue 10: "logs shows
/// nothing while serve runs").
@Suite("mediasync logs while serve runs")
struct LogsLiveTests {
    /// A serve whose source has a folder that syncs (`a`) and one that cannot be entered (`b`, an error each cycle).
    private static func startServe() throws -> ServeHarness {
        let serve = try ServeHarness(folders: ["a"])
        try serve.writeConfig(folders: ["a", "b"], interval: "1h")
        // `b` is a file, not a folder: its job fails each cycle (a merely missing folder is "not created yet").
        FileManager.default.createFile(atPath: serve.sources + "/b", contents: Data("x".utf8))
        try serve.makeFiles("a", count: 3, size: 2000)
        return serve
    }

    /// Waits (at most `timeout` s) for serve's first cycle to finish; its id.
    private static func firstCycle(_ serve: ServeHarness) throws -> Int {
        let client = try SocketClient(path: serve.socket)
        client.send(#"{"cmd":"attach"}"#)
        #expect(client.readObject()?.type == "hello")
        let snapshot = try #require(client.readObject(), "no snapshot from serve")
        if snapshot["state"] as? String == "syncing" {
            let finished = try #require(client.collect(until: { $0.type == "cycle_finished" }, timeout: 30)?.last,
                                        "serve's first cycle did not finish within 30 s:\n\(serve.log)")
            return finished.int("cycle")
        }
        return (snapshot["last_cycle"] as? [String: Any])?.int("cycle") ?? -1
    }

    private static func objects(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").map { line in
            let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            #expect(object != nil, "not a JSON object: \(line)")
            return object ?? [:]
        }
    }

    private static func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    /// Polls `path` until `done` holds for its text, at most `timeout` s; the last text seen and whether it held.
    private static func waitFor(_ path: String, timeout: Double, _ done: (String) -> Bool) -> (text: String, held: Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let text = read(path)
            if done(text) { return (text, true) }
            if Date() > deadline { return (text, false) }
            usleep(50_000)
        }
    }

    @Test func logsShowsACycleWhileServeStillRuns() throws {
        let serve = try Self.startServe()
        defer { serve.stop() }
        try serve.start()
        let cycle = try Self.firstCycle(serve)
        #expect(cycle >= 1)
        let finished = ContinuousClock.now

        // The writer stores a line within a quarter of a second (LogSinkTests has the mechanism); the deadline
        // only allows for a loaded machine. Before the fix the lines stayed in memory until serve exited.
        var kept: [[String: Any]] = []
        var polls = 0
        let deadline = Date().addingTimeInterval(10)
        repeat {
            let result = try serve.cli(["logs", "--config", serve.configPath, "--json", "--cycle", "\(cycle)"])
            #expect(result.status == 0, "\(result.stderr)")
            kept = Self.objects(result.stdout)
            polls += 1
            if kept.contains(where: { ($0["message"] as? String)?.hasPrefix("cycle \(cycle) finished") == true }) { break }
            usleep(100_000)
        } while Date() < deadline
        let waited = ContinuousClock.now - finished
        #expect(kept.contains { ($0["message"] as? String)?.hasPrefix("cycle \(cycle) finished") == true },
                "`logs` did not show cycle \(cycle)'s end within 10 s of it (\(polls) polls) while serve ran:\n\(kept)")
        #expect(serve.exitStatus(timeout: 0) == nil, "serve is still running")

        // Exactly the lines serve has written to its stderr (the journal) for that cycle, in the same order.
        let journal = Self.objects(serve.log).filter { $0["cycle"] as? Int == cycle }.compactMap { $0["message"] as? String }
        #expect(kept.compactMap { $0["message"] as? String } == journal, "after \(waited)")
        #expect(kept.contains { $0["level"] as? String == "error" && $0["folder"] as? String == "b" })
        #expect(journal.count >= 4, "cycle started, two jobs, cycle finished: \(journal)")
    }

    @Test func followStreamsNewLinesThatMatchItsFilterAndEndsOnCtrlC() throws {
        let serve = try Self.startServe()
        defer { serve.stop() }
        try serve.start()
        let first = try Self.firstCycle(serve)
        let out = serve.root + "/follow.out"
        let err = serve.root + "/follow.err"
        let follow = try Follow(["--follow", "--json", "--level", "warning", "--config", serve.configPath], out, err)
        defer { follow.stop() }

        // First the recent lines, as `logs` shows them: cycle 1's warnings and errors.
        let recent = Self.waitFor(out, timeout: 10) { $0.contains("\"cycle \(first) finished") }
        #expect(recent.held, "logs -f did not show cycle \(first)'s end within 10 s: \(recent.text)\n\(Self.read(err))")

        // Then what serve logs after it started: a whole new cycle.
        let trigger = try serve.cli(["trigger", "--config", serve.configPath])
        #expect(trigger.status == 0, "\(trigger.stderr)")
        let second = first + 1
        let streamed = Self.waitFor(out, timeout: 15) { $0.contains("\"cycle \(second) finished") }
        #expect(streamed.held, "logs -f did not stream cycle \(second)'s end within 15 s: \(streamed.text)\n\(Self.read(err))")

        let entries = Self.objects(streamed.text)
        #expect(entries.allSatisfy { ["warning", "error", "critical"].contains($0["level"] as? String ?? "") },
                "--level warning is kept while following: \(entries)")
        let newLines = entries.filter { $0["cycle"] as? Int == second }
        #expect(newLines.contains { $0["level"] as? String == "error" && $0["folder"] as? String == "b" },
                "cycle \(second)'s failed job: \(newLines)")
        let journal = Self.objects(serve.log).filter {
            $0["cycle"] as? Int == second && ["warning", "error", "critical"].contains($0["level"] as? String ?? "")
        }
        #expect(newLines.compactMap { $0["message"] as? String } == journal.compactMap { $0["message"] as? String },
                "each of serve's matching lines once, in order")
        #expect(!Self.read(out).contains("cycle \(second) started"), "an info line got through the filter")

        // Ctrl-C: exit 0, promptly, nothing on stderr.
        follow.signal(SIGINT)
        let status = follow.exitStatus(within: 10)
        #expect(status == 0, "logs -f after SIGINT: \(String(describing: status)) (nil: still running after 10 s)")
        #expect(Self.read(err).isEmpty, "\(Self.read(err))")
        #expect(serve.exitStatus(timeout: 0) == nil, "serve is untouched")
    }

    @Test func followWaitsForTheLogToExistAndEndsOnSIGTERM() throws {
        let serve = try Self.startServe()
        defer { serve.stop() }
        let out = serve.root + "/follow.out"
        let err = serve.root + "/follow.err"
        let follow = try Follow(["-f", "--config", serve.configPath], out, err)
        defer { follow.stop() }
        let waiting = Self.waitFor(err, timeout: 10) { $0.contains("no log yet at \(serve.root)/state/logs.sqlite; waiting for") }
        #expect(waiting.held, "logs -f says what it waits for: \(waiting.text)")
        #expect(follow.exitStatus(within: 0) == nil, "it keeps waiting")
        #expect(!FileManager.default.fileExists(atPath: serve.root + "/state/logs.sqlite"), "looking made no file")

        try serve.start()
        let cycle = try Self.firstCycle(serve)
        let seen = Self.waitFor(out, timeout: 10) { $0.contains("cycle \(cycle) finished") }
        #expect(seen.held, "logs -f did not show serve's first cycle within 10 s: \(seen.text)\n\(Self.read(err))")
        #expect(seen.text.contains("supervisor started"), "from the log's first line: \(seen.text)")

        follow.signal(SIGTERM)
        let status = follow.exitStatus(within: 10)
        #expect(status == 0, "logs -f after SIGTERM: \(String(describing: status)) (nil: still running after 10 s)")
    }

    /// "Delete logs.sqlite whenever you like; it is made again" (operations.md): a follow goes on with the new file.
    @Test func followGoesOnWithALogThatWasDeletedAndMadeAgain() throws {
        let serve = try Self.startServe()
        defer { serve.stop() }
        let sync1 = try serve.cli(["sync", "--config", serve.configPath], timeout: 120)
        #expect(sync1.status == 1, "folder b is missing: \(sync1.stderr)")
        let out = serve.root + "/follow.out"
        let err = serve.root + "/follow.err"
        let follow = try Follow(["-f", "--json", "--config", serve.configPath], out, err)
        defer { follow.stop() }
        let first = Self.waitFor(out, timeout: 10) { $0.contains("\"cycle 1 finished") }
        #expect(first.held, "logs -f did not show the first sync within 10 s: \(first.text)\n\(Self.read(err))")

        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: serve.root + "/state/logs.sqlite" + suffix) }
        let sync2 = try serve.cli(["sync", "--config", serve.configPath], timeout: 120)
        #expect(sync2.status == 1, "\(sync2.stderr)")
        let second = Self.waitFor(out, timeout: 10) { $0.contains("\"cycle 2 finished") }
        #expect(second.held, "logs -f did not go on with the new log within 10 s: \(second.text)\n\(Self.read(err))")
        let entries = Self.objects(second.text)
        let cycle2 = entries.filter { $0["cycle"] as? Int == 2 }.compactMap { $0["message"] as? String }
        #expect(cycle2.first == "cycle 2 started: 2 jobs (src/a, src/b)", "the new log from its start: \(cycle2)")
        #expect(cycle2.count >= 4 && Set(cycle2).count == cycle2.count, "each line once: \(cycle2)")

        follow.signal(SIGINT)
        #expect(follow.exitStatus(within: 10) == 0)
        #expect(Self.read(err).isEmpty, "\(Self.read(err))")
    }
}

/// A running `mediasync logs ARGS` (stdout and stderr to files); reaped once, so a finished pid is never
/// signalled again.
private final class Follow {
    private let pid: pid_t
    private var status: Int32?

    init(_ arguments: [String], _ out: String, _ err: String) throws {
        pid = try ServeHarness.spawn([try CLIRunner.binary(), "logs"] + arguments, environment: [:], output: out, errors: err)
    }

    func signal(_ signum: Int32) { if status == nil { kill(pid, signum) } }

    /// Its exit status (128+signal when killed) once it has ended, waiting at most `within` seconds; nil while
    /// it still runs.
    func exitStatus(within timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while status == nil {
            var raw: Int32 = 0
            if waitpid(pid, &raw, WNOHANG) == pid {
                status = raw & 0x7F == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
            } else if Date() >= deadline {
                return nil
            } else {
                usleep(20_000)
            }
        }
        return status
    }

    /// Kills it if it still runs (a failed test) and reaps it.
    func stop() {
        guard exitStatus(within: 0) == nil else { return }
        kill(pid, SIGKILL)
        _ = exitStatus(within: 10)
    }
}
