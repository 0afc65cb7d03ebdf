import Foundation
import Testing

/// `mediasync serve` logs as journald wants it (one JSON object per line on stderr) and keeps the same
/// entries for `mediasync logs`.
@Suite("mediasync serve: the log on stderr and in logs.sqlite")
struct ServeLoggingTests {
    @Test func stderrIsJSONLinesAndLogsListTheCycle() throws {
        // `b` cannot be entered on the source: its job fails, which must be an error line naming the job.
        let serve = try ServeHarness(folders: ["a"])
        defer { serve.stop() }
        try serve.writeConfig(folders: ["a", "b"], interval: "1h")
        // `b` is a file, not a folder: its job fails each cycle (a merely missing folder is "not created yet").
        FileManager.default.createFile(atPath: serve.sources + "/b", contents: Data("x".utf8))
        try serve.makeFiles("a", count: 3, size: 2000)
        try serve.start()
        let client = try SocketClient(path: serve.socket)
        client.send(#"{"cmd":"attach"}"#)
        #expect(client.readObject()?.type == "hello")
        let snapshot = try #require(client.readObject())
        var cycle = snapshot["cycle"] as? Int ?? -1
        if snapshot["state"] as? String == "syncing" {
            let finished = try #require(client.collect { $0.type == "cycle_finished" }?.last)
            cycle = finished.int("cycle")
        } else {
            cycle = (snapshot["last_cycle"] as? [String: Any])?.int("cycle") ?? -1
        }
        #expect(cycle >= 1)
        serve.signal(SIGTERM)
        #expect(serve.exitStatus(timeout: 15) == 0)

        // Every line serve wrote is a JSON object with the three fields journald users filter on.
        let lines = serve.log.split(separator: "\n").map(String.init)
        let entries = lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        #expect(entries.count == lines.count, "lines that are not JSON: \(lines.filter { !$0.hasPrefix("{") })")
        for entry in entries {
            #expect(entry["time"] is String && entry["level"] is String && entry["message"] is String, "\(entry)")
        }
        let messages = entries.compactMap { $0["message"] as? String }
        #expect(messages.first?.hasPrefix("supervisor started") == true, "\(messages)")
        #expect(messages.contains("supervisor stopping (SIGTERM)"))
        #expect(messages.last == "stopped")
        let done = try #require(entries.first { ($0["message"] as? String)?.hasPrefix("src/a: done, 3 files") == true },
                                "\(messages)")
        #expect(done["cycle"] as? Int == cycle && done["source"] as? String == "src" && done["folder"] as? String == "a")
        #expect(done["level"] as? String == "info")
        let failed = try #require(entries.first { ($0["message"] as? String)?.hasPrefix("src/b: failed") == true },
                                  "\(messages)")
        #expect(failed["level"] as? String == "error")
        #expect(failed["cycle"] as? Int == cycle && failed["source"] as? String == "src" && failed["folder"] as? String == "b")
        #expect((failed["error"] as? String)?.isEmpty == false)
        let summary = try #require(entries.first { ($0["message"] as? String)?.hasPrefix("cycle \(cycle) finished") == true })
        #expect(summary["level"] as? String == "warning", "a cycle with a failed job is a warning")
        // The supervisor's warnings are logged once, not once by the bridge and again by the supervisor.
        #expect(messages.count == Set(messages).count, "a line was logged twice: \(messages)")

        // The kept log has exactly the cycle's lines, in the same order.
        let kept = try serve.cli(["logs", "--config", serve.configPath, "--json", "--cycle", "\(cycle)"])
        #expect(kept.status == 0, "\(kept.stderr)")
        let keptEntries = kept.stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
        let journalOfCycle = entries.filter { $0["cycle"] as? Int == cycle }.compactMap { $0["message"] as? String }
        #expect(keptEntries.compactMap { $0["message"] as? String } == journalOfCycle)
        #expect(journalOfCycle.count >= 4, "cycle started, two jobs, cycle finished: \(journalOfCycle)")
        #expect(keptEntries.allSatisfy { $0["cycle"] as? Int == cycle })
    }
}
