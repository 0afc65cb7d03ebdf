import Foundation
import Testing

/// Ctrl-C (SIGINT) and `kill` (SIGTERM) to the one-shot commands a person runs by hand: `sync`, `purge` and
/// `backfill`. Each stops promptly with a status that says it did not finish, leaves no child running, and
/// loses nothing: what was done is recorded, what was not is done by the next run.
@Suite struct OneShotSignalTests {
    static let aged = Int(Date().timeIntervalSince1970) - 2 * 86_400

    /// Bytes that do not compress, so `bwlimit` paces the copy.
    static func noise(_ count: Int, seed: UInt32) -> [UInt8] {
        var x = seed | 1
        return (0..<count).map { _ in x ^= x << 13; x ^= x >> 17; x ^= x << 5; return UInt8(truncatingIfNeeded: x) }
    }

    /// Everything this test started that is still running: its children name its temp folder.
    static func leftovers(_ world: SyncWorld, besides pid: pid_t) -> [pid_t] {
        Watch.processes(containing: world.root).filter { $0 != pid && $0 != getpid() }
    }

    /// `sync` stopped in the middle of a slow file: the files already home are there and recorded, the source
    /// is untouched (no purge after an unfinished sync), the half-copied file waits in the partial dir, and the
    /// next run brings the rest.
    @Test(arguments: [SIGINT, SIGTERM])
    func syncStopsMidFileAndTheNextRunFinishes(signal: Int32) throws {
        let world = try SyncWorld()
        try world.writeConfig(sources: [("src", ["out"], "bwlimit: 400")],
                              top: ["settle: 0s", "retry: {attempts: 1, backoff: 1s}", "purge: {enabled: true, min_age: 1s}"])
        var contents: [String: [UInt8]] = [:]
        for (index, name) in ["a.png", "b.png", "big.png", "seed.png"].enumerated() {
            contents[name] = Self.noise(name == "big.png" ? 6_000_000 : 3_000, seed: UInt32(index + 7))
            try RawFS.write(world.source("out/" + name), contents[name]!, mtime: Self.aged)
        }
        // The library already holds another seed.png: that file goes beside it (seed~2.png), so the job runs
        // through staging, whose partial folder keeps an unfinished file for the next run (a job of only new
        // names is placed by rsync itself and keeps none: SupervisorRobustnessTests).
        try RawFS.write(world.inLibrary("src/out/seed.png"), Array("the user's own seed.png".utf8), mtime: Self.aged)
        let running = try world.start()
        // Mid-file: more than a second of the big file is in, most of it is not.
        let midFile = Watch.until(timeout: 60) {
            running.eventsSoFar().contains { event in
                guard event["type"] as? String == "progress", let overall = event["overall"] as? [String: Any] else { return false }
                return (overall["bytes_done"] as? Int ?? 0) > 500_000 || running.poll() != nil
            }
        }
        try #require(midFile && running.poll() == nil, "the copy never got going: \(running.eventsSoFar().suffix(3))")
        kill(running.pid, signal)
        let run = try running.finish(timeout: 60)

        #expect(run.status == 1, "an unfinished sync is not a success: status \(run.status); stderr: \(run.stderr)")
        run.checkEnvelope(jobs: 1)
        let finished = try #require(run.of("job_finished").first)
        #expect(finished["state"] as? String == "failed", "\(finished)")
        #expect(Watch.until(timeout: 10) { Self.leftovers(world, besides: running.pid).isEmpty },
                "left running: \(Self.leftovers(world, besides: running.pid))")
        // Nothing purged after an unfinished sync; every source file is still there.
        #expect(run.of("file_purged").isEmpty)
        for (name, content) in contents { #expect(RawFS.read(world.source("out/" + name)) == content, "\(name) changed at the source") }
        // What arrived is whole and has its final name; the big file has not.
        for event in run.of("file_synced") {
            let path = try #require(event["path"] as? String), home = try #require(event["library_path"] as? String)
            #expect(RawFS.read(Array(home.utf8)) == contents[path], "\(path) in the library (\(home)) is not the source's bytes")
        }
        #expect(!RawFS.exists(world.inLibrary("src/out/big.png")), "a partial big.png has its final name")
        let partial = world.library + "/.mediasync/staging/src/out/.mediasync-partial/big.png"
        var info = stat()
        #expect(stat(partial, &info) == 0 && info.st_size > 0 && info.st_size < 6_000_000,
                "the unfinished file is not kept for the next run (\(info.st_size) bytes)")

        // The next run brings the rest, and then purges what is safely home.
        try world.writeConfig(sources: [("src", ["out"], "")],
                              top: ["settle: 0s", "retry: {attempts: 1, backoff: 1s}", "purge: {enabled: true, min_age: 1s}"])
        let next = try world.sync(timeout: 120)
        #expect(next.status == 0, "stderr: \(next.stderr)")
        for (name, content) in contents {
            let home = name == "seed.png" ? "src/out/seed~2.png" : "src/out/" + name
            #expect(RawFS.read(world.inLibrary(home)) == content, "\(name) is not home after the next run")
        }
        #expect(RawFS.read(world.inLibrary("src/out/seed.png")) == Array("the user's own seed.png".utf8))
        #expect(Set(next.of("file_purged").compactMap { $0["path"] as? String }) == Set(contents.keys))
    }

    /// `purge` stopped mid-way (while its output is held, see `HeldStdout`): every file gone from the source has its
    /// library copy, the audit names only files that are gone, and the next purge completes the audit from the
    /// batch's intent and deletes the rest.
    @Test(arguments: [SIGINT, SIGTERM])
    func purgeStopsMidwayAndTheAuditStaysExact(signal: Int32) throws {
        let world = try SyncWorld()
        try world.writeConfig(sources: [("src", ["out"], "")], top: SyncPurgeTests.top + [SyncPurgeTests.purgeOn])
        var names: [String] = []
        var content: [String: [UInt8]] = [:]
        for index in 0..<2_000 {
            let name = String(format: "d%02d/%05d.png", index % 10, index)
            names.append(name)
            content[name] = Array("file \(index)".utf8)
            try RawFS.write(world.source("out/" + name), content[name]!, mtime: SyncPurgeTests.aged)
        }
        let synced = try world.sync(["--no-purge"], timeout: 120)
        try #require(synced.status == 0, "stderr: \(synced.stderr)")

        // Signalled at a fixed point: its events' stdout is full (a 4 KiB pipe nobody reads), so its loop is held
        // mid-way through the first folder's batch (10 sub-folders, 10 batches); the signal waits for the loop,
        // which comes back to it once the pipe is read. (A local source's files are deleted in the process: no
        // rm or script to hook.)
        let held = try HeldStdout(at: world.root + "/purge.fifo")
        defer { held.close() }
        let out = world.root + "/purge.out"
        var env = ProcessInfo.processInfo.environment
        env["HOME"] = world.root
        let pid = try Spawn.start([try CLIRunner.binary(), "purge", "--config", world.configPath, "--json"],
                                  environment: env, stdout: held.path, stderr: out + ".err")
        let blocked = Watch.until(timeout: 60) { HeldStdout.isBlockedWriting(pid) }
        try #require(blocked, "the purge never blocked writing its events")
        kill(pid, signal)
        let stdout = held.drain()
        let status = try Spawn.wait(pid, timeout: 120, what: "mediasync purge (signalled while its stdout was full)")
        let errors = (try? String(contentsOfFile: out + ".err", encoding: .utf8)) ?? ""
        #expect(status == 1, "a stopped purge is not a success: status \(status); stderr: \(errors)")
        #expect(Watch.until(timeout: 10) { Self.leftovers(world, besides: pid).isEmpty },
                "left running: \(Self.leftovers(world, besides: pid))")
        let events = SyncResult.parse(stdout)
        #expect(events.contains { $0["type"] as? String == "purge_finished" },
                "no purge_finished event: \(events.suffix(3))")

        func gone() -> Set<String> { Set(names.filter { !RawFS.exists(world.source("out/" + $0)) }) }
        let goneNow = gone()
        #expect(!goneNow.isEmpty && goneNow.count < names.count, "\(goneNow.count) of \(names.count) gone when the purge stopped")
        for name in goneNow {
            #expect(RawFS.read(world.inLibrary("src/out/" + name)) == content[name], "\(name) is gone from the source without its library copy")
        }
        let audit = Set(try SyncPurgeTests.history(world).compactMap { $0["path"] as? String })
        #expect(audit.isSubset(of: goneNow), "the audit names files still there: \(audit.subtracting(goneNow).sorted().prefix(5))")

        let again = try world.sync([], timeout: 300)
        #expect(again.status == 0, "stderr: \(again.stderr)")
        #expect(gone().count == names.count, "the next run did not purge the rest")
        #expect(Set(try SyncPurgeTests.history(world).compactMap { $0["path"] as? String }) == Set(names),
                "after the next run the audit names exactly the deleted files")
    }

    /// `backfill` stopped while the ingest is still taking events: the ingest gets end of input and exits,
    /// every event is either in the ingest's database or still in the outbox, and the next run delivers the rest.
    @Test(arguments: [SIGINT, SIGTERM])
    func backfillStopsAndNothingIsLost(signal: Int32) throws {
        let db = try IngestBackend.sqlite.open()
        defer { db.close() }
        let world = try SyncWorld()
        let top = ["settle: 0s", "retry: {attempts: 1, backoff: 1s}"]
        try world.writeConfig(sources: [("src", ["out"], "")], top: top)
        let count = 40
        for index in 0..<count {
            try RawFS.write(world.source(String(format: "out/f%03d.png", index)), TinyPNG.make(width: 2, height: 2, shade: UInt8(index)),
                            mtime: Self.aged)
        }
        try #require(try world.sync(timeout: 60).status == 0)

        // An ingest that acks the first 10 events, says so (a marker file), then takes its time (1 s per event).
        let script = world.root + "/slow.py"
        let record = world.root + "/acked"
        try """
            import json, sys, time
            sys.stdin.readline()
            sys.stdout.write(json.dumps({"type": "ready", "protocol": 1, "capabilities": []}) + "\\n")
            sys.stdout.flush()
            n = 0
            for line in sys.stdin:
                event = json.loads(line)
                n += 1
                if n > 10:
                    if n == 11:
                        open(sys.argv[1] + ".slow", "w").close()
                    time.sleep(1)
                with open(sys.argv[1], "a") as f:
                    f.write(event.get("library_path", "") + "\\n")
                sys.stdout.write(json.dumps({"ack": event["id"]}) + "\\n")
                sys.stdout.flush()

            """.write(toFile: script, atomically: true, encoding: .utf8)
        try world.writeConfig(sources: [("src", ["out"], "")], top: top + [IngestDoorCheck.config([ingestPython, script, record])])
        let out = world.root + "/backfill.out"
        var env = ProcessInfo.processInfo.environment
        env["HOME"] = world.root
        let pid = try Spawn.start([try CLIRunner.binary(), "backfill", "--config", world.configPath],
                                  environment: env, stdout: out, stderr: out + ".err")
        var early: Int32?
        let slowed = Watch.until(timeout: 60) {
            if let status = Spawn.poll(pid) { early = status; return true }
            return FileManager.default.fileExists(atPath: record + ".slow")
        }
        let log = (try? String(contentsOfFile: out + ".err", encoding: .utf8)) ?? ""
        try #require(slowed && early == nil, "the ingest never got 10 events (backfill status \(String(describing: early))): \(log)")
        kill(pid, signal)
        let status = try Spawn.wait(pid, timeout: 60, what: "mediasync backfill after a signal")
        let stdout = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: out + ".err", encoding: .utf8)) ?? ""
        // Every event was stored for the ingest (nothing dropped): the rest waits in the outbox, and it says so.
        #expect(status == 0, "status \(status); stdout: \(stdout); stderr: \(stderr)")
        #expect(stdout.contains("not yet acknowledged (they stay in the outbox)"), "stdout: \(stdout)")
        #expect(Watch.until(timeout: 10) { Watch.processes(containing: script).isEmpty }, "the ingest outlived backfill")
        #expect(Watch.until(timeout: 10) { Self.leftovers(world, besides: pid).isEmpty },
                "left running: \(Self.leftovers(world, besides: pid))")
        let acked = Set(((try? String(contentsOfFile: record, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init))
        let waiting = try IngestDoorCheck.outboxCount(stateDir: world.stateDir)
        #expect(acked.count >= 10 && acked.count < count, "acked \(acked.count)")
        #expect(acked.count + waiting >= count, "acked \(acked.count) + waiting \(waiting) < \(count): events were lost")

        // The real ingest then gets every file: the outbox first, then backfill's own events (it upserts).
        try world.writeConfig(sources: [("src", ["out"], "")], top: top + [IngestDoorCheck.config(db.argv)])
        let rerun = try CLIRunner().run(["backfill", "--config", world.configPath])
        #expect(rerun.status == 0, "stderr: \(rerun.stderr)")
        #expect(try db.count() == count)
        #expect(try IngestDoorCheck.outboxCount(stateDir: world.stateDir) == 0)
    }
}
