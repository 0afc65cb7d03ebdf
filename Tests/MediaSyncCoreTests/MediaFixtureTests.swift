import Foundation
import MediaSyncCore
import Testing

/// The files of Fixtures/media, written by ImageMagick, cwebp/webpmux, exiftool, ffmpeg, Pillow and piexif
/// (Fixtures/media/record.sh), and their broken copies: every value read equals what the tool was given
/// (and what exiftool / ffprobe read back when recording), and every broken copy gets an `error`.
@Suite struct MediaFixtureTests {
    struct Entry: Decodable {
        var file: String
        var format: String
        var texts: [String: String]
        var width: Int?
        var height: Int?
        var duration: Double?
        var broken: String?
        var decoder_refuses: Bool
        var decoder_says: String?
        var bytes: Int?
        var sha256: String?
        var tool: String?
    }

    static let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("media")

    static func manifest() throws -> [Entry] {
        try JSONDecoder().decode([Entry].self, from: Data(contentsOf: root.appendingPathComponent("manifest.json")))
    }

    /// The values the tools were given, by name, with the 2.6 MB workflow inflated.
    static func values() throws -> [String: String] {
        var values = try JSONDecoder().decode([String: String].self,
                                              from: Data(contentsOf: root.appendingPathComponent("values.json")))
        let big = try [UInt8](Data(contentsOf: root.appendingPathComponent("big-workflow.json.zz")))
        values["big_workflow"] = String(decoding: try Zlib.inflate(big, limit: 8 << 20).get(), as: UTF8.self)
        return values
    }

    /// A fixture's bytes (inflated when stored compressed) and the name it is read under.
    static func load(_ entry: Entry) throws -> (name: String, bytes: [UInt8]) {
        var bytes = try [UInt8](Data(contentsOf: root.appendingPathComponent(entry.file)))
        var name = entry.file
        if name.hasSuffix(".zz") {
            bytes = try Zlib.inflate(bytes, limit: 64 << 20).get()
            name.removeLast(3)
            #expect(bytes.count == entry.bytes && SHA256.hash(bytes).hex == entry.sha256, "\(entry.file)")
        }
        return (name, bytes)
    }

    /// Reads `bytes` as the ingest does, in pieces of `piece` bytes.
    static func read(_ bytes: [UInt8], name: String, piece: Int) -> MediaMetadata {
        var reader = MediaMetadataReader(path: Array(name.utf8))
        var at = 0
        while at < bytes.count {
            reader.update(Array(bytes[at..<min(bytes.count, at + piece)]))
            at += piece
        }
        return reader.finish()
    }

    @Test func goodFilesReadAsTheToolsWroteThem() throws {
        let values = try Self.values()
        let good = try Self.manifest().filter { $0.broken == nil }
        #expect(good.count >= 20)
        for entry in good {
            let (name, bytes) = try Self.load(entry)
            let meta = Self.read(bytes, name: name, piece: 1 << 20)
            let what = "\(entry.file) (\(entry.tool ?? ""))"
            #expect(meta.error == nil, "\(what): \(meta.error ?? "")")
            #expect(meta.format == entry.format, "\(what)")
            let found = try #require(meta.found, "\(what): nothing read")
            #expect(found.width == entry.width && found.height == entry.height,
                    "\(what): \(found.width ?? -1)x\(found.height ?? -1), want \(entry.width ?? -1)x\(entry.height ?? -1)")
            for (keyword, valueName) in entry.texts {
                let want = try #require(values[valueName], "\(valueName) is not in values.json")
                let got = found.text(keyword)
                #expect(got == want, "\(what): \(keyword) is \(got.map { String($0.prefix(120)) } ?? "missing")")
            }
            // A generator's settings are surfaced only where the tool wrote them.
            for keyword in MediaMetadata.surfacedKeywords where entry.texts[keyword] == nil {
                #expect(found.text(keyword) == nil, "\(what): \(keyword) read where none was written")
            }
            if entry.format == "mp4" || entry.format == "mov" || entry.format == "webm" || entry.format == "matroska" {
                let seconds = try #require(found.duration, "\(what): no duration")
                #expect(abs(seconds - (entry.duration ?? -1)) < 0.05, "\(what): \(seconds) s, ffprobe \(entry.duration ?? -1)")
            }
        }
    }

    @Test func brokenCopiesAllCarryAnErrorAndKeepWhatCameBefore() throws {
        let values = try Self.values()
        let broken = try Self.manifest().filter { $0.broken != nil }
        #expect(broken.count >= 30)
        for entry in broken {
            let (name, bytes) = try Self.load(entry)
            let meta = Self.read(bytes, name: name, piece: 4_096)
            #expect(meta.error != nil, "\(entry.file) (\(entry.broken!); the decoder says: \(entry.decoder_says ?? "")) passes as healthy")
            for (keyword, valueName) in entry.texts {
                #expect(meta.found?.text(keyword) == values[valueName], "\(entry.file): \(keyword) lost")
            }
        }
        // Every file a decoder refuses is among them (the suite's corrupted PNGs included).
        let refused = Set(broken.filter(\.decoder_refuses).map(\.file))
        #expect(refused.count >= broken.count - 2)
        #expect(Set(["xc1n0g08", "xc9n2c08", "xd0n2c08", "xd3n2c08", "xd9n2c08", "xdtn0g01", "xcsn0g01", "xhdn0g08",
                     "xs1n0g01", "xs2n0g01", "xs4n0g01", "xs7n0g01", "xcrn0g04", "xlfn0g04"].map { "broken/\($0).png" })
            .isSubset(of: refused))
    }

    /// The messages name what is wrong in words a person can act on.
    @Test(arguments: [
        ("broken/xc1n0g08.png", "IHDR: colour type 1 is not a PNG colour type (0, 2, 3, 4 or 6)"),
        ("broken/xd3n2c08.png", "IHDR: bit depth 3 is not allowed with colour type 2 (truecolour: 8, 16)"),
        ("broken/xd9n2c08.png", "IHDR: bit depth 99 is not allowed with colour type 2 (truecolour: 8, 16)"),
        ("broken/xdtn0g01.png", "no IDAT chunk: the file holds no image data"),
        ("broken/xcsn0g01.png", "bad CRC in the IDAT chunk at byte 49"),
        ("broken/xs1n0g01.png", "not a PNG: the signature's high bit is stripped (the file went through a 7-bit transfer)"),
        ("broken/xs2n0g01.png", "not a PNG: damaged signature (byte 1 is 0x51, not 0x50)"),
        ("broken/xcrn0g04.png", "not a PNG: the signature's line endings were converted (the file went through a text-mode transfer)"),
        ("broken/xlfn0g04.png", "not a PNG: the signature's line endings were converted (the file went through a text-mode transfer)"),
        ("broken/jpeg-no-eoi.jpg", "truncated inside the picture data, before the end-of-image marker (1090 bytes)"),
        ("broken/jpeg-no-sof.jpg", "picture data (SOS) at byte 852 before any frame header (SOF)"),
        ("broken/jpeg-bad-length.jpg", "DQT segment at byte 714 has length 1, below 2"),
        ("broken/webp-riff-size.webp", "truncated: 730 of the 1738 bytes the RIFF header declares"),
        ("broken/webp-vp8-start-code.webp", "VP8 chunk at byte 30 lacks the VP8 start code"),
        ("broken/mp4-cut-moov-last.mp4", "truncated inside the 'mdat' box at byte 40 (the file ends at byte 1000)"),
        ("broken/mp4-moov-size.mp4", "'moov' box at byte 32 declares 4 bytes, less than its header"),
        ("broken/webm-doctype.webm", "DocType 'wxbm' is neither webm nor matroska"),
    ])
    func brokenFilesSayWhatIsWrong(file: String, message: String) throws {
        let entry = try #require(try Self.manifest().first { $0.file == file })
        let (name, bytes) = try Self.load(entry)
        #expect(Self.read(bytes, name: name, piece: 1 << 20).error == message)
    }

    /// Whatever the pieces the file comes in, the metadata is the same (it is read as it streams past).
    @Test func everyFixtureReadsTheSameInAnyPieces() throws {
        var rng = SplitMix(seed: 15)
        for entry in try Self.manifest() {
            let (name, bytes) = try Self.load(entry)
            let whole = Self.read(bytes, name: name, piece: max(1, bytes.count))
            for piece in [1, 7, 8, 9, 4_096, Int(rng.next() % 300) + 2] where bytes.count < 100_000 || piece > 100 {
                #expect(Self.read(bytes, name: name, piece: piece) == whole, "\(entry.file) in \(piece)-byte pieces")
            }
        }
    }

    /// Each prefix of a good file of each format is flagged and keeps no text it did not read whole.
    @Test func everyPrefixOfAFileIsFlagged() throws {
        let files = ["good/forge-utf16le.jpg", "good/comfy-animated.webp", "good/vhs-string-faststart.mp4",
                     "good/vhs-object.mp4", "good/vhs.webm", "good/vhs-live.webm", "good/vhs.mkv", "good/exif-chunk.png"]
        let manifest = try Self.manifest()
        for file in files {
            let entry = try #require(manifest.first { $0.file == file })
            let (name, bytes) = try Self.load(entry)
            let full = Self.read(bytes, name: name, piece: 1 << 20)
            for length in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 400)) {
                let meta = Self.read(Array(bytes.prefix(length)), name: name, piece: 1 << 20)
                #expect(meta.error != nil, "\(file): a prefix of \(length) bytes passes as healthy")
                for text in meta.found?.texts ?? [] {
                    #expect(full.found?.texts.contains(text) == true, "\(file) prefix \(length): \(text.keyword) invented")
                }
            }
        }
    }

    /// A live recording (OBS, a browser's MediaRecorder) writes Clusters of unknown size too: the reader walks
    /// through them element by element. Made from ffmpeg's piped WebM (unknown-size Segment) by setting each
    /// Cluster's size field to all ones, its own length kept.
    @Test func unknownSizeClustersAreWalkedThrough() throws {
        let entry = try #require(try Self.manifest().first { $0.file == "good/vhs-live.webm" })
        var (name, bytes) = try Self.load(entry)
        let known = Self.read(bytes, name: name, piece: 1 << 20)
        var clusters = 0
        var at = 0
        while at + 5 < bytes.count {
            if bytes[at..<(at + 4)].elementsEqual([0x1f, 0x43, 0xb6, 0x75]) {
                let length = bytes[at + 4].leadingZeroBitCount + 1
                bytes[at + 4] |= 0xff >> length
                for i in 1..<length { bytes[at + 4 + i] = 0xff }
                clusters += 1
                at += 4 + length
            } else {
                at += 1
            }
        }
        #expect(clusters >= 1)
        for piece in [1, 100, 1 << 20] {
            let live = Self.read(bytes, name: name, piece: piece)
            #expect(live.error == nil, "\(live.error ?? "")")
            #expect(live.found == known.found)
        }
        // Cut inside the last unknown-size Cluster: nothing says how long it was, so the cut is not seen (as
        // ffmpeg sees none); cut inside an element of it, it is.
        #expect(Self.read(Array(bytes.dropLast(3)), name: name, piece: 1 << 20).error?.hasPrefix("truncated inside") == true)
    }

    /// The JSON the ingest gets: strict, the video's duration in seconds, texts by keyword.
    @Test func ingestJSONOfAVideo() throws {
        let entry = try #require(try Self.manifest().first { $0.file == "good/vhs.mkv" })
        let (name, bytes) = try Self.load(entry)
        let meta = Self.read(bytes, name: name, piece: 1 << 20)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(meta.json())) as? [String: Any])
        #expect(json["kind"] as? String == "video" && json["format"] as? String == "matroska")
        #expect(json["width"] as? Int == 96 && json["height"] as? Int == 64)
        #expect(json["duration"] as? Double == 2.0)
        let texts = try #require(json["texts"] as? [String: String])
        #expect(texts["title"] == "灯台")
        #expect(texts["comment"] == (try Self.values())["forge_ja"])
        #expect(texts["encoder"]?.hasPrefix("Lavf") == true)
        #expect(json["prompt"] == nil && json["error"] == nil)
    }

    /// The real file read (`MediaMetadata.read`), not only bytes in memory.
    @Test func readFromDisk() throws {
        let meta = MediaMetadata.read(path: Array(Self.root.appendingPathComponent("good/forge-utf16be.jpg").path.utf8),
                                      chunkSize: 100)
        #expect(meta.error == nil && meta.kind == .image && meta.format == "jpeg")
        #expect(meta.found?.text("parameters") == (try Self.values())["forge_ja"])
        #expect(meta.found?.text("Software") == "Forge f2.0.1 ✓")
    }
}
