import Foundation
import MediaSyncCore
import Testing

@Suite struct MediaMetadataTests {
    private func write(_ bytes: [UInt8], as name: String, in dir: URL) throws -> [UInt8] {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return Array(url.path.utf8)
    }

    private func sha256sum(_ path: [UInt8]) throws -> String {
        String(String(decoding: try runTool(["sha256sum", String(decoding: path, as: UTF8.self)]), as: UTF8.self).prefix(64))
    }

    private func object(_ meta: MediaMetadata) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(meta.json())) as? [String: Any])
    }

    @Test func forgeFileReadOnceGivesHashSizeAndParameters() throws {
        let dir = try mediaTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let parameters = PNGWriter.forgeParameters(prompt: "a \"quoted\" cat\nnew line", seed: 12, width: 300, height: 200)
        let png = try PNGWriter.encode(width: 300, height: 200, pixels: PNGWriter.gradient(width: 300, height: 200, seed: 4),
                                       chunks: [.tEXt("parameters", parameters), .iTXt("Software", "Forge ✓")])
        let path = try write(png, as: "00012-3912345.png", in: dir)
        // Small chunks so the parse crosses chunk boundaries the way a big file does.
        let meta = MediaMetadata.read(path: path, chunkSize: 4_096)
        #expect(meta.error == nil)
        #expect(meta.sha256 == (try sha256sum(path)))
        #expect(meta.size == Int64(png.count))
        let json = try object(meta)
        #expect(json["kind"] as? String == "image")
        #expect(json["format"] as? String == "png")
        #expect(json["width"] as? Int == 300 && json["height"] as? Int == 200)
        #expect(json["parameters"] as? String == parameters)
        #expect((json["texts"] as? [String: String]) == ["Software": "Forge ✓"])
        #expect(json["error"] == nil && json["prompt"] == nil)
    }

    @Test func comfyUIFileSurfacesPromptAndWorkflow() throws {
        let dir = try mediaTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try write(try comfyUIPNG(seed: 8, chunkTypes: ("tEXt", "zTXt")), as: "ComfyUI_00001_.png", in: dir)
        let json = try object(MediaMetadata.read(path: path))
        #expect(json["prompt"] as? String == PNGWriter.comfyUIPrompt(text: "a lighthouse at dusk", seed: 8))
        #expect(json["workflow"] as? String == PNGWriter.comfyUIWorkflow(seed: 8))
        #expect(json["texts"] == nil)
    }

    @Test func truncatedPNGStillHasHashAndSaysWhy() throws {
        let dir = try mediaTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let png = try comfyUIPNG(seed: 2)
        let path = try write(Array(png.prefix(png.count / 2)), as: "half-written.png", in: dir)
        let meta = MediaMetadata.read(path: path)
        #expect(meta.error?.hasPrefix("truncated") == true)
        #expect(meta.sha256 == (try sha256sum(path)))
        #expect(meta.kind == .image && meta.png?.width == 24)
    }

    @Test func kindComesFromMagicBytesBeforeTheName() throws {
        let dir = try mediaTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let mp4 = [0, 0, 0, 0x18] + Array("ftypisom".utf8) + [UInt8](repeating: 0, count: 40)
        let cases: [(String, [UInt8], MediaKind, String?)] = [
            ("clip.bin", mp4, .video, "mp4"),
            ("photo.jpg", [0xff, 0xd8, 0xff, 0xe0] + [UInt8](repeating: 7, count: 100), .image, "jpeg"),
            ("no-extension", try comfyUIPNG(seed: 1), .image, "png"),
            ("anim.webm", [0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x84] + Array("webm".utf8), .video, "webm"),
            ("notes.txt", Array("BM is not a bitmap here".utf8), .other, nil),
            ("tiny.mp4", [1, 2], .video, nil),
        ]
        for (name, bytes, kind, format) in cases {
            let meta = MediaMetadata.read(path: try write(bytes, as: name, in: dir))
            #expect(meta.kind == kind, "\(name)")
            #expect(meta.format == format, "\(name)")
            #expect(meta.png == nil || format == "png", "\(name)")
            #expect(meta.size == Int64(bytes.count))
        }
        let fake = MediaMetadata.read(path: try write([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3], as: "fake.png", in: dir))
        #expect(fake.error == "named .png but the content is jpeg")
        let garbage = MediaMetadata.read(path: try write(Array("hello".utf8), as: "x.png", in: dir))
        #expect(garbage.error == "not a PNG: only 5 bytes")
    }

    @Test func unreadableFileGivesAnErrorAndNoHash() throws {
        let meta = MediaMetadata.read(path: Array("/nonexistent/mediasync/\(UUID().uuidString).png".utf8))
        #expect(meta.error?.contains("cannot open /nonexistent/mediasync/") == true)
        #expect(meta.error?.contains("No such file or directory") == true)
        #expect(meta.sha256 == nil)
        let json = try object(meta)
        #expect(json["sha256"] == nil && json["kind"] as? String == "image")
    }
}
