import Foundation
import MediaSyncCore
import Testing

@Suite struct PNGMetaTests {
    @Test func forgeParametersAreReadAsPythonReadsThem() throws {
        let parameters = PNGWriter.forgeParameters(prompt: "a cat in a hat, café ±", seed: 3_912_345, width: 40,
                                                   height: 30)
        let png = try PNGWriter.encode(width: 40, height: 30, pixels: PNGWriter.gradient(width: 40, height: 30, seed: 1),
                                       text: [("parameters", parameters)])
        let meta = PNGMetadata.parse(png)
        #expect(meta.error == nil)
        #expect(meta.width == 40 && meta.height == 30)
        #expect(meta.parameters == parameters)
        let python = try pythonReadTexts(png)
        #expect(swiftTexts(meta) == python.texts)
        #expect(python.width == 40 && python.height == 30)
    }

    @Test(arguments: [("tEXt", "tEXt"), ("zTXt", "iTXt"), ("iTXt", "zTXt")])
    func comfyUIPromptAndWorkflowInEveryChunkType(types: (String, String)) throws {
        let png = try comfyUIPNG(seed: 77, chunkTypes: types)
        let meta = PNGMetadata.parse(png)
        #expect(meta.error == nil)
        #expect(meta.prompt == PNGWriter.comfyUIPrompt(text: "a lighthouse at dusk", seed: 77))
        #expect(meta.workflow == PNGWriter.comfyUIWorkflow(seed: 77))
        // The prompt is JSON a database will parse: it must arrive intact.
        let graph = try JSONSerialization.jsonObject(with: Data(meta.prompt!.utf8)) as? [String: Any]
        #expect((graph?["3"] as? [String: Any])?["class_type"] as? String == "KSampler")
        #expect(swiftTexts(meta) == (try pythonReadTexts(png)).texts)
    }

    @Test func filesWrittenByPythonZlibIncludingUTF8AndLanguageTags() throws {
        let chunks: [[Any]] = [
            ["tEXt", "parameters", "steps 20, façade", false, "", ""],
            ["zTXt", "Comment", String(repeating: "compressible text ", count: 500), true, "", ""],
            ["iTXt", "Title", "猫と帽子 🐱", true, "ja", "タイトル"],
            ["iTXt", "Author", "Zoë", false, "en-GB", "Author"],
        ]
        let png = try pythonWritePNG(width: 7, height: 5, chunks: chunks)
        let meta = PNGMetadata.parse(png)
        #expect(meta.error == nil)
        #expect(meta.width == 7 && meta.height == 5)
        #expect(swiftTexts(meta) == (try pythonReadTexts(png)).texts)
        #expect(meta.text("Title") == "猫と帽子 🐱")
        #expect(meta.texts.last?.language == "en-GB")
    }

    @Test func streamedInAnyPiecesGivesTheSameResult() throws {
        let png = try comfyUIPNG(seed: 5, chunkTypes: ("zTXt", "iTXt"))
        let whole = PNGMetadata.parse(png)
        // Seeded, so a failure replays: MEDIASYNC_TEST_SEED=<seed> swift test --filter PNGMetaTests.
        let seed = SeededRandom.testSeed(fallback: 0x9A6E_5EED)
        var generator = SeededRandom(seed: seed)
        for pieceSize in [1, 2, 3, 7, 64, 1000] + (0..<5).map({ _ in Int.random(in: 1...200, using: &generator) }) {
            var parser = PNGMetadataParser()
            var offset = 0
            while offset < png.count {
                let end = min(offset + pieceSize, png.count)
                parser.feed(Array(png[offset..<end]))
                offset = end
            }
            #expect(parser.finish() == whole, "piece size \(pieceSize) (seed \(seed))")
        }
    }

    @Test func everyPrefixOfAFileIsReportedTruncatedAndKeepsWhatCameBefore() throws {
        let png = try comfyUIPNG(seed: 9, chunkTypes: ("tEXt", "zTXt"))
        let full = PNGMetadata.parse(png)
        #expect(full.error == nil && full.texts.count == 2)
        for length in 0..<png.count {
            let meta = PNGMetadata.parse(Array(png.prefix(length)))
            #expect(meta.error != nil, "prefix of \(length) bytes was not flagged")
            // What was read before the cut is kept, and nothing is invented.
            #expect(Array(full.texts.prefix(meta.texts.count)) == meta.texts, "prefix \(length)")
            if length >= 33 { #expect(meta.width == 24) }
        }
        #expect(PNGMetadata.parse([]).error == "empty file, not a PNG")
        #expect(PNGMetadata.parse(Array(png.prefix(png.count - 12))).error?.contains("before IEND") == true)
    }

    @Test func badCRCStopsButKeepsEarlierChunks() throws {
        var png = try comfyUIPNG(seed: 11)
        // Flip one byte inside the second text chunk (workflow): its CRC no longer matches.
        let workflowAt = try #require(findChunk("tEXt", in: png, occurrence: 2))
        png[workflowAt + 12] ^= 0x20
        let meta = PNGMetadata.parse(png)
        #expect(meta.error == "bad CRC in the tEXt chunk at byte \(workflowAt)")
        #expect(meta.prompt != nil)
        #expect(meta.workflow == nil)
        #expect(meta.width == 24 && meta.height == 16)
    }

    @Test func badZlibStreamSkipsThatChunkOnly() throws {
        let good = try PNGWriter.encode(width: 2, height: 2, pixels: PNGWriter.gradient(width: 2, height: 2, seed: 0),
                                        text: [("parameters", "kept")])
        // A zTXt with a valid CRC around data that is not a zlib stream, then a text after it.
        var png = Array(good.prefix(33))
        PNGTestChunks.append("zTXt", Array("prompt".utf8) + [0, 0] + Array("not zlib at all".utf8), to: &png)
        png += good[33...]
        let meta = PNGMetadata.parse(png)
        #expect(meta.error?.contains("zTXt chunk at byte 33: prompt: bad zlib stream") == true)
        #expect(meta.prompt == nil)
        #expect(meta.parameters == "kept")
    }

    @Test func zipBombIsCappedNotInflated() throws {
        let bomb = [UInt8](repeating: 0x41, count: 10 << 20)
        let png = try PNGWriter.encode(width: 1, height: 1, pixels: [0, 0, 0],
                                       chunks: [.zTXt("workflow", String(decoding: bomb, as: UTF8.self)),
                                                .tEXt("parameters", "after the bomb")])
        #expect(png.count < 100_000)
        let meta = PNGMetadata.parse(png)
        #expect(meta.error?.contains("inflates to more than 8388608 bytes") == true)
        #expect(meta.workflow == nil)
        #expect(meta.parameters == "after the bomb")
    }

    @Test func hugeDeclaredLengthsNeitherAllocateNorTrap() throws {
        let good = try PNGWriter.encode(width: 2, height: 2, pixels: PNGWriter.gradient(width: 2, height: 2, seed: 0))
        for (length, expected) in [(UInt32(0x7fff_ffff), "over the 8388608 byte limit; skipped"),
                                   (0xffff_ffff, "declares 4294967295 bytes, over the PNG limit")] {
            var png = Array(good.prefix(33))
            png += [UInt8(length >> 24), UInt8((length >> 16) & 0xff), UInt8((length >> 8) & 0xff), UInt8(length & 0xff)]
            png += Array("tEXt".utf8) + Array("parameters\0x".utf8)
            let meta = PNGMetadata.parse(png)
            #expect(meta.error?.contains(expected) == true, "\(meta.error ?? "nil")")
            #expect(meta.width == 2)
        }
    }

    @Test func garbageAndOtherFormatsAreNotPNGs() {
        #expect(PNGMetadata.parse(Array("GIF89a and more bytes".utf8)).error == "not a PNG: signature missing")
        #expect(PNGMetadata.parse([0x89, 0x50]).error == "not a PNG: only 2 bytes")
        var noIHDR = PNGWriter.signature
        PNGTestChunks.append("tEXt", Array("a\0b".utf8), to: &noIHDR)
        #expect(PNGMetadata.parse(noIHDR).error == "first chunk is tEXt, not IHDR")
        #expect(PNGMetadata.parse(PNGWriter.signature + [0, 0, 0, 5, 0xde, 0xad, 0xbe, 0xef]).error
            == "garbage where a chunk header belongs at byte 8")
    }

    /// Random mutations of real files: whatever the bytes, the parser ends with a result, streaming agrees
    /// with one-shot, and a file that differs from a sound one in its chunks is flagged or reads the same.
    @Test func randomlyCorruptedFilesNeverTrap() throws {
        let seeds = [try comfyUIPNG(seed: 1, chunkTypes: ("zTXt", "iTXt")),
                     try PNGWriter.encode(width: 3, height: 3, pixels: PNGWriter.gradient(width: 3, height: 3, seed: 2),
                                          text: [("parameters", "steps 20")])]
        var rng = SplitMix(seed: 0x5eed)
        for round in 0..<3_000 {
            var png = seeds[round % seeds.count]
            for _ in 0...(Int(rng.next() % 4)) where !png.isEmpty {
                let at = Int(rng.next() % UInt64(png.count))
                switch rng.next() % 4 {
                case 0: png[at] = UInt8(truncatingIfNeeded: rng.next())
                case 1: png.removeSubrange(at..<min(png.count, at + Int(rng.next() % 16)))
                case 2: png.insert(contentsOf: (0..<Int(rng.next() % 8)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
                default: png = Array(png.prefix(at))
                }
            }
            let whole = PNGMetadata.parse(png)
            var parser = PNGMetadataParser()
            var offset = 0
            while offset < png.count {
                let end = min(png.count, offset + 1 + Int(rng.next() % 50))
                parser.feed(Array(png[offset..<end]))
                offset = end
            }
            #expect(parser.finish() == whole, "round \(round)")
            if whole.error == nil { #expect(whole.width != nil, "round \(round): sound file without IHDR") }
        }
    }

    private func findChunk(_ type: String, in png: [UInt8], occurrence: Int) -> Int? {
        var offset = 8, seen = 0
        while offset + 8 <= png.count {
            let length = Int(png[offset]) << 24 | Int(png[offset + 1]) << 16 | Int(png[offset + 2]) << 8 | Int(png[offset + 3])
            if String(decoding: png[(offset + 4)..<(offset + 8)], as: UTF8.self) == type {
                seen += 1
                if seen == occurrence { return offset }
            }
            offset += 12 + length
        }
        return nil
    }
}

/// Builds raw chunks with a correct CRC, for files our writer refuses to make.
enum PNGTestChunks {
    static func append(_ type: String, _ data: [UInt8], to png: inout [UInt8]) {
        let typeAndData = Array(type.utf8) + data
        let n = UInt32(data.count), crc = CRC32.checksum(typeAndData)
        png += [UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)]
        png += typeAndData
        png += [UInt8(crc >> 24), UInt8((crc >> 16) & 0xff), UInt8((crc >> 8) & 0xff), UInt8(crc & 0xff)]
    }
}

/// A small seeded generator so a failing fuzz round can be replayed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
