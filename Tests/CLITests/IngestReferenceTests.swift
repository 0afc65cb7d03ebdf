import Foundation
import Testing

/// The reference ingests in contrib/ingest, run as the supervisor runs them (pipes, JSON lines) against a real
/// SQLite file and a private PostgreSQL server.
@Suite struct IngestReferenceTests {
    /// A whole session: handshake, 1000 files (one not UTF-8), redelivery, purge, verify, stop.
    @Test(arguments: IngestBackend.allCases)
    func session(_ backend: IngestBackend) throws {
        let db = try backend.open()
        defer { db.close() }
        let child = try db.start(log: "session")

        let ready = try child.send(IngestScript.hello, expecting: 1)[0]
        #expect(ready.type == "ready" && ready.protocolVersion == 1)
        #expect(ready.capabilities == ["metadata", "verify"], "only the offered capabilities it supports")

        let acks = try child.send(IngestScript.fileSynced(ids: 1...1000), expecting: 1000)
        #expect(acks.map(\.ack) == Array(1...1000), "one ack per event, in order")
        #expect(try db.count() == 1000)
        #expect(try db.row(42) == "1000042|\(IngestScript.sha256(42))|832|1216|kept", "metadata stored")
        #expect(try db.count("\(db.parameters) LIKE '%Seed: 42'") == 1, "the PNG parameters text is stored")
        #expect(try db.count("\(db.parameters) LIKE 'a cat_Steps: 20, Seed: %'") == 1000, "with its newline")
        // File 107's name is Latin-1: the row holds its exact bytes, found by them.
        #expect(try db.row(107) == "1000107|\(IngestScript.sha256(107))|832|1216|kept")

        // The supervisor resends whatever it has no ack for: the table must not grow.
        let again = try child.send(IngestScript.fileSynced(ids: 1...1000), expecting: 1000)
        #expect(again.map(\.ack) == Array(1...1000))
        #expect(try db.count() == 1000, "redelivery is an upsert, not a second row")

        let purged = try child.send(IngestScript.filePurged(id: 1001, index: 5), expecting: 1)
        #expect(purged.map(\.ack) == [1001])
        #expect(try db.row(5) == "1000005|\(IngestScript.sha256(5))|832|1216|purged")
        #expect(try db.count("purged_at IS NOT NULL") == 1, "only that file is marked")

        // A redelivered file_synced of the purged file keeps the mark: same content, same file.
        _ = try child.send(IngestScript.fileSynced(id: 5, index: 5), expecting: 1)
        #expect(try db.row(5)?.hasSuffix("|purged") == true)

        let questions: [(index: Int, size: Int, sha: String?, committed: Bool, why: String)] = [
            (10, IngestScript.size(10), IngestScript.sha256(10), true, "size and sha256 match"),
            (10, IngestScript.size(10), nil, true, "size matches, no sha256 asked"),
            (107, IngestScript.size(107), IngestScript.sha256(107), true, "a name that is not UTF-8, by its bytes"),
            (10, IngestScript.size(10) + 1, nil, false, "wrong size"),
            (10, IngestScript.size(10), IngestScript.sha256(11), false, "wrong sha256"),
            (5, IngestScript.size(5), nil, false, "purged"),
            (5000, IngestScript.size(5000), nil, false, "never synced"),
        ]
        let verifies = questions.enumerated().flatMap { n, q in
            IngestScript.verify(id: 2000 + n, index: q.index, size: q.size, sha256: q.sha)
        }
        let answers = try child.send(verifies, expecting: questions.count)
        for (n, q) in questions.enumerated() {
            #expect(answers[n].id == 2000 + n && answers[n].committed == q.committed, "verify: \(q.why)")
        }

        // Types it does not know are acked (or the supervisor would resend them forever); cycle_finished too.
        let other = IngestScript.line(#"{"v":1,"seq":9,"type":"file_tagged","id":3001,"tag":"cats"}"#)
            + IngestScript.line(#"{"v":1,"seq":10,"type":"cycle_finished","id":3002,"cycle":3,"jobs_done":1,"jobs_failed":0,"files":1000,"bytes":1,"seconds":1.5}"#)
        #expect(try child.send(other, expecting: 2).map(\.ack) == [3001, 3002])

        #expect(try child.finish() == 0, "closing stdin is a normal stop; log:\n\(child.log)")
        #expect(try db.count() == 1000)
    }

    /// A video's metadata (format, duration, ComfyUI's prompt and workflow) is stored, also in a table made
    /// before those columns existed (the ingest adds them when it starts).
    @Test(arguments: IngestBackend.allCases)
    func videoMetadataInATableFromBefore(_ backend: IngestBackend) throws {
        let db = try backend.open()
        defer { db.close() }
        let first = try db.start(log: "old-table")
        _ = try first.send(IngestScript.hello, expecting: 1)
        #expect(try first.finish() == 0, "log:\n\(first.log)")
        _ = try db.query("ALTER TABLE media_files DROP COLUMN duration")
        _ = try db.query("ALTER TABLE media_files DROP COLUMN format")
        #expect(throws: (any Error).self, "the column is gone") {
            try db.query("SELECT count(*) FROM media_files WHERE duration IS NULL")
        }

        let child = try db.start(log: "video")
        _ = try child.send(IngestScript.hello, expecting: 1)
        let relative = String(decoding: IngestScript.libraryPath(1).split(separator: 0x2F).last!, as: UTF8.self)
        let video = IngestScript.line(#"{"v":1,"seq":1,"time":"2026-11-26T11:46:41.823Z","type":"file_synced","id":1,"#
            + #""cycle":3,"job":"comfy/output","source":"comfy","folder":"output","path":"\#(relative)","#
            + #"\#(IngestScript.pathFields(1)),"size":5877,"mtime":1795690000,"metadata":{"kind":"video","#
            + #""format":"webm","size":5877,"sha256":"\#(IngestScript.sha256(1))","width":64,"height":48,"#
            + #""duration":1.5,"prompt":"{\"3\":{\"class_type\":\"KSampler\"}}","workflow":"{\"nodes\":[]}","#
            + #""texts":{"encoder":"Lavf59.27.100"}}}"#)
        #expect(try child.send(video, expecting: 1).map(\.ack) == [1])
        #expect(try child.finish() == 0, "log:\n\(child.log)")
        #expect(try db.query("SELECT format, duration, width, height FROM media_files WHERE \(db.whereFile(1))")
            == ["webm|1.5|64|48"])
        let prompt = backend == .sqlite ? "json_extract(texts, '$.prompt')" : "texts->>'prompt'"
        let encoder = backend == .sqlite ? "json_extract(texts, '$.encoder')" : "texts->>'encoder'"
        #expect(try db.query("SELECT \(prompt), \(encoder) FROM media_files")
            == [#"{"3":{"class_type":"KSampler"}}|Lavf59.27.100"#])
    }

    /// A line that is not the protocol stops the ingest with a non-zero status (the supervisor restarts it),
    /// after committing and acking what came before it.
    @Test(arguments: IngestBackend.allCases)
    func garbageStops(_ backend: IngestBackend) throws {
        let db = try backend.open()
        defer { db.close() }
        let child = try db.start(log: "garbage")
        _ = try child.send(IngestScript.hello, expecting: 1)
        let replies = try child.exchange(IngestScript.fileSynced(ids: 1...3) + IngestScript.line("this is not json")) { _ in false }
        #expect(replies.replies.map(\.ack) == [1, 2, 3])
        let status = try child.waitForExit()
        #expect(status != 0 && status < 128, "a protocol error is an exit status, not a crash: \(status)")
        #expect(child.log.contains("not JSON"), "the log says what was wrong: \(child.log)")
        #expect(try db.count() == 3)
    }

    /// SIGKILL in the middle of thousands of events in flight, then the supervisor's redelivery of every
    /// unacked event: every acked event was committed, and each file ends up exactly once.
    @Test(arguments: IngestBackend.allCases)
    func killedMidBatchThenRedelivered(_ backend: IngestBackend) throws {
        let total = 5000
        let db = try backend.open()
        defer { db.close() }
        let first = try db.start(log: "first")
        _ = try first.send(IngestScript.hello, expecting: 1)
        let sent = try first.exchange(IngestScript.fileSynced(ids: 1...total)) { $0.count >= 500 }
        kill(first.pid, SIGKILL)
        let acked = (sent.replies + (try first.drainAndWait())).compactMap(\.ack)
        #expect(try first.waitForExit() == 128 + SIGKILL)
        try #require(acked.count < total, "the kill came after every event was acked; nothing was in flight")
        #expect(acked == Array(1...acked.count), "acks come in order")

        // An ack is a promise: each acked file is in the table before anyone resends anything.
        let stored = Set(try db.query("SELECT \(db.hexPath) FROM media_files"))
        let missing = acked.filter { !stored.contains(IngestScript.hex(IngestScript.libraryPath($0))) }
        #expect(missing.count == 0, "acked but not committed, first ones: \(missing.prefix(10))")

        let second = try db.start(log: "second")
        _ = try second.send(IngestScript.hello, expecting: 1)
        let unacked = Array((acked.count + 1)...total)
        let redelivered = try second.send(unacked.flatMap { IngestScript.fileSynced(id: $0, index: $0) },
                                          expecting: unacked.count)
        #expect(redelivered.map(\.ack) == unacked)
        #expect(try second.finish() == 0)

        let rows = try db.query("SELECT \(db.hexPath) FROM media_files")
        #expect(rows.count == total, "each file exactly once")
        let lost = Set((1...total).map { IngestScript.hex(IngestScript.libraryPath($0)) }).subtracting(rows)
        #expect(lost.count == 0, "files missing from the table")
    }
}
