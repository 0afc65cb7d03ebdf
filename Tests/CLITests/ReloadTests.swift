import Foundation
import Testing

/// Reloads users do at awkward moments: while a cycle runs (with a new folder and a new ingest), and after
/// the ingest refused the protocol (docs/ingest-protocol.md: "install a matching one, then `mediasync reload`").
extension IngestDoorServeTests {
    /// Records each `file_synced` library path (one per line) in argv[1], then acks it. With argv[2], the first
    /// start (no such marker file yet) refuses the protocol as an ingest too new would, and exits 3. Every
    /// start appends a line to argv[1] + ".starts".
    static let recorder = """
        import json, os, sys
        record = sys.argv[1]
        with open(record + ".starts", "a") as f:
            f.write("%d\\n" % os.getpid())
        hello = sys.stdin.readline()
        if len(sys.argv) > 2 and not os.path.exists(sys.argv[2]):
            open(sys.argv[2], "w").close()
            sys.stdout.write(json.dumps({"type": "error", "message": "this ingest speaks protocol 2 or later"}) + "\\n")
            sys.stdout.flush()
            sys.exit(3)
        sys.stdout.write(json.dumps({"type": "ready", "protocol": 1, "capabilities": []}) + "\\n")
        sys.stdout.flush()
        for line in sys.stdin:
            event = json.loads(line)
            if event.get("type") == "file_synced":
                with open(record, "a") as f:
                    f.write(event["library_path"] + "\\n")
            if "id" in event:
                sys.stdout.write(json.dumps({"ack": event["id"]}) + "\\n")
                sys.stdout.flush()

        """

    static func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// A reload in the middle of a slow cycle: the running cycle keeps its jobs and finishes them; the new
    /// folder runs from the next cycle; the old ingest is stopped and the new one gets what the old one had
    /// not acknowledged, so every file of the cycle reaches one of them, and the new folder's files only the new.
    @Test func reloadWhileACycleRunsAppliesFromTheNextCycleAndSwapsTheIngest() throws {
        let serve = try ServeHarness(folders: ["a"], sourceExtra: ", bwlimit: 300")
        defer { serve.stop() }
        let script = serve.root + "/recorder.py"
        try Self.recorder.write(toFile: script, atomically: true, encoding: .utf8)
        let first = serve.root + "/first", second = serve.root + "/second"
        try serve.writeConfig(folders: ["a"], interval: "1h", extraConfig: IngestDoorCheck.config([ingestPython, script, first]),
                              sourceExtra: ", bwlimit: 300")
        try serve.makeFiles("a", count: 3, size: 2_000)
        try serve.makeFiles("a", count: 1, size: 3_000_000, prefix: "zbig")
        try serve.makeFiles("b", count: 2, size: 1_000)
        try serve.start()
        let watcher = try SocketClient(path: serve.socket)
        watcher.send(#"{"cmd":"attach","since":0}"#)
        // Mid-cycle: the big file is on its way.
        let midCycle = watcher.collect(until: { event in
            event.type == "progress" && ((event["overall"] as? [String: Any])?.int("bytes_done") ?? 0) > 100_000
        }, timeout: 60)
        try #require(midCycle != nil, "the cycle never got going:\n\(serve.log.suffix(2000))")
        let oldPID = try #require(Self.ingestStatus(serve)["pid"] as? Int, "no ingest: \(serve.log.suffix(2000))")

        try serve.writeConfig(folders: ["a", "b"], interval: "1h", extraConfig: IngestDoorCheck.config([ingestPython, script, second]),
                              sourceExtra: ", bwlimit: 300")
        let reload = try serve.cli(["reload", "--config", serve.configPath])
        #expect(reload.status == 0, "\(reload.stderr)")
        #expect(reload.stdout.contains("1 sources, 2 folders"), "\(reload.stdout)")
        let running = try SocketClient(path: serve.socket).request(#"{"cmd":"status"}"#)
        #expect(running["state"] as? String == "syncing" && running["cycle"] as? Int == 1,
                "the reload came after the cycle: \(running["state"] ?? "-")")

        // The running cycle finishes what it started, and only that.
        let rest = try #require(watcher.collect(until: { $0.type == "cycle_finished" }, timeout: 120), "cycle 1 never finished")
        let cycle1 = (midCycle ?? []) + rest
        let started = cycle1.first { $0.type == "cycle_started" }
        #expect((started?["jobs"] as? [[String: Any]])?.compactMap { $0["job"] as? String } == ["src/a"])
        #expect(cycle1.filter { $0.type == "job_finished" }.compactMap { $0["job"] as? String } == ["src/a"])
        let finished = try #require(cycle1.last)
        #expect(finished["jobs_done"] as? Int == 1 && finished["files"] as? Int == 4, "\(finished)")
        let aFiles = ["f0.png", "f1.png", "f2.png", "zbig0.png"].map { serve.library + "/src/a/" + $0 }
        for path in aFiles {
            #expect(FileManager.default.contentsEqual(atPath: path, andPath: path.replacingOccurrences(of: serve.library + "/src", with: serve.sources)),
                    "\(path) is not the source's copy")
        }
        // The old ingest is gone, the new one ready, and between them they heard of every file of cycle 1.
        #expect(Watch.until(timeout: 30) { kill(pid_t(oldPID), 0) != 0 }, "the old ingest \(oldPID) still runs")
        #expect(Watch.until(timeout: 30) { Set(Self.lines(first) + Self.lines(second)).isSuperset(of: aFiles) },
                "first: \(Self.lines(first)); second: \(Self.lines(second))")
        #expect(Watch.until(timeout: 30) { (Self.ingestStatus(serve)["outbox"] as? Int) == 0 }, "\(Self.ingestStatus(serve))")
        let heardFirst = Self.lines(first).count

        // The next cycle has the new folder; its files go to the new ingest only.
        let trigger = try serve.cli(["trigger", "--config", serve.configPath])
        #expect(trigger.status == 0, "\(trigger.stderr)")
        let cycle2 = try #require(watcher.collect(until: { $0.type == "cycle_finished" }, timeout: 120), "cycle 2 never finished")
        let jobs2 = cycle2.first { $0.type == "cycle_started" }.flatMap { $0["jobs"] as? [[String: Any]] }?.compactMap { $0["job"] as? String }
        #expect(jobs2 == ["src/a", "src/b"], "\(String(describing: jobs2))")
        let bFiles = ["f0.png", "f1.png"].map { serve.library + "/src/b/" + $0 }
        #expect(bFiles.allSatisfy { FileManager.default.fileExists(atPath: $0) })
        #expect(Watch.until(timeout: 30) { Set(Self.lines(second)).isSuperset(of: bFiles) }, "second: \(Self.lines(second))")
        #expect(Self.lines(first).count == heardFirst, "the old ingest heard of files after it was replaced")
    }

    /// An ingest that refuses the protocol is not restarted (a restart would not help); its events wait in
    /// the outbox. Fixed and reloaded with the same config, the ingest starts and gets every one of them.
    @Test func reloadAfterTheIngestRefusedTheProtocolStartsItAgain() throws {
        let serve = try ServeHarness(folders: ["a"])
        defer { serve.stop() }
        let script = serve.root + "/recorder.py"
        try Self.recorder.write(toFile: script, atomically: true, encoding: .utf8)
        let record = serve.root + "/record", marker = serve.root + "/refused-once"
        try serve.writeConfig(folders: ["a"], interval: "1h", extraConfig: IngestDoorCheck.config([ingestPython, script, record, marker]))
        try serve.makeFiles("a", count: 3, size: 500)
        try serve.start()
        let watcher = try SocketClient(path: serve.socket)
        watcher.send(#"{"cmd":"attach","since":0}"#)
        try #require(watcher.collect(until: { $0.type == "cycle_finished" }, timeout: 60) != nil, "\(serve.log.suffix(2000))")
        var status: [String: Any] = [:]
        #expect(Watch.until(timeout: 30) { status = Self.ingestStatus(serve); return status["state"] as? String == "stopped" },
                "the ingest is not `stopped`: \(status)")
        #expect(serve.log.contains("this ingest speaks protocol 2 or later"), "the ingest's reason is not in the log: \(serve.log.suffix(2000))")
        // Three file_synced and the cycle_finished.
        #expect(status["outbox"] as? Int == 4, "the cycle's events wait in the outbox: \(status)")
        // Not restarted: a restart is due 1 s after an exit; give it several.
        usleep(3_000_000)
        #expect(Self.lines(record + ".starts").count == 1, "restarted: \(Self.lines(record + ".starts"))")
        #expect(Self.ingestStatus(serve)["state"] as? String == "stopped")

        // "Install a matching one" (the marker makes the script speak protocol 1 now), then reload.
        let reload = try serve.cli(["reload", "--config", serve.configPath])
        #expect(reload.status == 0, "\(reload.stderr)")
        #expect(Watch.until(timeout: 30) { status = Self.ingestStatus(serve); return status["state"] as? String == "ready" && status["outbox"] as? Int == 0 },
                "after the reload: \(status)")
        let files = (0..<3).map { serve.library + "/src/a/f\($0).png" }
        #expect(Set(Self.lines(record)) == Set(files), "the ingest got: \(Self.lines(record))")
        #expect(Self.lines(record + ".starts").count == 2)
    }
}
