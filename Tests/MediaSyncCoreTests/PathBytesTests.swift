import MediaSyncCore
import Testing

/// Paths compared with `memcmp` must sort and match exactly as byte arrays do: the plan's order, the manifest's
/// BLOB order and the streams' shares all rest on it.
@Suite("path bytes")
struct PathBytesTests {
    @Test("precedes and equal agree with the byte arrays' own order and equality, high bytes and prefixes included")
    func sameAsArrays() {
        var generator = SystemRandomNumberGenerator()
        // Short paths over a small alphabet, so that equal paths, prefixes and bytes over 0x7f all occur.
        let alphabet: [UInt8] = [0x2e, 0x2f, 0x61, 0x62, 0x7f, 0x80, 0xc3, 0xff]
        let paths: [[UInt8]] = (0..<400).map { _ in
            (0..<Int.random(in: 0...4, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
        }
        for a in paths {
            for b in paths.prefix(60) {
                #expect(PathBytes.precedes(a, b) == a.lexicographicallyPrecedes(b), "\(a) \(b)")
                #expect(PathBytes.equal(a, b) == (a == b), "\(a) \(b)")
                #expect(PathBytes.equal(a[...], b[...]) == (a == b), "\(a) \(b)")
                #expect((PathKey(a) == PathKey(b)) == (a == b))
            }
        }
        #expect(PathBytes.precedes([], [0]) && !PathBytes.precedes([0], []) && !PathBytes.precedes([], []))
        #expect(PathBytes.precedes(Array("a.png".utf8), Array("a/b.png".utf8)), "'.' sorts before '/'")
    }
}
