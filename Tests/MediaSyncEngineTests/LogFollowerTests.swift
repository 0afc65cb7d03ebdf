import Foundation
import Logging
import MediaSyncCore
@testable import MediaSyncEngine
import Testing

/// `LogFollower` (what `mediasync logs --follow` reads with) against real SQLite: a writing store and a
/// read-only one on the same file, as `serve` and `logs -f` have.
@Suite struct LogFollowerTests {
    private func entry(_ message: String, _ level: Logger.Level = .info, source: String? = nil,
                       timeMs: Int64 = 1_795_170_000_000) -> LogEntry {
        LogEntry(timeMs: timeMs, level: level, message: message, cycle: 1, source: source,
                 folder: source == nil ? nil : "outputs")
    }

    @Test func showsTheRecentMatchesThenEachNewMatchOnceInOrder() throws {
        let dir = try LogTestDir()
        defer { dir.remove() }
        let writer = try LogStore(stateDirectory: dir.path)
        try writer.insert((0..<12).map { entry("old \($0)", $0 % 2 == 0 ? .error : .info, source: "gpu1") }
                          + [entry("old other", .error, source: "forge")])
        let follower = LogFollower(store: try LogStore(path: writer.path, readOnly: true),
                                   query: LogQuery(source: "gpu1", minimumLevel: .warning, limit: 3))
        #expect(try follower.start().map(\.message) == ["old 6", "old 8", "old 10"], "the newest 3 that match")
        #expect(try follower.next().isEmpty)

        try writer.insert([entry("new 1", .error, source: "gpu1"), entry("new info", .info, source: "gpu1"),
                           entry("new forge", .critical, source: "forge")])
        try writer.insert([entry("new 2", .warning, source: "gpu1")])
        #expect(try follower.next().map(\.message) == ["new 1", "new 2"])
        #expect(try follower.next().isEmpty, "nothing is shown twice")
        try writer.insert([entry("new 3", .critical, source: "gpu1")])
        #expect(try follower.next().map(\.message) == ["new 3"])
    }

    @Test func limitZeroShowsOnlyNewEntriesAndSinceDoesNotHideThem() throws {
        let dir = try LogTestDir()
        defer { dir.remove() }
        let writer = try LogStore(stateDirectory: dir.path)
        let now: Int64 = 1_795_170_000_000
        try writer.insert([entry("before", timeMs: now)])
        let follower = LogFollower(store: try LogStore(path: writer.path, readOnly: true),
                                   query: LogQuery(sinceMs: now - 1000, limit: 0))
        #expect(try follower.start().isEmpty)
        // A clock stepped back by an hour: the entry is new all the same.
        try writer.insert([entry("after", timeMs: now - 3_600_000)])
        #expect(try follower.next().map(\.message) == ["after"])
    }

    @Test func aBurstComesInPiecesWithNothingLost() throws {
        let dir = try LogTestDir()
        defer { dir.remove() }
        let writer = try LogStore(stateDirectory: dir.path)
        let follower = LogFollower(store: try LogStore(path: writer.path, readOnly: true), query: LogQuery())
        #expect(try follower.start().isEmpty, "an empty log")
        try writer.insert((0..<2500).map { entry("burst \($0)") })
        var seen: [String] = []
        var calls = 0
        while true {
            let piece = try follower.next(max: 1000)
            calls += 1
            seen += piece.map(\.message)
            if piece.count < 1000 { break }
        }
        #expect(calls == 3)
        #expect(seen == (0..<2500).map { "burst \($0)" })
    }

    @Test func keepsFollowingWhileTheLogIsTrimmed() throws {
        let dir = try LogTestDir()
        defer { dir.remove() }
        let writer = try LogStore(path: dir.path + "/logs.sqlite", maxRows: 100, trimSlack: 10)
        let follower = LogFollower(store: try LogStore(path: writer.path, readOnly: true), query: LogQuery())
        _ = try follower.start()
        var seen: [String] = []
        for round in 0..<50 {
            try writer.insert((0..<7).map { entry("r\(round) e\($0)") })
            seen += try follower.next().map(\.message)
        }
        #expect(try writer.count() <= 110, "the log was trimmed all along")
        #expect(seen == (0..<50).flatMap { round in (0..<7).map { "r\(round) e\($0)" } })
    }

    /// A follower runs for days; between its polls the writer must be able to checkpoint the whole WAL.
    @Test func neverHoldsBackTheWritersCheckpoint() throws {
        let dir = try LogTestDir()
        defer { dir.remove() }
        let writer = try LogStore(stateDirectory: dir.path)
        let follower = LogFollower(store: try LogStore(path: writer.path, readOnly: true), query: LogQuery(limit: 10))
        _ = try follower.start()
        for round in 0..<5 {
            try writer.insert((0..<50).map { entry("r\(round) e\($0)") })
            #expect(try follower.next().count == 50)
            #expect(try writer.checkpointTruncating(), "a reader kept part of the WAL in round \(round)")
            let wal = try FileManager.default.attributesOfItem(atPath: writer.path + "-wal")[.size] as? Int
            #expect(wal == 0, "the WAL was emptied")
        }
    }

    /// `logs -f` started while no daemon runs (the WAL and its index are gone), then the daemon starts.
    @Test func followsALogWhoseWriterStartsLater() throws {
        let dir = try LogTestDir()
        defer { dir.remove() }
        let path = dir.path + "/logs.sqlite"
        do {
            let earlier = try LogStore(path: path)
            try earlier.insert([entry("earlier run")])
        }
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"), "the last writer closed the log")
        let follower = LogFollower(store: try LogStore(path: path, readOnly: true), query: LogQuery())
        #expect(try follower.start().map(\.message) == ["earlier run"])
        let writer = try LogStore(path: path)
        try writer.insert([entry("daemon started")])
        #expect(try follower.next().map(\.message) == ["daemon started"])
    }
}
