import Foundation
import MediaSyncCore
import Testing

@Suite struct MediaSHA256Tests {
    /// FIPS 180-4 examples (NIST CSRC "SHA256.pdf", "SHA256_2.pdf") and the one-million-a test.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ])
    func knownVectors(input: String, expected: String) {
        #expect(SHA256.hash(Array(input.utf8)).hex == expected)
    }

    @Test func oneMillionA() {
        var h = SHA256()
        let thousand = [UInt8](repeating: 0x61, count: 1_000)
        for _ in 0..<1_000 { h.update(thousand) }
        #expect(h.finalize().hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Every length around the padding boundaries (55, 56, 63, 64...) fed in uneven pieces, checked against
    /// `sha256sum` on the same bytes.
    @Test func matchesSha256sumForEveryLengthAndPieceSize() throws {
        let dir = try mediaTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        var rng = SplitMix(seed: 42)
        let all = (0..<300).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        var names: [String] = []
        var ours: [String] = []
        for length in 0..<200 {
            let bytes = Array(all.prefix(length))
            let name = dir.appendingPathComponent("f\(length)").path
            try Data(bytes).write(to: URL(fileURLWithPath: name))
            names.append(name)
            var h = SHA256()
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + 1 + Int(rng.next() % 70))
                h.update(Array(bytes[offset..<end]))
                offset = end
            }
            ours.append(h.finalize().hex)
        }
        let lines = String(decoding: try runTool(["sha256sum"] + names), as: UTF8.self).split(separator: "\n")
        #expect(lines.map { String($0.prefix(64)) } == ours)
    }
}
