import Foundation
import Testing
@testable import MediaSyncCore

@Suite("event lines")
struct EventTests {
    private func decode(_ line: [UInt8]) throws -> [String: Any] {
        #expect(line.last == 0x0A)
        #expect(line.dropLast().firstIndex(of: 0x0A) == nil, "one event is exactly one line")
        return try #require(try JSONSerialization.jsonObject(with: Data(line.dropLast())) as? [String: Any])
    }

    @Test("every event starts with v, seq, time and type")
    func envelope() throws {
        let event = Event(seq: 7, timeMs: 1_795_693_596_123,
                          body: .cycleStarted(cycle: 3, jobs: [EventJob(source: "forge", folder: "txt2img-images")]))
        let line = event.jsonLine()
        #expect(String(decoding: line, as: UTF8.self)
            .hasPrefix(#"{"v":2,"seq":7,"time":"2026-11-26T11:46:36.123Z","type":"cycle_started","cycle":3,"#))
        let json = try decode(line)
        let jobs = try #require(json["jobs"] as? [[String: String]])
        #expect(jobs == [["job": "forge/txt2img-images", "source": "forge", "folder": "txt2img-images"]])
    }

    @Test("a name that is not UTF-8 gives valid JSON and its exact bytes in path_b64")
    func invalidNameRecoverable() throws {
        let path: [UInt8] = Array("2026-11-24/".utf8) + [0xFF, 0x0A, 0xFE] + Array(".png".utf8)
        let synced = FileSynced(job: EventJob(source: "comfy", folder: "output"), path: path,
                                libraryPath: Array("/srv/media/comfy/output/".utf8) + path, size: 42, mtime: 1_795_000_000,
                                renamedFrom: nil)
        let json = try decode(Event(seq: 1, timeMs: 0, body: .fileSynced(cycle: 1, synced)).jsonLine())
        let b64 = try #require(json["path_b64"] as? String)
        #expect(Array(try #require(Data(base64Encoded: b64))) == path)
        #expect(json["library_path_b64"] != nil)
        #expect(json["renamed_from"] == nil)
        #expect(json["size"] as? Int == 42)
    }

    @Test("a valid UTF-8 name carries no _b64 twin; renamed_from appears when a name was reused")
    func renamed() throws {
        let synced = FileSynced(job: EventJob(source: "forge", folder: "txt2img-images"),
                                path: Array("00012-3912345.png".utf8),
                                libraryPath: Array("/srv/media/forge/txt2img-images/00012-3912345~2.png".utf8),
                                size: 1, mtime: 2, renamedFrom: Array("/srv/media/forge/txt2img-images/00012-3912345.png".utf8))
        let json = try decode(Event(seq: 2, timeMs: 0, body: .fileSynced(cycle: 1, synced)).jsonLine())
        #expect(json["path_b64"] == nil)
        #expect(json["renamed_from"] as? String == "/srv/media/forge/txt2img-images/00012-3912345.png")
    }

    @Test("job_finished carries exit_code null when rsync never ran, and the error line")
    func jobFinished() throws {
        let f = JobFinished(job: EventJob(source: "box", folder: "output"), state: .failed, files: 0, bytes: 0,
                            seconds: 1.25, exitCode: nil, attempts: 1,
                            error: "box/output: ssh: connect to host 10.0.0.1 port 41022: Connection refused")
        let json = try decode(Event(seq: 3, timeMs: 0, body: .jobFinished(cycle: 1, f)).jsonLine())
        #expect(json["exit_code"] is NSNull)
        #expect(json["state"] as? String == "failed")
        #expect((json["error"] as? String)?.contains("Connection refused") == true)
    }
}
