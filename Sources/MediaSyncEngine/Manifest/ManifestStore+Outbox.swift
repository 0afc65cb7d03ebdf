import Foundation
import GRDB
import MediaSyncCore

/// The ingest outbox (docs/ingest-protocol.md): a table of manifest.sqlite, so an event is stored in the
/// same transaction that records its file or its deletion. Rows leave only when the ingest acknowledges them.
extension ManifestStore {
    static func createOutbox(_ db: Database) throws {
        // AUTOINCREMENT: an id is never handed out twice, even after the newest rows were acknowledged.
        try db.execute(sql: """
            CREATE TABLE ingest_outbox (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                type TEXT NOT NULL,
                body BLOB NOT NULL,
                metadata_path BLOB,
                metadata BLOB
            );
            CREATE INDEX ingest_outbox_awaiting ON ingest_outbox (id) WHERE metadata_path IS NOT NULL;
            -- COUNT(*) runs at every append and delete; without a small index it reads every row's page
            -- (metadata makes rows large): 44 ms warm, 1 s cold for 30,000 rows, against microseconds.
            CREATE INDEX ingest_outbox_type ON ingest_outbox (type);
            """)
    }

    /// Stores entries up to `limit` rows in all, inside the caller's transaction.
    static func appendOutbox(_ db: Database, _ entries: [OutboxEntry], limit: Int) throws -> OutboxAppend {
        guard !entries.isEmpty else { return OutboxAppend() }
        let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ingest_outbox") ?? 0
        let stored = min(max(0, limit - count), entries.count)
        let insert = try db.cachedStatement(sql: "INSERT INTO ingest_outbox (type, body, metadata_path) VALUES (?, ?, ?)")
        for entry in entries.prefix(stored) {
            try insert.execute(arguments: [entry.type, Data(entry.body), entry.metadataPath.map { Data($0) }])
        }
        return OutboxAppend(stored: stored, dropped: entries.count - stored, total: count + stored)
    }

    /// Stores entries on their own (a `cycle_finished`), up to `limit` rows in all.
    @discardableResult
    public func appendOutbox(_ entries: [OutboxEntry], limit: Int) throws -> OutboxAppend {
        try write { db in try Self.appendOutbox(db, entries, limit: limit) }
    }

    /// Events waiting for their ack.
    public func outboxCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ingest_outbox") ?? 0 }
    }

    /// The oldest `file_synced` events whose metadata is still to be read: (id, absolute library path).
    public func outboxAwaitingMetadata(limit: Int) throws -> [(id: Int64, path: [UInt8])] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, metadata_path FROM ingest_outbox WHERE metadata_path IS NOT NULL ORDER BY id LIMIT ?
                """, arguments: [limit]).map { ($0[0], Array($0[1] as Data)) }
        }
    }

    /// Stores the metadata read for events, in one transaction; it is then sent with every delivery of them.
    public func setOutboxMetadata(_ batch: [(id: Int64, json: [UInt8])]) throws {
        guard !batch.isEmpty else { return }
        try write { db in
            let update = try db.cachedStatement(sql: "UPDATE ingest_outbox SET metadata = ?, metadata_path = NULL WHERE id = ?")
            for (id, json) in batch { try update.execute(arguments: [Data(json), id]) }
        }
    }

    /// Events after `id`, oldest first, at most `limit`.
    public func outboxItems(after id: Int64, limit: Int) throws -> [OutboxItem] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, type, body, metadata, metadata_path IS NOT NULL FROM ingest_outbox
                WHERE id > ? ORDER BY id LIMIT ?
                """, arguments: [id, limit]).map { row in
                OutboxItem(id: row[0], type: row[1], body: Array(row[2] as Data),
                           metadata: (row[3] as Data?).map { Array($0) }, awaitingMetadata: row[4])
            }
        }
    }

    /// Removes acknowledged events; returns how many were there.
    @discardableResult
    public func deleteOutbox(_ ids: [Int64]) throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try write { db in
            let delete = try db.cachedStatement(sql: "DELETE FROM ingest_outbox WHERE id = ?")
            var removed = 0
            for id in ids {
                try delete.execute(arguments: [id])
                removed += db.changesCount
            }
            return removed
        }
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try queue.write(body)
        } catch {
            throw ManifestStoreError(path: path, underlying: error)
        }
    }
}
