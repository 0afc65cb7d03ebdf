import Foundation
import Testing
@testable import MediaSyncCore

@Suite("JSON lines writer")
struct JSONWriterTests {
    private func decode(_ bytes: [UInt8]) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(bytes))
        return try #require(object as? [String: Any])
    }

    @Test("keys come out in the order written, values typed")
    func orderAndTypes() throws {
        var w = JSONWriter()
        w.object { o in
            o.field("v", 1)
            o.field("seq", Int64(42))
            o.field("type", "progress")
            o.field("ok", true)
            o.field("rate", 1234.56, decimals: 1)
            o.null("eta_s")
            o.object("overall") { $0.field("percent", 12.0) }
            o.array("jobs", ["a/b", "c/d"]) { item, name in item.field("job", name) }
            o.stringArray("sources", ["x", "y"])
        }
        let text = String(decoding: w.bytes, as: UTF8.self)
        #expect(text.hasPrefix(#"{"v":1,"seq":42,"type":"progress","#))
        let json = try decode(w.bytes)
        #expect(json["rate"] as? Double == 1234.6)
        #expect(json["eta_s"] is NSNull)
        #expect((json["jobs"] as? [[String: Any]])?.map { $0["job"] as? String } == ["a/b", "c/d"])
        #expect((json["overall"] as? [String: Any])?["percent"] as? Int == 12)
    }

    @Test("every control character, quote and backslash in a name survives a JSON round trip")
    func escaping() throws {
        var name: [UInt8] = Array(0..<0x20) + Array("\"\\/ tab\tdone 🎨".utf8) + [0x7F]
        name += Array("é".utf8)
        var w = JSONWriter()
        w.object { $0.field("path", bytes: name) }
        #expect(!w.bytes.contains(0x0A), "a newline in a name must not split the JSON line")
        let json = try decode(w.bytes)
        #expect(json["path"] as? String == String(decoding: name, as: UTF8.self))
    }

    @Test("invalid UTF-8 still gives valid JSON, with U+FFFD in place of the bad bytes")
    func invalidUTF8() throws {
        let name: [UInt8] = Array("img-".utf8) + [0xFF, 0xFE] + Array(".png".utf8)
        #expect(!JSONWriter.isValidUTF8(name))
        var w = JSONWriter()
        w.object { $0.field("path", bytes: name) }
        let json = try decode(w.bytes)
        #expect(json["path"] as? String == "img-\u{FFFD}\u{FFFD}.png")
    }

    @Test("decimals are formatted without exponents and trimmed", arguments: [
        (0.0, 1, "0"), (12.5, 1, "12.5"), (99.96, 1, "100"), (-3.25, 2, "-3.25"), (1e12, 1, "1000000000000"),
        (0.05, 1, "0.1"), (7.0, 3, "7"), (0.001, 3, "0.001"),
    ])
    func decimals(value: Double, decimals: Int, expected: String) {
        #expect(JSONWriter.formatDecimal(value, decimals: decimals) == expected)
    }

    // Found by bin/fuzz event-json (crash input in Sources/mediasync-fuzz/Corpus/event-json/crash-formatDecimal-huge):
    // a finite Double of 2^63 or more trapped converting to Int64 ("NaN and infinity become null" promised
    // every other Double is written).
    @Test("a finite Double past Int64 is written as a JSON number, not a crash", arguments: [
        9.223372036854775807e18, -9.223372036854775807e18, 1e20, -1e20, 1.5e300, Double.greatestFiniteMagnitude,
    ])
    func hugeDouble(value: Double) throws {
        for decimals in 0...3 {
            var w = JSONWriter()
            w.object { $0.field("seconds", value, decimals: decimals) }
            let json = try decode(w.bytes)
            #expect(json["seconds"] as? Double == value, "\(String(decoding: w.bytes, as: UTF8.self))")
        }
        // Just below 2^63 stays a plain integer.
        #expect(JSONWriter.formatDecimal(9.2e18, decimals: 1) == "9200000000000000000")
    }

    // Found by bin/fuzz event-json once its Int64s included the type's edges (input:
    // Sources/mediasync-fuzz/Corpus/event-json/random-600, which builds an event at Int64.min + 1 ms):
    // floorDiv negated its argument and overflowed for any time within a day of Int64.min. Expected strings
    // computed with Python's exact integers and the same civil-from-days algorithm.
    @Test("a time at the edge of Int64 is formatted, not a crash", arguments: [
        (Int64.min, "-292275055-05-16T16:47:04.192Z"), (Int64.min + 1, "-292275055-05-16T16:47:04.193Z"),
        (Int64.max, "292278994-08-17T07:12:55.807Z"), (-1, "1969-12-31T23:59:59.999Z"),
        (-86_400_001, "1969-12-30T23:59:59.999Z"),
    ])
    func timestampEdges(ms: Int64, expected: String) {
        #expect(Timestamp.rfc3339(milliseconds: ms) == expected)
    }

    @Test("timestamps match Foundation's RFC 3339 formatter over a wide range")
    func timestamps() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        // Seeded, so a failure replays: MEDIASYNC_TEST_SEED=<seed> swift test --filter JSONWriterTests.
        let seed = SeededRandom.testSeed(fallback: 0x7173_5EED)
        var rng = SeededRandom(seed: seed)
        var samples: [Int64] = [0, 951_782_400_000, 1_764_157_177_123, 4_102_444_800_999, -86_400_001]
        for _ in 0..<500 { samples.append(Int64.random(in: -2_000_000_000_000...8_000_000_000_000, using: &rng)) }
        for ms in samples {
            let date = Date(timeIntervalSince1970: Double(ms) / 1000)
            #expect(Timestamp.rfc3339(milliseconds: ms) == formatter.string(from: date), "ms=\(ms) (seed \(seed))")
        }
        #expect(Timestamp.days(year: 2026, month: 11, day: 26) == 20_783, "2026-11-26 is day 20,783 (date -ud 2026-11-26 +%s / 86400)")
    }
}
