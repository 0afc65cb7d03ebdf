import Foundation
@testable import MediaSyncCore

/// One recorded rsync run from Fixtures/ (see Fixtures/record.sh).
struct RsyncFixture: CustomStringConvertible {
    var description: String { "fixture \(name)" }
    let name: String
    let stdout: [UInt8]
    let stderr: [UInt8]
    let exitCode: Int32
    /// The source tree's regular files, relative paths, exact bytes (nil for runs that copy nothing).
    let expectedNames: [[UInt8]]?
    /// The source tree's total size in bytes.
    let expectedBytes: Int64?

    static let copyingRuns = ["incremental", "no-inc-recursive", "locale-de", "no-separators",
                              "names-utf8", "names-c", "ssh", "ssh-names"]
    static let allRuns = copyingRuns + ["unchanged", "missing-source", "ssh-no-rsync", "ssh-denied",
                                        "ssh-hostkey", "ssh-refused", "ssh-hostkey-changed", "ssh-unknown-host",
                                        "ssh-noisy-shell", "ssh-timeout"]

    static func load(_ name: String) throws -> RsyncFixture {
        guard let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            throw FixtureError(message: "Fixtures folder missing from the test bundle")
        }
        let dir = root.appendingPathComponent(name)
        func bytes(_ file: String) throws -> [UInt8] {
            [UInt8](try Data(contentsOf: dir.appendingPathComponent(file)))
        }
        func text(_ file: String) throws -> String? {
            let url = dir.appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: url.path) else { return nil }
            return String(decoding: try Data(contentsOf: url), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var names: [[UInt8]]?
        if FileManager.default.fileExists(atPath: dir.appendingPathComponent("names").path) {
            names = try bytes("names").split(separator: 0, omittingEmptySubsequences: true).map(Array.init)
        }
        guard let exitText = try text("exit"), let exit = Int32(exitText) else {
            throw FixtureError(message: "fixture \(name) has no exit file")
        }
        return RsyncFixture(name: name, stdout: try bytes("stdout"), stderr: try bytes("stderr"),
                            exitCode: exit, expectedNames: names,
                            expectedBytes: try text("bytes").flatMap { Int64($0) })
    }
}

struct FixtureError: Error { let message: String }

/// Parses a whole stream, fed in chunks whose sizes `nextChunk` picks.
func parse(_ bytes: [UInt8], _ stream: RsyncOutputParser.Stream,
           nextChunk: () -> Int = { Int.max }) -> [RsyncRecord] {
    var parser = RsyncOutputParser(stream: stream)
    var records: [RsyncRecord] = []
    var offset = 0
    while offset < bytes.count {
        let size = max(1, min(nextChunk(), bytes.count - offset))
        records += parser.feed(bytes[offset..<offset + size])
        offset += size
    }
    return records + parser.finish()
}

extension Array where Element == RsyncRecord {
    var progress: [RsyncProgress] { compactMap { if case .progress(let p) = $0 { p } else { nil } } }
    var files: [RsyncFileRecord] { compactMap { if case .file(let f) = $0 { f } else { nil } } }
    var messages: [RsyncMessage] { compactMap { if case .message(let m) = $0 { m } else { nil } } }
}

/// A small seeded generator (SplitMix64) so random tests repeat exactly.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension SeededRandom {
    /// The seed of a randomized test: `MEDIASYNC_TEST_SEED` (decimal or 0x hex) to replay or explore, else
    /// `fallback`, so every run checks the same samples. Put it in every failure message.
    static func testSeed(fallback: UInt64) -> UInt64 {
        guard let text = ProcessInfo.processInfo.environment["MEDIASYNC_TEST_SEED"], !text.isEmpty else { return fallback }
        if text.hasPrefix("0x") { return UInt64(text.dropFirst(2), radix: 16) ?? fallback }
        return UInt64(text) ?? fallback
    }
}

func sortedNames(_ names: [[UInt8]]) -> [[UInt8]] {
    names.sorted { $0.lexicographicallyPrecedes($1) }
}
