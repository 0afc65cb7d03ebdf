import Foundation
import Logging
import MediaSyncCore
import MediaSyncEngine
import Testing

@Suite struct LogStoreTests {
    @Test func keepsEntriesAndFiltersByCycleSourceLevelAndTime() throws {
        let dir = try LogTestDir()
        defer { dir.remove() }
        let store = try LogStore(stateDirectory: dir.path)
        let base: Int64 = 1_795_170_000_000
        try store.insert([
            LogEntry(timeMs: base, level: .info, message: "cycle 1 started", cycle: 1),
            LogEntry(timeMs: base + 1000, level: .error, message: "gpu1 failed", cycle: 1, source: "gpu1",
                     folder: "outputs", fields: ["error": "ssh: connection refused", "exit_code": "255"]),
            LogEntry(timeMs: base + 2000, level: .warning, message: "forge slow", cycle: 1, source: "forge", folder: "txt2img-images"),
            LogEntry(timeMs: base + 3_600_000, level: .info, message: "cycle 2 started", cycle: 2),
            LogEntry(timeMs: base + 3_601_000, level: .critical, message: "gpu1 disk full", cycle: 2, source: "gpu1", folder: "outputs"),
            LogEntry(timeMs: base + 3_602_000, level: .debug, message: "gpu1 chatter", cycle: 2, source: "gpu1", folder: "outputs"),
        ])
        func messages(_ query: LogQuery) throws -> [String] { try store.entries(query).map(\.message) }

        #expect(try messages(LogQuery()).count == 6)
        #expect(try messages(LogQuery(cycle: 2)) == ["cycle 2 started", "gpu1 disk full", "gpu1 chatter"])
        #expect(try messages(LogQuery(source: "gpu1")) == ["gpu1 failed", "gpu1 disk full", "gpu1 chatter"])
        #expect(try messages(LogQuery(minimumLevel: .warning)) == ["gpu1 failed", "forge slow", "gpu1 disk full"])
        #expect(try messages(LogQuery(minimumLevel: .error)) == ["gpu1 failed", "gpu1 disk full"])
        #expect(try messages(LogQuery(sinceMs: base + 3_600_000)) == ["cycle 2 started", "gpu1 disk full", "gpu1 chatter"])
        #expect(try messages(LogQuery(cycle: 1, source: "gpu1", minimumLevel: .error)) == ["gpu1 failed"])
        #expect(try messages(LogQuery(limit: 2)) == ["gpu1 disk full", "gpu1 chatter"], "the newest, oldest first")
        let failed = try #require(try store.entries(LogQuery(source: "gpu1", minimumLevel: .error)).first)
        #expect(failed.fields == ["error": "ssh: connection refused", "exit_code": "255"])
        #expect(failed.timeMs == base + 1000)
    }

    @Test func staysWithinItsBoundAndKeepsTheNewest() throws {
        let dir = try LogTestDir()
        defer { dir.remove() }
        let store = try LogStore(path: dir.path + "/logs.sqlite", maxRows: 1000, trimSlack: 100)
        var next = 0
        var highest = 0
        for batchSize in Array(repeating: [37, 1, 100, 250, 3], count: 30).flatMap({ $0 }) {
            try store.insert((next..<next + batchSize).map { logEntry($0) })
            next += batchSize
            let count = try store.count()
            highest = max(highest, count)
            #expect(count <= 1100, "over the bound after \(next) entries: \(count) rows")
        }
        #expect(next == 11_730)
        #expect(highest > 1000, "the table did fill up to its bound")
        let kept = try store.entries(LogQuery())
        #expect(kept.count >= 1000 && kept.count <= 1100)
        #expect(kept.last?.message == "entry \(next - 1)", "the newest entry survives")
        // What is kept is the newest run, with no gap: the oldest are the ones trimmed.
        let first = next - kept.count
        #expect(kept.map(\.message) == (first..<next).map { "entry \($0)" })
    }

    @Test func fileSizeStaysBoundedAcrossManyTrims() throws {
        let dir = try LogTestDir()
        defer { dir.remove() }
        let path = dir.path + "/logs.sqlite"
        let store = try LogStore(path: path, maxRows: 2000, trimSlack: 200)
        let longMessage = String(repeating: "x", count: 300)
        func bytes(_ suffix: String) -> Int {
            (try? FileManager.default.attributesOfItem(atPath: path + suffix)[.size] as? Int) ?? 0
        }
        var steady = (main: 0, wal: 0)
        for round in 0..<80 {
            try store.insert((0..<200).map { i in
                LogEntry(timeMs: Int64(round * 200 + i), level: .info, message: longMessage + "\(round)-\(i)")
            })
            // By round 40 the table has been at its bound for a while and the WAL has been checkpointed.
            if round == 40 { steady = (bytes(""), bytes("-wal")) }
        }
        #expect(try store.count() <= 2200)
        // 8x the bound went through; freed pages are reused, so the files stopped growing once full.
        #expect(bytes("") <= steady.main + steady.main / 10, "database grew from \(steady.main) to \(bytes("")) bytes")
        #expect(bytes("-wal") <= steady.wal + steady.wal / 10, "WAL grew from \(steady.wal) to \(bytes("-wal")) bytes")
        // About 2200 rows of ~330 bytes: the database stays near its data, far from 16,000 rows' worth.
        #expect(bytes("") < 2_000_000, "database is \(bytes("")) bytes")
    }

    @Test func veryLongMessagesAreCutSoTheRowBoundIsASizeBound() throws {
        let dir = try LogTestDir()
        defer { dir.remove() }
        let store = try LogStore(stateDirectory: dir.path)
        try store.insert([LogEntry(timeMs: 1, level: .error, message: String(repeating: "é", count: 10_000))])
        let message = try #require(try store.entries(LogQuery()).first?.message)
        #expect(message.utf8.count <= LogStore.maxMessageBytes + 3)
        #expect(message.hasSuffix("…"))
    }

    @Test func readOnlyOpenNeverCreatesAFile() throws {
        let dir = try LogTestDir()
        defer { dir.remove() }
        #expect(throws: LogStoreError.self) { try LogStore(path: dir.path + "/logs.sqlite", readOnly: true) }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/logs.sqlite"))
    }

    @Test func queryFromWhatAPersonTyped() throws {
        let now: Int64 = 1_795_170_000_000
        let query = try LogQuery(cycle: 4, source: "gpu1", level: "warn", since: "2h", limit: 50, nowMs: now)
        #expect(query == LogQuery(cycle: 4, source: "gpu1", minimumLevel: .warning, sinceMs: now - 7_200_000, limit: 50))
        #expect(try LogQuery(cycle: nil, source: nil, level: nil, since: "1h30m", limit: nil, nowMs: now).sinceMs
                == now - 5_400_000)
        let badLevel = #expect(throws: LogQueryError.self) {
            try LogQuery(cycle: nil, source: nil, level: "loud", since: nil, limit: nil, nowMs: now)
        }
        #expect(badLevel?.message.contains("warning, error, critical") == true)
        let badSince = #expect(throws: LogQueryError.self) {
            try LogQuery(cycle: nil, source: nil, level: nil, since: "2 hours", limit: nil, nowMs: now)
        }
        #expect(badSince?.message.contains("90s, 5m") == true)
    }
}
