import MediaSyncCore
import Testing

/// The listing read as it arrives (so a big folder is not held twice) gives exactly what parsing the whole
/// output gives, files or error, however the output is split into reads.
@Suite struct RemoteListingReaderTests {
    static func findOutput(_ records: [String], noise: String = "", marker: Bool = true, clock: String = "1795168900",
                           format: String = "find") -> [UInt8] {
        var out = Array(noise.utf8)
        if marker { out += Array((RemoteListingParser.startMarker + "\n").utf8) }
        out += Array("\(clock)\n\(format)\n".utf8)
        for record in records { out += Array(record.utf8) + [0] }
        return out
    }

    static let good = ["1795168800.5 3000000 a b.png", "1795168801 1 new\nline.png", "-86400 13 old.png",
                       "1795168802 7 sub/deeper/😀 é.png", "1795168803 0 z"]

    static var cases: [(String, [UInt8])] {
        var all: [(String, [UInt8])] = [
            ("find", findOutput(good)),
            ("empty find", findOutput([])),
            ("bad record in the middle", findOutput(good + ["x y"] + good)),
            ("bad size", findOutput(["1 2x a"])),
            ("cut short", Array(findOutput(good).dropLast(3))),
            ("noise before the marker", findOutput(good, noise: "Welcome to your GPU box!\n")),
            ("noise without newline", findOutput(good, noise: "banner")),
            ("no marker (older script)", findOutput(good, marker: false)),
            ("bad clock", findOutput(good, clock: "soon")),
            ("absent", findOutput([], format: "absent")),
            ("unknown format", findOutput(good, format: "ls")),
            ("rsync", Array((RemoteListingParser.startMarker + "\n1795168900\nrsync\n").utf8)
                + Array("-rw-r--r--          1,234 2026/11/30 10:00:00 a.png\n".utf8)),
            ("header only", Array((RemoteListingParser.startMarker + "\n17951").utf8)),
            ("nothing", []),
        ]
        all.append(("long noise", findOutput(good, noise: String(repeating: "motd line\n", count: 8_000))))
        return all
    }

    static func whole(_ output: [UInt8]) -> String {
        do { return "\(try RemoteListingParser.parseScriptOutput(output))" } catch { return "error: \(error)" }
    }

    static func read(_ output: [UInt8], cuts: [Int]) -> (String, RemoteShellNoise?) {
        var reader = RemoteListingReader()
        var from = 0
        for cut in cuts.sorted() + [output.count] where cut >= from {
            reader.feed(Array(output[from..<cut]))
            from = cut
        }
        let noise = reader.shellNoise
        do { return ("\(try reader.finish())", noise) } catch { return ("error: \(error)", noise) }
    }

    @Test(arguments: 0..<15)
    func anySplitGivesWhatTheWholeOutputGives(caseIndex: Int) {
        let (name, output) = Self.cases[caseIndex]
        let expected = Self.whole(output)
        var random = SeededRandom(seed: UInt64(caseIndex) &+ 0x5eed)
        // One read, one byte at a time, and 50 random splits.
        var splits: [[Int]] = [[], Array(0..<output.count)]
        for _ in 0..<50 {
            splits.append((0..<Int.random(in: 1...12, using: &random)).map { _ in Int.random(in: 0...output.count, using: &random) })
        }
        for cuts in splits {
            let (got, noise) = Self.read(output, cuts: cuts)
            #expect(got == expected, "\(name), seed \(caseIndex), cuts \(cuts.prefix(12))")
            #expect((noise != nil) == (RemoteListingParser.shellNoise(in: output) != nil), "\(name): shell noise")
            if got != expected { return }
        }
    }

    @Test func theFindCaseReallyStreams() throws {
        // The whole point: records become files as they arrive, so the reader does not keep the raw output.
        var reader = RemoteListingReader()
        reader.feed(Self.findOutput(Self.good))
        let listing = try reader.finish()
        #expect(listing.format == .find)
        #expect(listing.files.count == Self.good.count)
        #expect(listing.files.map { String(decoding: $0.path, as: UTF8.self) }.first == "a b.png")
    }
}
