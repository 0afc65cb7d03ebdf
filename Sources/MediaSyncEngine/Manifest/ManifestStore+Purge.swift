import Foundation
import GRDB
import GRDBSQLite
import MediaSyncCore

/// One file deleted from a source, as the purge audit keeps it.
public struct PurgeAuditEntry: Sendable, Equatable {
    /// When the source reported the deletion, seconds since the epoch (host clock).
    public var time: Int64
    public var source: String
    public var folder: String
    /// Path inside the folder, raw bytes.
    public var path: [UInt8]
    public var size: Int64
    public var mtime: Int64
    /// Where its copy lives, relative to the library root.
    public var libraryPath: [UInt8]
    /// The cycle that purged it (0 for `mediasync purge` outside a cycle).
    public var cycle: Int64

    public init(time: Int64, source: String, folder: String, path: [UInt8], size: Int64, mtime: Int64,
                libraryPath: [UInt8], cycle: Int64) {
        self.time = time
        self.source = source
        self.folder = folder
        self.path = path
        self.size = size
        self.mtime = mtime
        self.libraryPath = libraryPath
        self.cycle = cycle
    }
}

extension ManifestStore {
    static func createPurgeAudit(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE purge_audit (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                time INTEGER NOT NULL,
                cycle INTEGER NOT NULL,
                source TEXT NOT NULL,
                folder TEXT NOT NULL,
                path BLOB NOT NULL,
                size INTEGER NOT NULL,
                mtime INTEGER NOT NULL,
                library_path BLOB NOT NULL
            );
            CREATE INDEX purge_audit_time ON purge_audit (time);
            """)
    }

    /// Records deletions in one transaction: all or none; with their ingest events (`outbox`, up to
    /// `outboxLimit` in all) in the same one.
    @discardableResult
    public func recordPurges(_ entries: [PurgeAuditEntry], outbox: [OutboxEntry] = [], outboxLimit: Int = 0) throws
        -> OutboxAppend
    {
        do {
            return try queue.write { db in
                // Bound through SQLite's C API, as the manifest's rows are (`record`): GRDB's boxed arguments cost
                // as much as the insert itself, 20,000 times for a purge of 20,000 files.
                try Self.insert(db, entries, many: Self.auditInsertMany, one: Self.auditInsertOne) { statement, base, entry, next in
                    Self.pinned(entry.source, entry.folder, entry.path, entry.libraryPath) { source, folder, path, library in
                        sqlite3_bind_int64(statement, base + 1, entry.time)
                        sqlite3_bind_int64(statement, base + 2, entry.cycle)
                        sqlite3_bind_text(statement, base + 3, source, -1, nil)
                        sqlite3_bind_text(statement, base + 4, folder, -1, nil)
                        Self.bindBlob(statement, base + 5, path)
                        sqlite3_bind_int64(statement, base + 6, entry.size)
                        sqlite3_bind_int64(statement, base + 7, entry.mtime)
                        Self.bindBlob(statement, base + 8, library)
                        return next()
                    }
                }
                return try Self.appendOutbox(db, outbox, limit: outboxLimit)
            }
        } catch {
            throw ManifestStoreError(path: path, underlying: error)
        }
    }

    private static func auditInsert(_ count: Int) -> String {
        "INSERT INTO purge_audit (time, cycle, source, folder, path, size, mtime, library_path) VALUES "
            + Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?)", count: count).joined(separator: ", ")
    }
    private static let auditInsertMany = auditInsert(rowsPerInsert)
    private static let auditInsertOne = auditInsert(1)

    /// Deletions at or after `since` (seconds since the epoch), oldest first; optionally of some sources only.
    public func purgeHistory(since: Int64, sources: [String]? = nil) throws -> [PurgeAuditEntry] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT time, source, folder, path, size, mtime, library_path, cycle FROM purge_audit
                WHERE time >= ? ORDER BY time, id
                """, arguments: [since]).map { row in
                PurgeAuditEntry(time: row[0], source: row[1], folder: row[2], path: Array(row[3] as Data),
                                size: row[4], mtime: row[5], libraryPath: Array(row[6] as Data), cycle: row[7])
            }.filter { entry in sources?.contains(entry.source) ?? true }
        }
    }
}
