import Foundation
import GRDB
import Logging
import MediaSyncCore

/// The kept log: `<state_dir>/logs.sqlite`, bounded to the newest `maxRows` entries, queried by `mediasync logs`.
///
/// SQLite rather than a rotating text file because `mediasync logs` filters by cycle, source, level and time,
/// which an index answers without reading every file, and because GRDB is already here for the manifest. Its
/// own file (not a table in the manifest) so a burst of log writes never holds the manifest's write lock.
///
/// The bound is a row count: ids only grow, so `MAX(id) - MIN(id) + 1` is the row count without a scan,
/// and trimming is one `DELETE ... WHERE id <= ?` on the primary key. It runs only once the table is
/// `trimSlack` rows over the bound, so the delete happens in batches, not once per insert. Messages are cut at
/// `maxMessageBytes`, so the row bound is also a size bound (about 20 MB at the default, usually far less).
///
/// ```swift
/// let store = try LogStore(stateDirectory: "/var/lib/mediasync")
/// try store.insert([LogEntry(timeMs: now, level: .info, message: "cycle 3 started", cycle: 3)])
/// let errors = try store.entries(LogQuery(minimumLevel: .error, sinceMs: now - 7_200_000))
/// ```
public final class LogStore: Sendable {
    /// The file name inside the state directory.
    public static let fileName = "logs.sqlite"
    public static let defaultMaxRows = 100_000
    public static let maxMessageBytes = 4096

    private let queue: DatabaseQueue
    /// Where the database lives, for messages.
    public let path: String
    public let maxRows: Int
    /// How far over `maxRows` the table may grow before a trim brings it back to `maxRows`.
    public let trimSlack: Int

    /// Opens (creating when missing, with the state directory) `<stateDirectory>/logs.sqlite`.
    public convenience init(stateDirectory: String, maxRows: Int = LogStore.defaultMaxRows) throws {
        do {
            try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw LogStoreError(path: stateDirectory + "/" + Self.fileName, underlying: error)
        }
        try self.init(path: stateDirectory + "/" + Self.fileName, maxRows: maxRows)
    }

    /// Opens the log at `path`. `readOnly` never creates or migrates: what `mediasync logs` uses, so looking
    /// at the logs cannot change them. `busyTimeout`: how long a write waits for a lock held elsewhere before
    /// its batch fails (the writer thread waits, never the loop).
    public init(path: String, maxRows: Int = LogStore.defaultMaxRows, trimSlack: Int? = nil,
                readOnly: Bool = false, busyTimeout: TimeInterval = 5) throws {
        var configuration = Configuration()
        configuration.readonly = readOnly
        if !readOnly { configuration.journalMode = .wal }
        configuration.busyMode = .timeout(busyTimeout)
        self.path = path
        self.maxRows = max(1, maxRows)
        self.trimSlack = max(1, trimSlack ?? self.maxRows / 10)
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            if !readOnly { try Self.migrator.migrate(queue) }
        } catch {
            throw LogStoreError(path: path, underlying: error)
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            // AUTOINCREMENT: ids are never reused after a trim, so id order is insertion order forever.
            try db.execute(sql: """
                CREATE TABLE log_entry (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    time_ms INTEGER NOT NULL,
                    level INTEGER NOT NULL,
                    message TEXT NOT NULL,
                    cycle INTEGER,
                    source TEXT,
                    folder TEXT,
                    fields TEXT
                );
                CREATE INDEX log_entry_time ON log_entry (time_ms);
                CREATE INDEX log_entry_cycle ON log_entry (cycle);
                CREATE INDEX log_entry_source ON log_entry (source);
                """)
        }
        return migrator
    }

    /// Writes a batch in one transaction, then trims when the table is over its bound.
    public func insert(_ entries: [LogEntry]) throws {
        guard !entries.isEmpty else { return }
        do {
            try queue.write { db in
                let statement = try db.cachedStatement(sql: """
                    INSERT INTO log_entry (time_ms, level, message, cycle, source, folder, fields)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """)
                for entry in entries {
                    try statement.execute(arguments: [entry.timeMs, entry.level.severity,
                                                      Self.cut(entry.message), entry.cycle, entry.source,
                                                      entry.folder, Self.encode(entry.fields)])
                }
                try trimIfNeeded(db)
            }
        } catch {
            throw LogStoreError(path: path, underlying: error)
        }
    }

    private func trimIfNeeded(_ db: Database) throws {
        guard let row = try Row.fetchOne(db, sql: "SELECT MIN(id), MAX(id) FROM log_entry"),
              let low: Int64 = row[0], let high: Int64 = row[1] else { return }
        guard high - low + 1 > Int64(maxRows + trimSlack) else { return }
        try db.execute(sql: "DELETE FROM log_entry WHERE id <= ?", arguments: [high - Int64(maxRows)])
    }

    /// Entries matching `query`, oldest first; with a limit, the newest `limit` of them.
    public func entries(_ query: LogQuery) throws -> [LogEntry] {
        try recent(query).entries
    }

    /// `entries(query)` and, read in the same transaction, the id of the newest entry in the log (0 when it is
    /// empty): where `entries(after:matching:)` goes on from, so nothing written in between is missed.
    public func recent(_ query: LogQuery) throws -> (entries: [LogEntry], newestId: Int64) {
        var (sql, arguments) = Self.select(query)
        sql += " ORDER BY id DESC"
        if let limit = query.limit { sql += " LIMIT ?"; arguments += [limit] }
        return try reading { db in
            let entries = try Row.fetchAll(db, sql: sql, arguments: arguments).reversed().map(Self.entry)
            return (entries, try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM log_entry") ?? 0)
        }
    }

    /// Entries with an id above `afterId` that match `query` (its `limit` aside), oldest first, at most `max`
    /// of them; and `readThrough`, the id the next call goes on from (entries that did not match are not read
    /// again). One short read transaction, ended before returning: a follower never holds back a checkpoint.
    public func entries(after afterId: Int64, matching query: LogQuery,
                        max: Int = 1000) throws -> (entries: [LogEntry], readThrough: Int64) {
        var (sql, arguments) = Self.select(query, afterId: afterId)
        sql += " ORDER BY id LIMIT ?"
        arguments += [max]
        return try reading { db in
            let rows = try Row.fetchAll(db, sql: sql, arguments: arguments)
            if rows.count == max, let last = rows.last {
                return (rows.map(Self.entry), last["id"])
            }
            let newest = try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM log_entry") ?? 0
            return (rows.map(Self.entry), Swift.max(afterId, newest))
        }
    }

    private static func select(_ query: LogQuery, afterId: Int64? = nil) -> (String, StatementArguments) {
        var clauses: [String] = []
        var arguments: StatementArguments = []
        if let afterId { clauses.append("id > ?"); arguments += [afterId] }
        if let cycle = query.cycle { clauses.append("cycle = ?"); arguments += [cycle] }
        if let source = query.source { clauses.append("source = ?"); arguments += [source] }
        if let level = query.minimumLevel { clauses.append("level >= ?"); arguments += [level.severity] }
        if let since = query.sinceMs { clauses.append("time_ms >= ?"); arguments += [since] }
        let whereClause = clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")
        return ("SELECT id, time_ms, level, message, cycle, source, folder, fields FROM log_entry" + whereClause,
                arguments)
    }

    private func reading<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try queue.read(body)
        } catch {
            throw LogStoreError(path: path, underlying: error)
        }
    }

    /// Checkpoints the WAL into the database and empties it; false when a reader's open transaction kept part
    /// of it (what a follower must never do). For tests.
    func checkpointTruncating() throws -> Bool {
        try queue.writeWithoutTransaction { db in
            let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            return row?[0] as Int? == 0
        }
    }

    /// Number of entries kept.
    public func count() throws -> Int {
        do {
            return try queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM log_entry") ?? 0 }
        } catch {
            throw LogStoreError(path: path, underlying: error)
        }
    }

    private static func entry(_ row: Row) -> LogEntry {
        let severity: Int = row["level"]
        let levels = Logger.Level.allCases
        return LogEntry(timeMs: row["time_ms"], level: levels[min(max(severity, 0), levels.count - 1)],
                        message: row["message"], cycle: row["cycle"], source: row["source"],
                        folder: row["folder"], fields: decode(row["fields"]))
    }

    static func cut(_ message: String) -> String {
        guard message.utf8.count > maxMessageBytes else { return message }
        // A character split at the cut becomes U+FFFD: good enough for a message this long.
        return String(decoding: message.utf8.prefix(maxMessageBytes), as: UTF8.self) + "…"
    }

    static func encode(_ fields: [String: String]) -> String? {
        guard !fields.isEmpty else { return nil }
        var w = JSONWriter()
        w.object { o in for key in fields.keys.sorted() { o.field(key, Self.cut(fields[key]!)) } }
        return String(decoding: w.bytes, as: UTF8.self)
    }

    static func decode(_ text: String?) -> [String: String] {
        guard let text, let data = text.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        return object.compactMapValues { $0 as? String }
    }
}

/// What `mediasync logs` asks for; every filter is optional and they all apply together.
public struct LogQuery: Sendable, Equatable {
    public var cycle: Int64?
    public var source: String?
    /// This level and more severe.
    public var minimumLevel: Logger.Level?
    /// Entries at or after this time (milliseconds since the epoch).
    public var sinceMs: Int64?
    /// Only the newest this many.
    public var limit: Int?

    public init(cycle: Int64? = nil, source: String? = nil, minimumLevel: Logger.Level? = nil,
                sinceMs: Int64? = nil, limit: Int? = nil) {
        self.cycle = cycle
        self.source = source
        self.minimumLevel = minimumLevel
        self.sinceMs = sinceMs
        self.limit = limit
    }
}

/// The log store could not be opened, written or read; names the file.
public struct LogStoreError: Error, CustomStringConvertible {
    public let path: String
    public let underlying: any Error
    public var description: String {
        "log store \(path): \(underlying); check that the state directory is writable by this user and the disk is not full"
    }
}
