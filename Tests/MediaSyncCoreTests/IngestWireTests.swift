import Foundation
import MediaSyncCore
import Testing

/// The ingest protocol's wire format on mediasync's side: what the child's lines mean (a wrong reading
/// would drop acks or purge a file the ingest did not confirm), and the event lines framed from the outbox.
@Suite("ingest wire format")
struct IngestWireTests {
    func parse(_ text: String) -> Result<IngestReply, IngestProtocolError> { IngestReply.parse(Array(text.utf8)) }

    @Test("ready, acks (one or a batch), verify answers and errors are read as the protocol says")
    func repliesAreRead() throws {
        #expect(try parse(#"{"type":"ready","protocol":1,"capabilities":["metadata","verify"]}"#).get()
            == .ready(protocol: 1, capabilities: ["metadata", "verify"]))
        #expect(try parse(#"{"ack":1042}"#).get() == .ack([1042]))
        #expect(try parse(#"{"ack":[7,8,9]}"#).get() == .ack([7, 8, 9]))
        #expect(try parse(#"{"id":17,"committed":true}"#).get() == .verified(id: 17, committed: true))
        #expect(try parse(#"{"committed":false,"id":3,"extra":{"x":1}}"#).get() == .verified(id: 3, committed: false))
        #expect(try parse(#"{"type":"error","message":"this ingest speaks protocol 2 or later"}"#).get()
            == .error("this ingest speaks protocol 2 or later"))
        // Unknown fields and types are a newer ingest talking: ignored, never a restart.
        #expect(try parse(#"{"type":"stats","rows":5}"#).get() == .unknown("an object of type stats"))
    }

    @Test("garbage is a protocol error that quotes the line; a non-boolean committed never counts as yes")
    func garbageIsNamed() {
        for line in ["Traceback (most recent call last):", "[1,2]", "42", #"{"ack":"12"}"#, #"{"id":1,"committed":1}"#,
                     #"{"id":1,"committed":"true"}"#, #"{"committed":true}"#, #"{"type":"ready"}"#] {
            guard case let .failure(problem) = parse(line) else {
                Issue.record("accepted \(line)")
                continue
            }
            #expect(!problem.description.isEmpty)
        }
        guard case let .failure(problem) = parse("Traceback (most recent call last):") else { return }
        #expect(problem.description.contains(#""Traceback (most recent call last):""#))
        // Control characters from a broken child cannot corrupt the log line.
        #expect(IngestReply.quote(Array("a\u{1b}[2Jb\n".utf8)) == #""a\u{1b}[2Jb\u{a}""#)
        #expect(IngestReply.quote(Array(repeating: UInt8(ascii: "x"), count: 500)).count == 203, "200 bytes, quotes and an ellipsis")
    }

    @Test("an event framed from the outbox is the documented line: v and id first, fields, metadata last")
    func outboxFraming() throws {
        let job = EventJob(source: "forge", folder: "txt2img-images")
        let body = EventBody.fileSynced(cycle: 3, FileSynced(job: job, path: Array("a\nb.png".utf8),
                                                              libraryPath: Array("/srv/media/forge/a\nb.png".utf8),
                                                              size: 10, mtime: 1_795_690_000))
        let entry = try #require(OutboxEntry.make(body, timeMs: 1_795_690_000_123))
        #expect(entry.metadataPath == Array("/srv/media/forge/a\nb.png".utf8))
        let meta = MediaMetadata(kind: .image, format: "png", size: 10, sha256: String(repeating: "a", count: 64))
        let line = IngestLine.event(id: 42, body: entry.body, metadata: meta.json())
        #expect(line.last == 0x0A)
        #expect(line.dropLast().contains(0x0A) == false, "a newline in a name must be escaped")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        #expect(object["id"] as? Int == 42)
        #expect(object["type"] as? String == "file_synced")
        #expect(object["library_path"] as? String == "/srv/media/forge/a\nb.png")
        #expect(object["time"] as? String == "2026-11-26T10:46:40.123Z")
        #expect((object["metadata"] as? [String: Any])?["sha256"] as? String == String(repeating: "a", count: 64))
        #expect(String(decoding: line, as: UTF8.self).hasPrefix(#"{"v":1,"id":42,"time":"#))
        // Without the metadata capability the same event goes without it.
        let bare = try #require(try JSONSerialization.jsonObject(with: Data(IngestLine.event(id: 42, body: entry.body))) as? [String: Any])
        #expect(bare["metadata"] == nil && bare["size"] as? Int == 10)
    }

    @Test("only file_synced, real file_purged (with the library path) and cycle_finished reach the outbox")
    func whatIsStored() throws {
        let job = EventJob(source: "s", folder: "f")
        let purged = EventBody.filePurged(cycle: 1, job: job, path: Array("x.png".utf8), size: 5, ageS: 90_000, dryRun: false)
        let entry = try #require(OutboxEntry.make(purged, timeMs: 0, libraryPath: Array("/lib/s/f/x.png".utf8)))
        #expect(entry.metadataPath == nil)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(IngestLine.event(id: 1, body: entry.body))) as? [String: Any])
        #expect(object["library_path"] as? String == "/lib/s/f/x.png" && object["path"] as? String == "x.png")
        #expect(OutboxEntry.make(.filePurged(cycle: 1, job: job, path: [], size: 5, ageS: 1, dryRun: true), timeMs: 0) == nil)
        #expect(OutboxEntry.make(.cycleFinished(cycle: 1, CycleFinished(jobsDone: 1, jobsFailed: 0, files: 2, bytes: 3, seconds: 1)),
                                 timeMs: 0)?.type == "cycle_finished")
        #expect(OutboxEntry.make(.log(level: "info", message: "m", cycle: nil, job: nil), timeMs: 0) == nil)
        #expect(OutboxEntry.make(.fileKept(cycle: 1, job: job, path: [], reason: "too_young"), timeMs: 0) == nil)
    }

    @Test("the purge keeps what the ingest did not confirm, and says why for files it got no answer for")
    func applyCommitted() {
        func deletion(_ name: String) -> PurgePlan.Deletion {
            PurgePlan.Deletion(path: Array(name.utf8), size: 1, mtime: 1, libraryPath: Array("lib/\(name)".utf8), ageSeconds: 100_000)
        }
        var plan = PurgePlan(deletions: [deletion("yes.png"), deletion("no.png"), deletion("silent.png")])
        plan.applyCommitted({ path in
            switch String(decoding: path, as: UTF8.self) {
            case "lib/yes.png": true
            case "lib/no.png": false
            default: nil
            }
        }, noAnswer: "the ingest did not answer within 10 s")
        #expect(plan.deletions.map(\.path) == [Array("yes.png".utf8)])
        #expect(plan.kept.map(\.reason) == [.notCommitted, .notCommitted])
        #expect(plan.kept.first { $0.path == Array("no.png".utf8) }?.detail == "the ingest has not committed lib/no.png")
        #expect(plan.kept.first { $0.path == Array("silent.png".utf8) }?.detail == "the ingest did not answer within 10 s for lib/silent.png")
    }

    @Test("outbox_limit is read, defaulted and range-checked")
    func outboxLimitConfig() throws {
        let base = "library: /srv/media\nsources: [{name: a, transport: local, root: /data, folders: [out]}]\n"
        #expect(try parseConfig(base + "ingest: {command: [/bin/ingest]}").ingest?.outboxLimit == 100_000)
        #expect(try parseConfig(base + "ingest: {command: [/bin/ingest], outbox_limit: 500}").ingest?.outboxLimit == 500)
        #expect(throws: (any Error).self) { try parseConfig(base + "ingest: {command: [/bin/ingest], outbox_limit: 3}") }
        #expect(throws: (any Error).self) { try parseConfig(base + "ingest: {command: [/bin/ingest], outbox_limit: lots}") }
    }
}
