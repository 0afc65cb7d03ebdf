import Foundation
@testable import MediaSyncCore
import Testing

/// Hostile and damaged input for the JPEG, WebP, MP4 and WebM readers and the EXIF block reader: every
/// fault ends in an `error`, never a trap, and what a file declares never decides what is allocated.
@Suite struct MediaHostileTests {
    static let small = PNGMetadataParser.Limits(chunkBytes: 4_096, inflatedBytes: 8_192, totalTextBytes: 16_384)

    static func read(_ bytes: [UInt8], name: String, limits: PNGMetadataParser.Limits = .init(),
                     piece: Int = 1 << 20) -> MediaMetadata {
        var reader = MediaMetadataReader(path: Array(name.utf8), limits: limits)
        var at = 0
        while at < bytes.count {
            reader.update(Array(bytes[at..<min(bytes.count, at + piece)]))
            at += piece
        }
        return reader.finish()
    }

    static func fixture(_ file: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: MediaFixtureTests.root.appendingPathComponent(file)))
    }

    /// A TIFF block (big-endian) with one IFD0 of the given entries; values over 4 bytes follow the IFD.
    static func tiff(_ entries: [(tag: UInt16, type: UInt16, value: [UInt8])], exifPointer: UInt32? = nil) -> [UInt8] {
        var all = entries
        if let exifPointer { all.append((0x8769, 4, be32(exifPointer))) }
        var out: [UInt8] = Array("MM".utf8) + [0, 42] + be32(8) + be16(UInt16(all.count))
        var extra: [UInt8] = []
        let dataStart = 8 + 2 + all.count * 12 + 4
        for entry in all {
            out += be16(entry.tag) + be16(entry.type) + be32(UInt32(entry.type == 4 ? 1 : entry.value.count))
            if entry.value.count <= 4 {
                out += entry.value + [UInt8](repeating: 0, count: 4 - entry.value.count)
            } else {
                out += be32(UInt32(dataStart + extra.count))
                extra += entry.value
            }
        }
        return out + [0, 0, 0, 0] + extra
    }

    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }

    @Test func exifUserCommentInEveryEncoding() {
        let text = "猫 Steps: 20"
        let be = Array("UNICODE".utf8) + [0] + text.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
        #expect(EXIFReader.userComment(be[...], bigEndian: true) == text)
        let le = Array("UNICODE".utf8) + [0] + text.utf16.flatMap { [UInt8($0 & 0xff), UInt8($0 >> 8)] }
        #expect(EXIFReader.userComment(le[...], bigEndian: false) == text)
        // A BOM wins over the header's byte order.
        let bom = Array("UNICODE".utf8) + [0, 0xff, 0xfe] + text.utf16.flatMap { [UInt8($0 & 0xff), UInt8($0 >> 8)] }
        #expect(EXIFReader.userComment(bom[...], bigEndian: true) == text)
        #expect(EXIFReader.userComment((Array("ASCII".utf8) + [0, 0, 0] + Array("a, b\0".utf8))[...], bigEndian: true) == "a, b")
        #expect(EXIFReader.userComment(([UInt8](repeating: 0, count: 8) + Array("x".utf8))[...], bigEndian: true) == "x")
        #expect(EXIFReader.userComment(Array("no code at all".utf8)[...], bigEndian: true) == "no code at all")
    }

    @Test func comfyPrefixesAndOtherTags() {
        let block = Self.tiff([(0x010f, 2, Array("workflow:{\"a\":1}\0".utf8)), (0x0110, 2, Array("prompt:{\"3\":{}}\0".utf8)),
                               (0x010e, 2, Array("Workflow: [1]\0".utf8)), (0x0131, 2, Array("ComfyUI\0".utf8)),
                               (0x0132, 3, [0, 1])])
        let result = EXIFReader.read(block)
        #expect(result.problem == nil)
        #expect(result.texts == [MediaText(keyword: "workflow", value: "{\"a\":1}"), MediaText(keyword: "prompt", value: "{\"3\":{}}"),
                                 MediaText(keyword: "workflow", value: "[1]"), MediaText(keyword: "Software", value: "ComfyUI")])
        // Also behind the "Exif\0\0" header some writers leave in WebP and PNG.
        #expect(EXIFReader.read(EXIFReader.exifHeader + block) == result)
    }

    @Test func hostileEXIFBlocksEndInAProblem() {
        #expect(EXIFReader.read([]).problem == "EXIF block of 0 bytes is too short for a TIFF header")
        #expect(EXIFReader.read(Array("XX\0*\0\0\0\u{8}".utf8)).problem == "EXIF block does not start with a TIFF header (II or MM)")
        // IFD0 claims 65,535 entries.
        #expect(EXIFReader.read(Array("MM".utf8) + [0, 42, 0, 0, 0, 8, 0xff, 0xff]).problem
            == "IFD0 at offset 8 claims 65535 entries, more than the EXIF block holds")
        // IFD0 far outside the block.
        #expect(EXIFReader.read(Array("MM".utf8) + [0, 42, 0xff, 0xff, 0xff, 0xf0]).problem
            == "IFD0 at offset 4294967280 lies outside the EXIF block")
        // A value 4 GB long at an offset past the end.
        var block = Self.tiff([(0x0131, 2, Array("Software name\0".utf8))])
        block[18...21] = [0xff, 0xff, 0xff, 0xff][...]
        #expect(EXIFReader.read(block).problem == "IFD0 tag Software points past the end of the EXIF block")
        // The Exif IFD pointing back at IFD0 is read once, not forever.
        let loop = Self.tiff([(0x0131, 2, Array("x\0".utf8))], exifPointer: 8)
        #expect(EXIFReader.read(loop).texts.count == 1)
    }

    /// Sizes a file declares are checked against the limits before anything is read whole.
    @Test func declaredSizesNeverDecideAllocation() throws {
        // WebP: an EXIF chunk declaring 3 GB (skipped, not read; the file is then too short for it).
        var webp = Array("RIFF".utf8) + [0xf0, 0xff, 0xff, 0xff] + Array("WEBPEXIF".utf8) + [0, 0, 0, 0xc0]
        webp += [UInt8](repeating: 0, count: 64)
        #expect(Self.read(webp, name: "a.webp").error == "truncated: 84 of the 4294967288 bytes the RIFF header declares")
        // MP4: a 64-bit box size of 2^62.
        let mp4 = [0, 0, 0, 16] + Array("ftypisom".utf8) + [0, 0, 0, 0] + [0, 0, 0, 1] + Array("mdat".utf8)
            + [0x40, 0, 0, 0, 0, 0, 0, 0] + [UInt8](repeating: 1, count: 100)
        #expect(Self.read(mp4, name: "a.mp4").error == "truncated inside the 'mdat' box at byte 16 (the file ends at byte 132)")
        // WebM: unknown-size Segment, Tags, Tag and SimpleTag, then a TagString declaring 2^56 - 2 bytes.
        let header: [UInt8] = [0x1a, 0x45, 0xdf, 0xa3, 0x87, 0x42, 0x82, 0x84] + Array("webm".utf8)
        let webm = header + [0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
            + [0x12, 0x54, 0xc3, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x73, 0x73, 0xff, 0x67, 0xc8, 0xff,
               0x44, 0x87, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x41, 0x42]
        #expect(Self.read(webm, name: "a.webm").error == "truncated inside TagString at byte 42 (the file ends at byte 54)")
        var wrongType = webm
        wrongType[8...11] = Array("wxbm".utf8)[...]
        #expect(Self.read(wrongType, name: "a.webm").error == "DocType 'wxbm' is neither webm nor matroska")
    }

    /// Big texts are held to the limits: a 2.6 MB workflow is read with the defaults and skipped, with an
    /// error naming where, under small ones; the rest of the file is still read.
    @Test func textLimitsHoldForEveryFormat() throws {
        for file in ["good/comfy-big-workflow.webp.zz", "good/big-workflow.mp4.zz", "good/big-workflow.webm.zz"] {
            let bytes = try Zlib.inflate(try Self.fixture(file), limit: 64 << 20).get()
            let name = String(file.dropLast(3))
            let full = Self.read(bytes, name: name)
            #expect(full.error == nil && (full.found?.text("workflow")?.utf8.count ?? 0) > 2_000_000, "\(file)")
            let capped = Self.read(bytes, name: name, limits: Self.small)
            #expect(capped.error?.contains("over the 4096 byte limit; skipped") == true, "\(file): \(capped.error ?? "")")
            #expect(capped.found?.text("workflow") == nil)
            #expect(capped.found?.width == full.found?.width && capped.found?.height == full.found?.height, "\(file)")
        }
    }

    /// Random damage to real files of every format: the reader always ends with a result, the same in any
    /// pieces, and keeps no more text than the limits allow.
    @Test func randomlyDamagedFilesNeverTrap() throws {
        let seeds = try ["good/forge-utf16be.jpg", "good/ifd0-progressive.jpg", "good/comfy-animated.webp",
                         "good/forge-utf16le.webp", "good/vhs-string-faststart.mp4", "good/comfy-native.mp4",
                         "good/vhs.webm", "good/vhs-live.webm", "good/vhs.mkv", "good/exif-chunk.png"]
            .map { (name: $0, bytes: try Self.fixture($0)) }
        var rng = SplitMix(seed: 0xbad5eed)
        for round in 0..<2_000 {
            let seed = seeds[round % seeds.count]
            var bytes = seed.bytes
            for _ in 0...(Int(rng.next() % 4)) where !bytes.isEmpty {
                let at = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 5 {
                case 0: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
                case 1: bytes.removeSubrange(at..<min(bytes.count, at + Int(rng.next() % 16)))
                case 2: bytes.insert(contentsOf: (0..<Int(rng.next() % 8)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
                case 3: bytes[at] = 0xff
                default: bytes = Array(bytes.prefix(at))
                }
            }
            let limits = round % 2 == 0 ? PNGMetadataParser.Limits() : Self.small
            let whole = Self.read(bytes, name: seed.name, limits: limits)
            let pieces = Self.read(bytes, name: seed.name, limits: limits, piece: 1 + Int(rng.next() % 97))
            #expect(pieces == whole, "round \(round) (\(seed.name))")
            let kept = whole.found?.texts.reduce(0) { $0 + $1.keyword.utf8.count + $1.value.utf8.count } ?? 0
            #expect(kept <= limits.totalTextBytes + 4 * 65_536, "round \(round)")
        }
    }

    /// An old QuickTime movie starts with its moov or mdat, no ftyp: still a MOV, read the same.
    @Test func quickTimeWithoutFtyp() throws {
        let mov = try Self.fixture("good/vhs.mov")
        let ftypSize = Int(mov[0]) << 24 | Int(mov[1]) << 16 | Int(mov[2]) << 8 | Int(mov[3])
        #expect(String(decoding: mov[4..<8], as: UTF8.self) == "ftyp")
        let withFtyp = Self.read(mov, name: "clip.mov")
        let without = Self.read(Array(mov[ftypSize...]), name: "clip")
        #expect(without.format == "mov" && without.kind == .video && without.error == nil, "\(without.error ?? "")")
        #expect(without.found == withFtyp.found)
        // Named as a video but no known format at all: told, not passed as healthy.
        #expect(Self.read([1, 2, 3], name: "clip.mp4").error == "not an image or video format mediasync knows (first bytes: 01 02 03)")
        #expect(Self.read([], name: "clip.webm").error == "empty file")
        #expect(Self.read([1, 2, 3], name: "notes.txt").error == nil)
    }

    @Test func videoCommentMembers() {
        let comment = #"{"prompt": "{\"3\": {\"inputs\": {\"text\": \"\u732b \ud83d\udc31\"}}}", "workflow": {"nodes": [1, {"a": "}"}]}, "extra": 5 }"#
        let texts = VideoComment.expand([MediaText(keyword: "encoder", value: "Lavf"), MediaText(keyword: "comment", value: comment)])
        #expect(texts == [MediaText(keyword: "encoder", value: "Lavf"),
                          MediaText(keyword: "prompt", value: #"{"3": {"inputs": {"text": "猫 🐱"}}}"#),
                          MediaText(keyword: "workflow", value: #"{"nodes": [1, {"a": "}"}]}"#),
                          MediaText(keyword: "extra", value: "5")])
        #expect(JSONMembers.unescape(#"\u732b \ud83d\udc31 \n"#.utf8[...].map { $0 }[...]) == "猫 🐱 \n")
        // Not an object, or an object without prompt or workflow: the comment stays as it is.
        for other in ["plain words", "[1, 2]", #"{"title": "x"}"#, #"{"prompt": "x""#, String(repeating: "[", count: 100_000)] {
            #expect(VideoComment.expand([MediaText(keyword: "comment", value: other)]) == [MediaText(keyword: "comment", value: other)])
        }
    }
}
