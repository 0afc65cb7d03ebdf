import Testing
@testable import MediaSyncCore

/// The parser against output recorded from the real rsync 3.5.0 (Fixtures/record.sh).
@Suite struct RsyncFixtureTests {
    @Test(arguments: RsyncFixture.copyingRuns)
    func everyFileComesBackByteForByte(_ run: String) throws {
        let fixture = try RsyncFixture.load(run)
        let expected = try #require(fixture.expectedNames)
        let records = parse(fixture.stdout, .stdout)
        let files = records.files.filter(\.isFile)
        #expect(files.count == expected.count)
        #expect(sortedNames(files.map(\.name)) == sortedNames(expected))
        #expect(files.allSatisfy { $0.transferred && $0.itemize == ">f+++++++++" })
        // The sizes rsync printed add up to the tree.
        #expect(files.reduce(Int64(0)) { $0 + $1.size } == fixture.expectedBytes)
        // Chatter ("created directory ...", blank lines) never becomes a record of its own.
        #expect(records.messages.isEmpty, "stdout messages: \(records.messages.map(\.text))")
    }

    @Test(arguments: RsyncFixture.copyingRuns)
    func finalProgressMatchesTheTree(_ run: String) throws {
        let fixture = try RsyncFixture.load(run)
        let progress = parse(fixture.stdout, .stdout).progress
        let last = try #require(progress.last)
        #expect(last.bytes == fixture.expectedBytes)
        #expect(last.percent == 100)
        #expect(last.checkRemaining == 0)
        #expect(last.totalsGrowing == false)
        #expect(last.transferNumber == fixture.expectedNames?.count)
        // Bytes never go backwards and the rate is a real number.
        #expect(zip(progress, progress.dropFirst()).allSatisfy { $0.bytes <= $1.bytes })
        #expect(progress.contains { $0.bytesPerSecond > 1024 })
        #expect(progress.allSatisfy { $0.seconds >= 0 && $0.seconds < 600 })
    }

    @Test func incrementalRecursionShowsGrowingTotals() throws {
        let progress = parse(try RsyncFixture.load("incremental").stdout, .stdout).progress
        let growing = progress.filter(\.totalsGrowing)
        #expect(!growing.isEmpty)
        // While the list grows, its total is below the final one.
        let finalTotal = try #require(progress.last?.checkTotal)
        #expect(growing.allSatisfy { ($0.checkTotal ?? .max) < finalTotal })
        // Records printed while a file is in flight have no counters.
        #expect(progress.contains { $0.transferNumber == nil && $0.checkTotal == nil })
    }

    @Test func noIncRecursiveKnowsTheTotalFromTheStart() throws {
        let progress = parse(try RsyncFixture.load("no-inc-recursive").stdout, .stdout).progress
        #expect(progress.allSatisfy { !$0.totalsGrowing })
        let totals = Set(progress.compactMap(\.checkTotal))
        #expect(totals.count == 1)
    }

    @Test func allThreeSeparatorStylesGiveTheSameTotals() throws {
        var finals: [Int64] = []
        for run in ["incremental", "locale-de", "no-separators"] {
            let fixture = try RsyncFixture.load(run)
            let progress = parse(fixture.stdout, .stdout).progress
            finals.append(try #require(progress.last).bytes)
        }
        #expect(Set(finals).count == 1)
        // The recordings really differ in their separators (else this test proves nothing).
        let de = String(decoding: try RsyncFixture.load("locale-de").stdout, as: UTF8.self)
        let plain = String(decoding: try RsyncFixture.load("no-separators").stdout, as: UTF8.self)
        #expect(de.contains("25.917.480"))
        #expect(plain.contains(" 25917480 "))
    }

    @Test func namesUnderTheCLocaleAreEscapedAndStillDecodeExactly() throws {
        let fixture = try RsyncFixture.load("names-c")
        // rsync escaped the UTF-8 bytes here; the decoded names must still match the tree.
        #expect(String(decoding: fixture.stdout, as: UTF8.self).contains("\\#360\\#237\\#216\\#250 emoji.png"))
        let names = parse(fixture.stdout, .stdout).files.filter(\.isFile).map(\.name)
        #expect(names.contains(Array("🎨 emoji.png".utf8)))
        #expect(names.contains(Array("back\\#012slash.png".utf8)))
        #expect(names.contains([UInt8]("invalid-".utf8) + [0xFF, 0xFE] + [UInt8]("-utf8.png".utf8)))
        #expect(names.contains(Array("new\nline.png".utf8)))
        #expect(names.contains(Array("carriage\rreturn.png".utf8)))
    }

    @Test func anUnchangedTreeReportsNoFiles() throws {
        let records = parse(try RsyncFixture.load("unchanged").stdout, .stdout)
        #expect(records.files.isEmpty)
        let last = try #require(records.progress.last)
        #expect(last.bytes == 0 && last.checkRemaining == 0 && last.transferNumber == 0)
    }

    @Test(arguments: RsyncFixture.allRuns)
    func chunkingNeverChangesTheRecords(_ run: String) throws {
        let fixture = try RsyncFixture.load(run)
        var random = SeededRandom(seed: UInt64(run.utf8.reduce(7) { $0 &* 31 &+ Int($1) }.magnitude))
        for (bytes, stream) in [(fixture.stdout, RsyncOutputParser.Stream.stdout), (fixture.stderr, .stderr)] {
            let whole = parse(bytes, stream)
            #expect(parse(bytes, stream, nextChunk: { 1 }) == whole)
            #expect(parse(bytes, stream, nextChunk: { Int.random(in: 1...300, using: &random) }) == whole)
            #expect(parse(bytes, stream, nextChunk: { 65536 }) == whole)
        }
    }
}
