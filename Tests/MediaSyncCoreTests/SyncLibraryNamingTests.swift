import MediaSyncCore
import Testing

private func b(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite struct SyncLibraryNamingTests {
    @Test(arguments: [
        ("forge/txt2img/00012-3912345.png", "forge/txt2img/00012-3912345~2.png"),
        ("a/README", "a/README~2"),
        ("a/.hidden", "a/.hidden~2"),
        ("a/.config.json", "a/.config~2.json"),
        ("a/archive.tar.gz", "a/archive.tar~2.gz"),
        ("dir.d/noext", "dir.d/noext~2"),
        ("plain.png", "plain~2.png"),
    ])
    func alternativeKeepsTheExtension(path: String, expected: String) {
        #expect(LibraryNaming.alternative(b(path), number: 2) == b(expected))
    }

    @Test func alternativeKeepsWeirdBytes() {
        let path: [UInt8] = [0x61, 0x2f, 0xff, 0x0a, 0x2e, 0x70, 0x6e, 0x67]
        #expect(LibraryNaming.alternative(path, number: 3) == [0x61, 0x2f, 0xff, 0x0a] + b("~3.png"))
    }

    @Test func firstFreeSkipsTakenNamesAndGivesUp() {
        let taken: Set<[UInt8]> = [b("x/a~2.png"), b("x/a~3.png")]
        #expect(LibraryNaming.firstFree(b("x/a.png")) { taken.contains($0) } == b("x/a~4.png"))
        #expect(LibraryNaming.firstFree(b("x/a.png"), limit: 50) { _ in true } == nil)
    }

    @Test func joinHandlesEmptyAndSlashedPrefixes() {
        #expect(LibraryNaming.join(prefix: b("forge/out/"), b("a.png")) == b("forge/out/a.png"))
        #expect(LibraryNaming.join(prefix: [], b("a.png")) == b("a.png"))
    }
}
