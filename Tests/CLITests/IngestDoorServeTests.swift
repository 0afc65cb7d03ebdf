import Foundation
import Testing

/// The ingest door under `mediasync serve` with thousands of files: the SQLite reference ingest or the
/// supervisor itself SIGKILLed while events are in flight, and every file still reaching the database once.
@Suite struct IngestDoorServeTests {
    static let total = 3000

    /// A serve harness with one folder of `total` small files and the SQLite reference ingest on `db`.
    static func world(_ db: IngestDatabase) throws -> ServeHarness {
        let serve = try ServeHarness(folders: ["a"], extraConfig: IngestDoorCheck.config(db.argv))
        try serve.makeFiles("a", count: total, size: 24)
        return serve
    }

    /// Starts the python watcher that SIGKILLs `pid` (0: the SQLite ingest on `db`) once the database holds
    /// `threshold` rows and, with `outbox` (a supervisor's manifest), while events wait in that outbox: files are
    /// recorded a batch per 100 ms tick, and a kill between a batch's last ack and the next batch finds none.
    static func killer(_ db: IngestDatabase, pid: pid_t, threshold: Int = 300, outbox: String? = nil) throws -> (pid: pid_t, out: String) {
        let script = db.folder + "/killer.py"
        try IngestScripts.killAtRows.write(toFile: script, atomically: true, encoding: .utf8)
        let out = db.folder + "/killer-\(pid).out"
        let child = try Spawn.start([ingestPython, script, db.folder + "/library.sqlite", "\(threshold)", "\(pid)",
                                     "mediasync_ingest_sqlite.py"] + (outbox.map { [$0] } ?? []),
                                    environment: ProcessInfo.processInfo.environment, stdout: out, stderr: out + ".err")
        return (child, out)
    }

    /// Waits for the watcher; the row count it saw and the pids it killed.
    static func killed(_ killer: (pid: pid_t, out: String)) throws -> (rows: Int, pids: [pid_t]) {
        let status = try Spawn.wait(killer.pid, what: "the ingest killer script (\(killer.out))")
        let out = (try? String(contentsOfFile: killer.out, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: killer.out + ".err", encoding: .utf8)) ?? ""
        let fields = out.split(whereSeparator: \.isWhitespace)
        guard status == 0, let rows = fields.first.flatMap({ Int($0) }) else {
            throw SyncTestError("the watcher never saw the rows it waits for (status \(status)): \(out) \(err)")
        }
        return (rows, fields.dropFirst().compactMap { pid_t($0) })
    }

    /// `mediasync status --json`'s `ingest` object (empty when serve does not answer).
    static func ingestStatus(_ serve: ServeHarness) -> [String: Any] {
        guard let result = try? serve.cli(["status", "--config", serve.configPath, "--json"], timeout: 10),
              let object = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else { return [:] }
        return object["ingest"] as? [String: Any] ?? [:]
    }

    /// Waits until every file is a row, the outbox is empty (its table and `status`) and nothing is in flight;
    /// then checks the rows are exactly the library's files.
    static func expectAllDelivered(_ serve: ServeHarness, _ db: IngestDatabase, timeout: Double = 60,
                                   sourceLocation: SourceLocation = #_sourceLocation) throws {
        var last: (rows: Int, outbox: Int, ingest: [String: Any]) = (-1, -1, [:])
        let done = Watch.until(timeout: timeout) {
            last = ((try? db.count()) ?? -1, (try? IngestDoorCheck.outboxCount(stateDir: serve.root + "/state")) ?? -1,
                    ingestStatus(serve))
            if last.rows == total && last.outbox == 0 && last.ingest["in_flight"] as? Int == 0
                && last.ingest["outbox"] as? Int == 0 { return true }
            usleep(200_000)
            return false
        }
        #expect(done, "rows \(last.rows), outbox \(last.outbox), ingest \(last.ingest); log:\n\(serve.log.suffix(3000))",
                sourceLocation: sourceLocation)
        #expect(last.ingest["state"] as? String == "ready", sourceLocation: sourceLocation)
        let rows = try db.query("SELECT \(db.hexPath) FROM media_files")
        #expect(rows.count == total && Set(rows).count == total, "each file exactly once", sourceLocation: sourceLocation)
        let files = (try FileManager.default.contentsOfDirectory(atPath: serve.library + "/src/a"))
            .map { IngestDoorCheck.hex(serve.library + "/src/a/" + $0) }
        #expect(files.count == total, sourceLocation: sourceLocation)
        #expect(Set(rows) == Set(files), "the rows are the library's files", sourceLocation: sourceLocation)
    }

    @Test func anIngestKilledMidBatchIsRestartedAndEveryFileArrivesOnce() throws {
        let db = try IngestBackend.sqlite.open()
        defer { db.close() }
        let serve = try Self.world(db)
        defer { serve.stop() }
        let killer = try Self.killer(db, pid: 0)
        try serve.start()
        let (seen, victims) = try Self.killed(killer)
        try #require(victims.count == 1, "one ingest to kill, found \(victims)")
        try #require(seen < Self.total, "the kill came after every file was committed; nothing was in flight")

        try Self.expectAllDelivered(serve, db)
        let now = Self.ingestStatus(serve)
        #expect(now["pid"] as? Int != nil && now["pid"] as? Int != Int(victims[0]), "a new ingest runs: \(now)")
        let log = serve.log
        #expect(log.contains("(pid \(victims[0])) exited") && log.contains("restarting it in 1 s"),
                "no log line about the ingest's exit and restart:\n\(log.suffix(3000))")
    }

    @Test func aSupervisorKilledMidBatchLeavesNoIngestAndTheNextOneDeliversTheRest() throws {
        let db = try IngestBackend.sqlite.open()
        defer { db.close() }
        let serve = try Self.world(db)
        defer { serve.stop() }
        try serve.start(waitForSocket: false)
        let killer = try Self.killer(db, pid: serve.pid, outbox: serve.root + "/state/manifest.sqlite")
        let (seen, _) = try Self.killed(killer)
        try #require(seen < Self.total, "the kill came after every file was committed; nothing was in flight")
        #expect(serve.exitStatus(timeout: 5) == 128 + SIGKILL)

        // The orphaned ingest reads EOF on stdin, commits what it holds and exits by itself.
        let ingestGone = Watch.until(timeout: 10) {
            Watch.processes(containing: "mediasync_ingest_sqlite.py").contains { pid in
                let cmdline = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
                return String(decoding: cmdline, as: UTF8.self).contains(db.folder)
            } == false
        }
        #expect(ingestGone, "the ingest of a killed supervisor is still running")
        #expect(try IngestDoorCheck.outboxCount(stateDir: serve.root + "/state") > 0, "events were waiting")

        try serve.start()
        try Self.expectAllDelivered(serve, db)
        #expect(serve.log.contains("wait in the outbox from before; they are sent first"), "\(serve.log.suffix(3000))")
    }
}
