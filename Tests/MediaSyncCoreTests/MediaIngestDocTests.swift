import Foundation
import MediaSyncCore
import Testing

/// Runs the example ingest of docs/ingest-protocol.md on lines made by `IngestLine` from real files: what
/// someone copying the example gets, and proof that the documented shapes are the ones we send.
@Suite struct MediaIngestDocTests {
    private func exampleIngest() throws -> String {
        let doc = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/ingest-protocol.md")
        let text = try String(contentsOf: doc, encoding: .utf8)
        let section = try #require(text.range(of: "## A complete ingest in Python"))
        let start = try #require(text.range(of: "```python\n", range: section.upperBound..<text.endIndex))
        let end = try #require(text.range(of: "\n```", range: start.upperBound..<text.endIndex))
        return String(text[start.upperBound..<end.lowerBound])
    }

    @Test func exampleIngestCommitsAcksDeduplicatesAndVerifies() throws {
        let dir = try mediaTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let forgeURL = dir.appendingPathComponent("00012-3912345.png")
        let parameters = PNGWriter.forgeParameters(prompt: "a lighthouse", seed: 3_912_345, width: 32, height: 32)
        try Data(try PNGWriter.encode(width: 32, height: 32, pixels: PNGWriter.gradient(width: 32, height: 32, seed: 1),
                                      text: [("parameters", parameters)])).write(to: forgeURL)
        let comfyURL = dir.appendingPathComponent("ComfyUI_00001_.png")
        try Data(try comfyUIPNG(seed: 5, chunkTypes: ("tEXt", "zTXt"))).write(to: comfyURL)
        let forge = Array(forgeURL.path.utf8), comfy = Array(comfyURL.path.utf8)
        let forgeMeta = MediaMetadata.read(path: forge), comfyMeta = MediaMetadata.read(path: comfy)
        let job = EventJob(source: "forge", folder: "txt2img-images")

        func synced(_ seq: Int64, _ path: [UInt8], _ meta: MediaMetadata) -> Event {
            Event(seq: seq, timeMs: 1_795_690_000_000 + seq, body: .fileSynced(cycle: 3, FileSynced(
                job: job, path: Array(path.split(separator: UInt8(ascii: "/")).last!), libraryPath: path,
                size: meta.size, mtime: 1_795_690_000)))
        }
        let first = IngestLine.event(synced(4, forge, forgeMeta), id: 1, metadata: forgeMeta)
        var input = IngestLine.hello(version: "0.1.0", pid: 4711)
        input += first
        input += IngestLine.event(synced(5, comfy, comfyMeta), id: 2, metadata: comfyMeta)
        input += first  // redelivered after a lost ack: same id, same bytes
        input += IngestLine.event(Event(seq: 6, timeMs: 1_795_690_001_000, body: .filePurged(
            cycle: 3, job: job, path: Array("00012-3912345.png".utf8), size: forgeMeta.size, ageS: 90_000, dryRun: false)),
            id: 3, libraryPath: forge)
        input += IngestLine.event(Event(seq: 7, timeMs: 1_795_690_002_000, body: .cycleFinished(cycle: 3, CycleFinished(
            jobsDone: 1, jobsFailed: 0, files: 2, bytes: forgeMeta.size + comfyMeta.size, seconds: 1.5))), id: 4)
        input += IngestLine.verify(id: 1, libraryPath: forge, size: forgeMeta.size, sha256: forgeMeta.sha256)
        input += IngestLine.verify(id: 2, libraryPath: forge, size: forgeMeta.size, sha256: String(repeating: "0", count: 64))
        input += IngestLine.verify(id: 3, libraryPath: Array("/srv/media/unknown.png".utf8), size: 1, sha256: nil)
        input += IngestLine.verify(id: 4, libraryPath: comfy, size: comfyMeta.size, sha256: nil)

        let script = dir.appendingPathComponent("ingest.py"), db = dir.appendingPathComponent("media.sqlite")
        try exampleIngest().write(to: script, atomically: true, encoding: .utf8)
        let inputFile = dir.appendingPathComponent("stdin")
        try Data(input).write(to: inputFile)
        let output = try runTool(["sh", "-c", "python3 \"$0\" \"$1\" < \"$2\"", script.path, db.path, inputFile.path])
        let replies = try String(decoding: output, as: UTF8.self).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        try #require(replies.count == 10)
        #expect(replies[0]["type"] as? String == "ready" && replies[0]["protocol"] as? Int == 1)
        #expect(replies[0]["capabilities"] as? [String] == ["batch-ack", "metadata", "verify"])
        #expect(replies[1...5].map { $0["ack"] as? Int } == [1, 2, 1, 3, 4])
        #expect(replies[6...9].map { $0["id"] as? Int } == [1, 2, 3, 4])
        #expect(replies[6...9].map { $0["committed"] as? Bool } == [true, false, false, true])

        // Read with python3's own sqlite3 module (the ingest already needs python3; the sqlite3 program is
        // not on a fresh machine), printed as the sqlite3 shell would: `|` between columns, NULL as nothing.
        let query = """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            for sql in sys.argv[2:]:
                for row in db.execute(sql):
                    print("|".join("" if v is None else str(v) for v in row))
            """
        let rows = String(decoding: try runTool(["python3", "-c", query, db.path,
            "select library_path, sha256, width, parameters is not null, prompt is not null, source_gone from media "
            + "order by library_path", "select count(*) from seen"]), as: UTF8.self)
        #expect(rows == """
            \(forgeURL.path)|\(forgeMeta.sha256!)|32|1|0|1
            \(comfyURL.path)|\(comfyMeta.sha256!)|24|0|1|0
            4

            """)
    }

    @Test func eventLinePutsIdAfterVersionAndMetadataLast() throws {
        let meta = MediaMetadata(kind: .video, format: "mp4", size: 10, sha256: String(repeating: "a", count: 64))
        let event = Event(seq: 9, timeMs: 0, body: .fileSynced(cycle: 1, FileSynced(
            job: EventJob(source: "s", folder: "f"), path: [0x63, 0x61, 0x66, 0xe9], libraryPath: Array("/l/x".utf8),
            size: 10, mtime: 5)))
        let line = String(decoding: IngestLine.event(event, id: 77, metadata: meta), as: UTF8.self)
        #expect(line.hasPrefix(#"{"v":1,"id":77,"time":"1970-01-01T00:00:00.000Z","type":"file_synced","#))
        #expect(line.contains(#""path":"caf�","path_b64":"Y2Fm6Q==""#))
        #expect(line.hasSuffix(#","metadata":{"kind":"video","format":"mp4","size":10,"sha256":"\#(String(repeating: "a", count: 64))"}}"# + "\n"))
    }
}
