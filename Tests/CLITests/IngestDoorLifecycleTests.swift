import Foundation
import Testing

/// The ingest under serve over its lifetime: a reload that points `ingest` at another program (the old one is
/// stopped, new events go to the new one, no restart of serve), and stopping serve (the ingest ends with it).
extension IngestDoorServeTests {
    @Test func aReloadSwitchesToTheNewIngest() throws {
        let first = try IngestBackend.sqlite.open()
        defer { first.close() }
        let second = try IngestBackend.sqlite.open()
        defer { second.close() }
        let serve = try ServeHarness(folders: ["a"], extraConfig: IngestDoorCheck.config(first.argv))
        try serve.makeFiles("a", count: 10, size: 24)
        try serve.start()
        defer { serve.stop() }
        #expect(Watch.until(timeout: 30) { (try? first.count()) == 10 }, "log:\n\(serve.log.suffix(2000))")
        let oldPID = try #require(Self.ingestStatus(serve)["pid"] as? Int)

        try serve.writeConfig(folders: ["a"], interval: "1h", extraConfig: IngestDoorCheck.config(second.argv))
        let reload = try serve.cli(["reload", "--config", serve.configPath])
        #expect(reload.status == 0, "\(reload.stderr)")
        var status: [String: Any] = [:]
        #expect(Watch.until(timeout: 15) {
            status = Self.ingestStatus(serve)
            return status["state"] as? String == "ready" && (status["pid"] as? Int).map { $0 != oldPID } == true
        }, "status \(status)")
        // People see it in `mediasync status` too.
        let table = try serve.cli(["status", "--config", serve.configPath])
        #expect(table.stdout.contains("ingest:      ready (pid \(status["pid"] as? Int ?? -1)), 0 events waiting"), "\(table.stdout)")
        // The old ingest got end-of-input and exited.
        #expect(Watch.until(timeout: 15) { kill(pid_t(oldPID), 0) != 0 }, "the old ingest \(oldPID) is still running")

        try serve.makeFiles("a", count: 5, size: 24, prefix: "g")
        let trigger = try serve.cli(["trigger", "--config", serve.configPath])
        #expect(trigger.status == 0, "\(trigger.stderr)")
        #expect(Watch.until(timeout: 30) { (try? second.count()) == 5 }, "log:\n\(serve.log.suffix(2000))")
        #expect(try first.count() == 10, "the old ingest must not get the new files")
        #expect(serve.log.contains("ingest: started"))
    }
}

/// Stopping serve stops its ingest cleanly: the child gets end-of-input, commits, exits; serve exits 0.
extension IngestDoorServeTests {
    @Test func sigtermEndsTheIngestWithServe() throws {
        let db = try IngestBackend.sqlite.open()
        defer { db.close() }
        let serve = try ServeHarness(folders: ["a"], extraConfig: IngestDoorCheck.config(db.argv))
        try serve.makeFiles("a", count: 5, size: 24)
        try serve.start()
        defer { serve.stop() }
        #expect(Watch.until(timeout: 30) { (try? db.count()) == 5 }, "log:\n\(serve.log.suffix(2000))")
        let ingestPID = try #require(Self.ingestStatus(serve)["pid"] as? Int)
        serve.signal(SIGTERM)
        #expect(serve.exitStatus(timeout: 30) == 0, "log:\n\(serve.log.suffix(2000))")
        #expect(kill(pid_t(ingestPID), 0) != 0, "the ingest \(ingestPID) outlived serve")
        // The ingest exits at end of input; nobody waits out the 10 s grace: serve logs it when it does.
        #expect(!serve.log.contains("did not exit within"), "the ingest needed SIGTERM: \(serve.log.suffix(1500))")
    }
}

/// A purge waiting for verify answers does not hold up a stop: SIGTERM ends serve at once, without waiting
/// out the verify timeout, and nothing was deleted without an answer.
extension IngestDoorServeTests {
    /// Like `IngestScripts.neverAcks`, and says on stderr (serve's log) when a verify request came.
    static let silentVerifier = """
        import json, sys
        sys.stdin.readline()
        sys.stdout.write(json.dumps({"type": "ready", "protocol": 1, "capabilities": ["metadata", "verify"]}) + "\\n")
        sys.stdout.flush()
        print("silent ingest: ready, acking nothing", file=sys.stderr, flush=True)
        for line in sys.stdin:
            if json.loads(line).get("type") == "verify":
                print("silent ingest: got verify", file=sys.stderr, flush=True)

        """

    @Test func sigtermDuringAPurgeWaitingForVerify() throws {
        let serve = try ServeHarness(folders: ["a"], extraConfig: "purge: {enabled: true, min_age: 1m}")
        let script = serve.root + "/silent.py"
        try Self.silentVerifier.write(toFile: script, atomically: true, encoding: .utf8)
        try serve.writeConfig(folders: ["a"], interval: "1h",
                              extraConfig: "purge: {enabled: true, min_age: 1m}\n" + IngestDoorCheck.config([ingestPython, script]))
        try serve.makeFiles("a", count: 5, size: 24)  // an hour old: past min_age
        try serve.start()
        defer { serve.stop() }
        // The cycle's purge asks about its files (after a 5 s hold for acks that never come) and then waits
        // for answers that never come (10 s).
        #expect(Watch.until(timeout: 60) { serve.log.contains("silent ingest: got verify") },
                "no verify request reached the ingest; log:\n\(serve.log.suffix(2000))")
        serve.signal(SIGTERM)
        #expect(serve.exitStatus(timeout: 30) == 0, "log:\n\(serve.log.suffix(2000))")
        // Stopping answered the waiting purge at once ("keep"): had it waited out the verify timeout, serve
        // would have logged the requests that got no answer. Order, not elapsed time, so load cannot fail it.
        #expect(!serve.log.contains("got no answer within"), "stopping waited for the verify timeout: \(serve.log.suffix(2000))")
        #expect(!serve.log.contains("did not exit within"), "the ingest needed SIGTERM: \(serve.log.suffix(1500))")
        for i in 0..<5 { #expect(FileManager.default.fileExists(atPath: serve.sources + "/a/f\(i).png")) }
    }
}
