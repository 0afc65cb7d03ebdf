import MediaSyncCore
import Testing

/// How the purge's deletions reach the delete script: batches of one folder, and the chunks `xargs -n` cuts,
/// whose one `stat` and one `rm` make a purge cost about what `find -delete` does.
@Suite("purge chunks")
struct PurgeChunksTests {
    func record(_ path: String, size: Int64 = 10, mtime: Int64 = 1_700_000_000) -> RemotePurgeScript.Record {
        RemotePurgeScript.Record(path: Array(path.utf8), size: size, mtime: mtime)
    }

    func deletion(_ path: String) -> PurgePlan.Deletion {
        PurgePlan.Deletion(path: Array(path.utf8), size: 1, mtime: 1, libraryPath: Array(path.utf8), ageSeconds: 0)
    }

    func text(_ words: [[UInt8]]) -> [String] { words.map { String(decoding: $0, as: UTF8.self) } }

    @Test("a batch never spans two folders, even where path order interleaves them ('a/b!' sorts between 'a/b/...')")
    func batchesByFolder() {
        var batches = PurgeBatches(["a/b/x.png", "a/b!.png", "a/b/y.png", "a/c.png", "top.png", "a/b/z.png"].map(deletion))
        var got: [[String]] = []
        while let batch = batches.next(size: 2) { got.append(batch.map { String(decoding: $0.path, as: UTF8.self) }) }
        #expect(got == [["top.png"], ["a/b!.png", "a/c.png"], ["a/b/x.png", "a/b/y.png"], ["a/b/z.png"]])
    }

    @Test("one folder: chunks of many names, each with its folder, printf prefix and expected stat lines")
    func oneFolder() {
        let records = [record("d%x\\y/b.png", size: 0), record("d%x\\y/a.png", size: 7, mtime: 5), record("d%x\\y/c.png")]
        let plan = RemotePurgeScript.chunks(records, maxNames: 2)
        #expect(plan.wordsPerChunk == 5)
        #expect(plan.chunks.map(text) == [
            ["/D/1/d%x\\y", "/P/d%%x\\\\y/", "/E/7 5 regular file\n0 1700000000 regular empty file", "a.png", "b.png"],
            ["/D/1/d%x\\y", "/P/d%%x\\\\y/", "/E/10 1700000000 regular file", "c.png"],
        ])
    }

    @Test("long names make smaller chunks: a chunk's words stay under the byte limit xargs allows")
    func byteLimit() {
        let long = String(repeating: "n", count: 200)
        let records = (0..<100).map { record("\(long)\($0)") }
        let plan = RemotePurgeScript.chunks(records, maxNames: 1000, maxChunkBytes: 10_000)
        #expect(plan.wordsPerChunk - 3 < 100)
        for chunk in plan.chunks {
            #expect(chunk.count <= plan.wordsPerChunk)
            #expect(chunk.reduce(0) { $0 + $1.count + 1 } <= 10_000)
        }
        #expect(plan.chunks.reduce(0) { $0 + $1.count - 3 } == 100)
    }

    @Test("records of several folders go one per chunk; unclean paths each get a /B/ chunk")
    func mixed() {
        let plan = RemotePurgeScript.chunks([record("x/1.png"), record("../up.png"), record("2.png"), record("a//b.png"),
                                             record("/abs.png"), record("x/./3.png")])
        #expect(plan.wordsPerChunk == 4)
        #expect(plan.chunks.map(text) == [
            ["/B/", "/P/", "/E/", "../up.png"], ["/B/", "/P/", "/E/", "a//b.png"], ["/B/", "/P/", "/E/", "/abs.png"],
            ["/B/", "/P/", "/E/", "x/./3.png"],
            ["/D/1/", "/P/", "/E/10 1700000000 regular file", "2.png"],
            ["/D/2/x", "/P/x/", "/E/10 1700000000 regular file", "1.png"],
        ])
    }
}
