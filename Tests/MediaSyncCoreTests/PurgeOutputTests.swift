import MediaSyncCore
import Testing

/// The delete script's results, read as they stream in, and the purge events on the wire.
@Suite("purge output and events")
struct PurgeOutputTests {
    @Test("results split on NUL even one byte at a time, with newlines, spaces and bad UTF-8 in paths")
    func streaming() {
        let odd: [UInt8] = Array("sub dir/new\nline -rf.png".utf8)
        let bad: [UInt8] = [0x62, 0xff, 0x20, 0x2a]
        var bytes = Array("deleted ".utf8) + odd + [0]
        bytes += Array("kept changed ".utf8) + bad + [0]
        bytes += Array("rmdir 2026-01-01".utf8) + [0] + Array("done".utf8) + [0]
        var parser = RemotePurgeOutput()
        var results: [RemotePurgeResult] = []
        for byte in bytes { parser.feed([byte]) { results.append($0) } }
        #expect(results == [.deleted(path: odd), .kept(reason: "changed", path: bad),
                            .removedFolder(path: Array("2026-01-01".utf8)), .done])
        #expect(!parser.hasPartialRecord)
        parser.feed(Array("deleted half".utf8)) { results.append($0) }
        #expect(parser.hasPartialRecord)
        #expect(results.count == 4)
    }

    @Test("checksum output: sums and errors, nothing else accepted")
    func checksums() {
        let sum = String(repeating: "0f", count: 32)
        var parser = RemotePurgeOutput(checksums: true)
        var results: [RemotePurgeResult] = []
        parser.feed(Array("\(sum) a b.png".utf8) + [0] + Array("error c.png".utf8) + [0] + Array("XYZ d".utf8) + [0]) {
            results.append($0)
        }
        #expect(results == [.checksum(path: Array("a b.png".utf8), sha256: sum),
                            .checksum(path: Array("c.png".utf8), sha256: nil)])
        #expect(parser.garbage == ["XYZ d"])
    }

    @Test("purge events carry the fields docs/events.md names")
    func events() {
        let job = EventJob(source: "gpu", folder: "out")
        func line(_ body: EventBody) -> String {
            String(decoding: Event(seq: 1, timeMs: 0, body: body).jsonLine(), as: UTF8.self)
        }
        #expect(line(.purgeStarted(cycle: 3, job: job, dryRun: false)).contains(#""type":"purge_started","cycle":3,"job":"gpu/out","dry_run":false"#))
        let purged = line(.filePurged(cycle: 3, job: job, path: [0x61, 0xff], size: 10, ageS: 90_000, dryRun: false))
        #expect(purged.contains(#""type":"file_purged","cycle":3,"job":"gpu/out","path":"a\#u{FFFD}","path_b64":"Yf8=","size":10,"age_s":90000}"#))
        #expect(line(.fileKept(cycle: 3, job: job, path: Array("x.png".utf8), reason: "too_young"))
            .contains(#""type":"file_kept","cycle":3,"job":"gpu/out","path":"x.png","reason":"too_young"}"#))
        #expect(line(.purgeFinished(cycle: 3, job: job, deleted: 2, kept: 1, bytesFreed: 20, dryRun: true))
            .contains(#""deleted":2,"kept":1,"bytes_freed":20,"dry_run":true}"#))
    }
}
