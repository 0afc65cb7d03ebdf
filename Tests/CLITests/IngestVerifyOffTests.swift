import Foundation
import Testing

/// `ingest.verify_before_purge` decides whether the ingest's word is needed before a source file goes
/// (docs/config.md). With an ingest that takes every event but cannot answer `verify`, the default keeps every
/// file (`not_committed`) and says why; `false` purges what is safely in the library without asking.
extension IngestDoorSyncTests {
    /// Acks every event, offers no `verify`, and records each request type it gets.
    static let acksWithoutVerify = """
        import json, sys
        sys.stdin.readline()
        sys.stdout.write(json.dumps({"type": "ready", "protocol": 1, "capabilities": ["metadata"]}) + "\\n")
        sys.stdout.flush()
        for line in sys.stdin:
            event = json.loads(line)
            with open(sys.argv[1], "a") as f:
                f.write(event.get("type", "?") + "\\n")
            if "id" in event and event.get("type") != "verify":
                sys.stdout.write(json.dumps({"ack": event["id"]}) + "\\n")
                sys.stdout.flush()

        """

    @Test(arguments: [true, false])
    func verifyBeforePurgeDecidesWhetherTheIngestIsAsked(verify: Bool) throws {
        let world = try SyncWorld()
        let script = world.root + "/acker.py"
        let record = world.root + "/requests"
        try Self.acksWithoutVerify.write(toFile: script, atomically: true, encoding: .utf8)
        let ingest = IngestDoorCheck.config([ingestPython, script, record], extra: "verify_before_purge: \(verify)")
        try world.writeConfig(sources: [("src", ["out"], "")], top: Self.top + [ingest])
        let names = ["a.png", "day/b.png", "c.txt"]
        for (index, name) in names.enumerated() {
            try RawFS.write(world.source("out/" + name), TinyPNG.make(width: 3, height: 2, shade: UInt8(index)), mtime: Self.aged)
        }

        let run = try world.sync(timeout: 90)
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(Set(run.of("file_synced").compactMap { $0["path"] as? String }) == Set(names))
        let requests = ((try? String(contentsOfFile: record, encoding: .utf8)) ?? "").split(separator: "\n")
        #expect(requests.filter { $0 == "file_synced" }.count == names.count, "the ingest heard of every file: \(requests)")
        #expect(!requests.contains("verify"), "a verify went to an ingest that does not offer it: \(requests)")
        let logs = run.of("log").compactMap { $0["message"] as? String }
        if verify {
            // Nobody can confirm: every file stays, with the reason, and the log says what to change.
            #expect(run.of("file_purged").isEmpty, "\(run.of("file_purged"))")
            let kept = run.of("file_kept")
            #expect(kept.count == names.count && kept.allSatisfy { $0["reason"] as? String == "not_committed" },
                    "kept: \(kept)")
            #expect(logs.contains { $0.contains("does not answer verify") && $0.contains("verify_before_purge") }, "\(logs)")
            for name in names { #expect(RawFS.exists(world.source("out/" + name)), "\(name) was purged unconfirmed") }
        } else {
            // Not asked: what is home, as the purge checks it, goes.
            #expect(Set(run.of("file_purged").compactMap { $0["path"] as? String }) == Set(names), "kept: \(run.of("file_kept"))")
            for name in names {
                #expect(!RawFS.exists(world.source("out/" + name)), "\(name) is still on the source")
                #expect(RawFS.read(world.inLibrary("src/out/" + name)) != nil, "\(name) is gone from the source and the library")
            }
            #expect(requests.filter { $0 == "file_purged" }.count == names.count, "the ingest heard of every purge: \(requests)")
        }
    }
}
