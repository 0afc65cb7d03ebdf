import Foundation
import MediaSyncCore
import Testing

/// Checks a PNG the way an independent decoder would, with Python's zlib and struct: signature, IHDR,
/// every chunk's CRC, IDAT inflated, filter bytes, and writes the unfiltered pixels and the tEXt chunks
/// out for comparison.
private let pythonChecker = #"""
import json, struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "signature"
pos, chunks = 8, []
while pos < len(data):
    length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
    assert zlib.crc32(ctype + body) & 0xffffffff == crc, "crc of %r" % ctype
    chunks.append((ctype.decode(), body))
    pos += 12 + length
assert pos == len(data), "trailing bytes"
assert chunks[0][0] == "IHDR" and chunks[-1] == ("IEND", b""), "chunk order"
w, h, depth, color, comp, filt, inter = struct.unpack(">IIBBBBB", chunks[0][1])
channels = {0: 1, 2: 3, 6: 4}[color]
raw = zlib.decompress(b"".join(b for t, b in chunks if t == "IDAT"))
stride = w * channels + 1
assert len(raw) == stride * h, "inflated size"
assert all(raw[r * stride] == 0 for r in range(h)), "filter bytes"
open(sys.argv[2], "wb").write(b"".join(raw[r * stride + 1:(r + 1) * stride] for r in range(h)))
texts = [list(b.decode("latin-1").split("\0", 1)) for t, b in chunks if t == "tEXt"]
print(json.dumps({"width": w, "height": h, "depth": depth, "color": color, "texts": texts}))
"""#

private struct PythonVerdict: Decodable {
    var width: Int
    var height: Int
    var depth: Int
    var color: Int
    var texts: [[String]]
}

private func verifyWithPython(_ png: [UInt8]) throws -> (PythonVerdict, [UInt8]) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mediasync-png-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("00012-3912345.png"), pixels = dir.appendingPathComponent("pixels")
    try Data(png).write(to: file)
    let run = try TestProcess.run(["/usr/bin/env", "python3", "-c", pythonChecker, file.path, pixels.path])
    guard run.status == 0 else {
        throw PNGError("python rejected the PNG: " + run.stderr)
    }
    return (try JSONDecoder().decode(PythonVerdict.self, from: Data(run.stdout)), Array(try Data(contentsOf: pixels)))
}

private let forgeText = PNGWriter.forgeParameters(prompt: "a cat in a hat", seed: 3_912_345, width: 512, height: 512)

@Suite struct PNGWriterTests {
    @Test func forgeStylePNGIsValidAndItsParametersReadBack() throws {
        #expect(forgeText == "a cat in a hat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 3912345, "
                + "Size: 512x512, Model: sdxl")
        let pixels = PNGWriter.gradient(width: 33, height: 17, seed: 3_912_345)
        let png = try PNGWriter.encode(width: 33, height: 17, pixels: pixels, text: [("parameters", forgeText)])
        let (verdict, decoded) = try verifyWithPython(png)
        #expect(verdict.width == 33 && verdict.height == 17 && verdict.depth == 8 && verdict.color == 2)
        #expect(verdict.texts == [["parameters", forgeText]])
        #expect(decoded == pixels)
        let texts = try PNGText.read(png)
        #expect(texts.count == 1 && texts.first?.keyword == "parameters" && texts.first?.value == forgeText)
    }

    @Test func largeImageSpansManyStoredBlocks() throws {
        // 300x300 RGB is 270,300 bytes of scanlines: five stored blocks of at most 65,535 bytes.
        let pixels = PNGWriter.gradient(width: 300, height: 300, seed: 42)
        let png = try PNGWriter.encode(width: 300, height: 300, pixels: pixels,
                                       text: [("prompt", "{\"3\": {\"class_type\": \"KSampler\"}}"),
                                              ("workflow", "{\"nodes\": []}")])
        let (verdict, decoded) = try verifyWithPython(png)
        #expect(decoded == pixels)
        #expect(verdict.texts.map(\.first) == ["prompt", "workflow"])
        #expect(png.count > 270_300 && png.count < 271_000)
    }

    @Test func grayAndRGBAAndLatin1Text() throws {
        let gray = try PNGWriter.encode(width: 2, height: 2, colorType: .gray, pixels: [0, 85, 170, 255],
                                        text: [("Comment", "café ±")])
        let (grayVerdict, grayPixels) = try verifyWithPython(gray)
        #expect(grayVerdict.color == 0 && grayPixels == [0, 85, 170, 255])
        #expect(grayVerdict.texts == [["Comment", "café ±"]])
        #expect(try PNGText.read(gray).first?.value == "café ±")
        let rgba = try PNGWriter.encode(width: 1, height: 1, colorType: .rgba, pixels: [1, 2, 3, 4])
        #expect(try verifyWithPython(rgba).1 == [1, 2, 3, 4])
    }

    @Test func badInputsAreRefusedWithTheReason() {
        #expect(throws: PNGError.self) { try PNGWriter.encode(width: 2, height: 2, pixels: [0, 0, 0]) }
        #expect(throws: PNGError.self) { try PNGWriter.encode(width: 0, height: 2, pixels: []) }
        #expect {
            try PNGWriter.encode(width: 1, height: 1, pixels: [0, 0, 0], text: [("parameters", "猫")])
        } throws: { "\($0)".contains("not Latin-1") }
        #expect(throws: PNGError.self) {
            try PNGWriter.encode(width: 1, height: 1, pixels: [0, 0, 0], text: [(String(repeating: "k", count: 80), "")])
        }
    }

    @Test func corruptedByteIsCaughtByTheCRC() throws {
        var png = try PNGWriter.encode(width: 4, height: 4, pixels: PNGWriter.gradient(width: 4, height: 4, seed: 1),
                                       text: [("parameters", forgeText)])
        png[45] ^= 0x20  // inside the tEXt data
        #expect { try PNGText.read(png) } throws: { "\($0)".contains("bad CRC") }
        #expect(throws: PNGError.self) { try PNGText.read(Array(png.prefix(20))) }
        #expect(throws: PNGError.self) { try PNGText.read(Array("GIF89a".utf8)) }
    }

    @Test func checksumsMatchTheirStandardTestVectors() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xcbf4_3926)
        #expect(PNGWriter.adler32(Array("Wikipedia".utf8)) == 0x11e6_0398)
        // Long input crosses adler32's 5,552-byte reduction boundary: compare with Python's zlib.
        let long = [UInt8](repeating: 0xff, count: 100_000)
        #expect(PNGWriter.adler32(long) == 0x149a_302c)
    }

    @Test(arguments: [
        ("out/00012-3912345.png", MediaKind.image), ("ComfyUI_00001_.PNG", .image), ("a.webp", .image),
        ("clip.mp4", .video), ("x/anim.WEBM", .video), ("README", .other), (".png", .other),
        ("notes.txt", .other), ("dir.png/file", .other),
    ])
    func mediaKindByExtension(path: String, kind: MediaKind) {
        #expect(MediaKind(path: Array(path.utf8)) == kind)
    }
}
