import Foundation
import MediaSyncCore

/// An independent reader of PNG text chunks, in Python with its own zlib: what a media database written in
/// Python would see in the same file.
private let pythonTextReader = #"""
import json, struct, sys, zlib
data = open(sys.argv[1], "rb").read()
pos, out = 8, []
while pos < len(data):
    length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    pos += 12 + length
    if ctype == b"tEXt":
        k, v = body.split(b"\0", 1)
        out.append(["tEXt", k.decode("latin-1"), v.decode("latin-1"), None, None])
    elif ctype == b"zTXt":
        k, v = body.split(b"\0", 1)
        out.append(["zTXt", k.decode("latin-1"), zlib.decompress(v[1:]).decode("latin-1"), None, None])
    elif ctype == b"iTXt":
        k, rest = body.split(b"\0", 1)
        flag, method, rest = rest[0], rest[1], rest[2:]
        lang, rest = rest.split(b"\0", 1)
        tk, text = rest.split(b"\0", 1)
        if flag: text = zlib.decompress(text)
        out.append(["iTXt", k.decode("latin-1"), text.decode("utf-8"), lang.decode(), tk.decode("utf-8")])
    elif ctype == b"IHDR":
        w, h = struct.unpack(">II", body[:8])
print(json.dumps({"width": w, "height": h, "texts": out}))
"""#

/// Writes a PNG with Python's zlib (not ours): IHDR, the given text chunks, one IDAT, IEND.
/// argv: out-path, width, height, then JSON [[type, keyword, value, compressed, lang, translated], ...].
private let pythonWriter = #"""
import json, struct, sys, zlib
path, w, h, chunks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
def chunk(t, body):
    return struct.pack(">I", len(body)) + t + body + struct.pack(">I", zlib.crc32(t + body) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
for t, k, v, comp, lang, tk in chunks:
    key = k.encode("latin-1") + b"\0"
    if t == "tEXt": png += chunk(b"tEXt", key + v.encode("latin-1"))
    elif t == "zTXt": png += chunk(b"zTXt", key + b"\0" + zlib.compress(v.encode("latin-1"), 9))
    else:
        text = v.encode("utf-8")
        png += chunk(b"iTXt", key + bytes([1 if comp else 0, 0]) + lang.encode() + b"\0" + tk.encode("utf-8") + b"\0"
                     + (zlib.compress(text) if comp else text))
png += chunk(b"IDAT", zlib.compress(b"".join(b"\0" + b"\x40" * (3 * w) for _ in range(h))))
png += chunk(b"IEND", b"")
open(path, "wb").write(png)
"""#

struct PythonTexts: Decodable {
    var width: Int
    var height: Int
    var texts: [[String?]]
}

/// A fresh folder under the temp dir, unique per call (tests run in parallel).
func mediaTempDir() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mediasync-media-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// Runs `/usr/bin/env arguments...` (at most 120 s) and returns its stdout; throws with its stderr when it fails.
@discardableResult
func runTool(_ arguments: [String]) throws -> Data {
    let out = try TestProcess.run(["/usr/bin/env"] + arguments)
    guard out.status == 0 else {
        throw PNGError("\(arguments.first ?? "?") failed: " + out.stderr)
    }
    return Data(out.stdout)
}

/// The texts of `png` as Python reads them: [type, keyword, value, language, translated keyword].
func pythonReadTexts(_ png: [UInt8]) throws -> PythonTexts {
    let dir = try mediaTempDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("image.png")
    try Data(png).write(to: file)
    return try JSONDecoder().decode(PythonTexts.self, from: runTool(["python3", "-c", pythonTextReader, file.path]))
}

/// A PNG written by Python's zlib and struct, with `chunks` as [type, keyword, value, compressed, lang, translated].
func pythonWritePNG(width: Int, height: Int, chunks: [[Any]]) throws -> [UInt8] {
    let dir = try mediaTempDir()
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("image.png")
    let json = String(decoding: try JSONSerialization.data(withJSONObject: chunks), as: UTF8.self)
    try runTool(["python3", "-c", pythonWriter, file.path, String(width), String(height), json])
    return Array(try Data(contentsOf: file))
}

/// Our texts in the shape the Python reader prints them.
func swiftTexts(_ meta: PNGMetadata) -> [[String?]] {
    meta.texts.map { [$0.chunk.rawValue, $0.keyword, $0.value, $0.language, $0.translatedKeyword] }
}

/// A ComfyUI-style file: prompt and workflow JSON, written the way Pillow writes them (tEXt).
func comfyUIPNG(seed: Int, chunkTypes: (String, String) = ("tEXt", "tEXt")) throws -> [UInt8] {
    let prompt = PNGWriter.comfyUIPrompt(text: "a lighthouse at dusk", seed: seed)
    let workflow = PNGWriter.comfyUIWorkflow(seed: seed)
    func chunk(_ type: String, _ key: String, _ value: String) -> PNGWriter.TextChunk {
        switch type {
        case "zTXt": .zTXt(key, value)
        case "iTXt": .iTXt(key, value, compressed: true)
        default: .tEXt(key, value)
        }
    }
    return try PNGWriter.encode(width: 24, height: 16, pixels: PNGWriter.gradient(width: 24, height: 16, seed: 3),
                                chunks: [chunk(chunkTypes.0, "prompt", prompt), chunk(chunkTypes.1, "workflow", workflow)])
}
