import Foundation
import GRDB
import GRDBSQLite
import MediaSyncCore

/// The manifest: every file brought home, which remote file it was and where it lives in the library.
///
/// One SQLite file `<state_dir>/manifest.sqlite` in WAL mode. Paths are stored as BLOBs so names that are
/// not UTF-8 keep their exact bytes. A remote path can have several rows over time (name reuse); a
/// library path belongs to at most one row, so two files can never be recorded at the same library name.
///
/// ```swift
/// let store = try ManifestStore(stateDirectory: "/var/lib/mediasync")
/// let rows = try store.rows(source: "gpu1", folder: "/app/outputs")
/// try store.record(plan.transfers.map { $0.manifestRow(source: "gpu1", folder: "/app/outputs", syncedAt: now) })
/// ```
public final class ManifestStore: Sendable {
    /// The file name inside the state directory.
    public static let fileName = "manifest.sqlite"

    /// Internal so that the purge audit (ManifestStore+Purge.swift) shares the database and its lock.
    let queue: DatabaseQueue
    /// Where the database lives, for messages.
    public let path: String

    /// Opens (creating when missing) `<stateDirectory>/manifest.sqlite` and migrates it.
    public convenience init(stateDirectory: String) throws {
        try self.init(path: stateDirectory + "/" + Self.fileName)
    }

    /// Opens (creating when missing) the manifest at `path` and migrates it.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.journalMode = .wal
        // Another process (a second `mediasync` by mistake) holding the write lock: wait, then fail clearly.
        configuration.busyMode = .timeout(5)
        self.path = path
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            // A new manifest takes five migrations, each a transaction: at SQLite's default (FULL) each waits for
            // its own fdatasync, 13 in all before a first sync can list anything. In WAL mode NORMAL stays
            // consistent; a crash may only lose the last migrations, which run again at the next open. Files are
            // recorded at FULL: a row in the manifest is on disk.
            try queue.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = NORMAL") }
            try Self.migrator.migrate(queue)
            try queue.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
        } catch {
            throw ManifestStoreError(path: path, underlying: error)
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE manifest_file (
                    id INTEGER PRIMARY KEY,
                    source TEXT NOT NULL,
                    folder TEXT NOT NULL,
                    remote_path BLOB NOT NULL,
                    size INTEGER NOT NULL,
                    mtime INTEGER NOT NULL,
                    library_path BLOB NOT NULL UNIQUE,
                    synced_at INTEGER NOT NULL,
                    UNIQUE (source, folder, remote_path, size, mtime)
                );
                CREATE INDEX manifest_file_job_path ON manifest_file (source, folder, remote_path);
                """)
        }
        migrator.registerMigration("v2-cycles") { db in
            try db.execute(sql: """
                CREATE TABLE cycle (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    started_at INTEGER NOT NULL,
                    finished_at INTEGER,
                    jobs_done INTEGER,
                    jobs_failed INTEGER,
                    files INTEGER,
                    bytes INTEGER
                );
                """)
        }
        migrator.registerMigration("v3-purge-audit") { db in try Self.createPurgeAudit(db) }
        migrator.registerMigration("v4-ingest-outbox") { db in try Self.createOutbox(db) }
        migrator.registerMigration("v5-two-file-indexes") { db in
            // (source, folder, remote_path) is the leading part of the UNIQUE (source, folder, remote_path, size,
            // mtime) index, which serves every query it served: one index less to write per file recorded.
            try db.execute(sql: "DROP INDEX IF EXISTS manifest_file_job_path")
        }
        return migrator
    }

    /// Starts a cycle and returns its number: 1, 2, 3... over the life of the state directory.
    public func startCycle(at time: Int64) throws -> Int64 {
        do {
            return try queue.write { db in
                try db.execute(sql: "INSERT INTO cycle (started_at) VALUES (?)", arguments: [time])
                return db.lastInsertedRowID
            }
        } catch {
            throw ManifestStoreError(path: path, underlying: error)
        }
    }

    /// Records how a cycle ended.
    public func finishCycle(_ id: Int64, at time: Int64, jobsDone: Int, jobsFailed: Int, files: Int,
                            bytes: Int64) throws {
        do {
            try queue.write { db in
                try db.execute(sql: """
                    UPDATE cycle SET finished_at = ?, jobs_done = ?, jobs_failed = ?, files = ?, bytes = ?
                    WHERE id = ?
                    """, arguments: [time, jobsDone, jobsFailed, files, bytes, id])
            }
        } catch {
            throw ManifestStoreError(path: path, underlying: error)
        }
    }

    /// Every row of one job (source, folder), oldest first.
    public func rows(source: String, folder: String) throws -> [ManifestRow] {
        // Every cycle reads every row of every job (the no-change path): a cursor over a cached statement,
        // BLOBs read in place, source and folder not read back, instead of fetchAll's copied rows.
        try read { db in
            let statement = try db.cachedStatement(sql: """
                SELECT remote_path, size, mtime, library_path, synced_at FROM manifest_file
                WHERE source = ? AND folder = ? ORDER BY id
                """)
            let cursor = try Row.fetchCursor(statement, arguments: [source, folder])
            var rows: [ManifestRow] = []
            while let row = try cursor.next() {
                let remotePath = try row.withUnsafeData(atIndex: 0) { $0.map { [UInt8]($0) } ?? [] }
                let libraryPath = try row.withUnsafeData(atIndex: 3) { $0.map { [UInt8]($0) } ?? [] }
                rows.append(ManifestRow(source: source, folder: folder, remotePath: remotePath, size: row[1],
                                        mtime: row[2], libraryPath: libraryPath, syncedAt: row[4]))
            }
            return rows
        }
    }

    /// One job's rows as the planner needs them, read with a cursor into a compact `ManifestIndex` (a folder of
    /// 200,000 files is that many rows every cycle; no `ManifestRow` array is made).
    public func index(source: String, folder: String, prefix: [UInt8]) throws -> ManifestIndex {
        try read { db in
            let statement = try db.cachedStatement(sql: """
                SELECT remote_path, size, mtime, library_path FROM manifest_file
                WHERE source = ? AND folder = ? ORDER BY id
                """)
            let cursor = try Row.fetchCursor(statement, arguments: [source, folder])
            var index = ManifestIndex(prefix: prefix)
            while let row = try cursor.next() {
                let remotePath = try row.withUnsafeData(atIndex: 0) { $0.map { [UInt8]($0) } ?? [] }
                let size: Int64 = row[1], mtime: Int64 = row[2]
                try row.withUnsafeData(atIndex: 3) { data in
                    (data ?? Data()).withUnsafeBytes { index.add(remotePath: remotePath, size: size, mtime: mtime, libraryPath: $0) }
                }
            }
            return index
        }
    }

    /// Every recorded library path under the library-relative folder `prefix` (any job's), in one query:
    /// what the planner must not hand out again, loaded once per job instead of asked once per file.
    /// `exceptJob` (source, folder) leaves that job's own rows out: its planner has them already.
    public func libraryPaths(under prefix: [UInt8], exceptJob: (source: String, folder: String)? = nil) throws -> Set<[UInt8]> {
        // Paths under `prefix/` sort between `prefix/` and `prefix0` ('0' follows '/'): a range on the
        // library_path index (BLOBs compare with memcmp), not a scan.
        let low = prefix.isEmpty ? Data() : Data(prefix + [UInt8(ascii: "/")])
        let high = prefix.isEmpty ? Data([0xff, 0xff, 0xff, 0xff]) : Data(prefix + [UInt8(ascii: "0")])
        return try read { db in
            var paths = Set<[UInt8]>()
            let cursor: DatabaseValueCursor<Data>
            if let exceptJob {
                cursor = try Data.fetchCursor(db, sql: """
                    SELECT library_path FROM manifest_file WHERE library_path >= ? AND library_path < ?
                    AND NOT (source = ? AND folder = ?)
                    """, arguments: [low, high, exceptJob.source, exceptJob.folder])
            } else {
                cursor = try Data.fetchCursor(db, sql: """
                    SELECT library_path FROM manifest_file WHERE library_path >= ? AND library_path < ?
                    """, arguments: [low, high])
            }
            while let path = try cursor.next() { paths.insert(Array(path)) }
            return paths
        }
    }

    /// The library paths of the `limit` files recorded last: a sample of what must be in the library.
    public func recentLibraryPaths(limit: Int) throws -> [[UInt8]] {
        try read { db in
            try Data.fetchAll(db, sql: "SELECT library_path FROM manifest_file ORDER BY id DESC LIMIT ?",
                              arguments: [limit]).map { Array($0) }
        }
    }

    /// Number of rows, all jobs.
    public func count() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM manifest_file") ?? 0 }
    }

    /// Records a batch in one transaction: all rows or none. Recording the same remote file again (a
    /// refetch) updates its library path and time. A library path already used by another row fails the
    /// whole batch: two files at one name would mean one overwrote the other.
    /// `outbox` (the ingest's events for these files, docs/ingest-protocol.md) is stored in the same
    /// transaction, up to `outboxLimit` events in all: a file recorded here is never missing from the outbox
    /// because of a crash in between.
    @discardableResult
    public func record(_ rows: [ManifestRow], outbox: [OutboxEntry] = [], outboxLimit: Int = 0) throws -> OutboxAppend {
        do {
            return try queue.write { db in
                // Statements of our own, bound and stepped through SQLite's C API: 20,000 small files are 20,000
                // rows, and GRDB's argument values (boxed, copied, then bound as copies) cost as much as SQLite's
                // insert itself. The bytes are bound in place (SQLITE_STATIC) while the rows are stepped. Rows
                // go `rowsPerInsert` to a statement (the rest one by one): a fifth less of SQLite's time per
                // row than one statement each.
                try Self.insert(db, rows, many: Self.insertMany, one: Self.insertOne) { statement, base, row, next in
                    Self.pinned(row.source, row.folder, row.remotePath, row.libraryPath) { source, folder, remote, library in
                        sqlite3_bind_text(statement, base + 1, source, -1, nil)
                        sqlite3_bind_text(statement, base + 2, folder, -1, nil)
                        Self.bindBlob(statement, base + 3, remote)
                        sqlite3_bind_int64(statement, base + 4, row.size)
                        sqlite3_bind_int64(statement, base + 5, row.mtime)
                        Self.bindBlob(statement, base + 6, library)
                        sqlite3_bind_int64(statement, base + 7, row.syncedAt)
                        return next()
                    }
                }
                return try Self.appendOutbox(db, outbox, limit: outboxLimit)
            }
        } catch {
            throw ManifestStoreError(path: path, underlying: error)
        }
    }

    /// Rows per multi-row insert.
    static let rowsPerInsert = 64
    private static let insertMany = insertFiles(rowsPerInsert)
    private static let insertOne = insertFiles(1)

    /// An insert of `count` manifest rows; a remote file recorded again (a refetch) gets its new library path
    /// and time.
    static func insertFiles(_ count: Int) -> String {
        "INSERT INTO manifest_file (source, folder, remote_path, size, mtime, library_path, synced_at) VALUES "
            + Array(repeating: "(?, ?, ?, ?, ?, ?, ?)", count: count).joined(separator: ", ")
            + " ON CONFLICT (source, folder, remote_path, size, mtime)"
            + " DO UPDATE SET library_path = excluded.library_path, synced_at = excluded.synced_at"
    }

    /// The bytes a row binds in place, pinned for `body`: its source and folder as C strings, its two paths
    /// (the remote one and the library's) as raw bytes. The manifest's rows and the purge audit's both bind these.
    static func pinned(_ source: String, _ folder: String, _ path: [UInt8], _ libraryPath: [UInt8],
                       _ body: (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Int32) -> Int32 {
        source.withCString { source in
            folder.withCString { folder in
                path.withUnsafeBytes { path in
                    libraryPath.withUnsafeBytes { library in body(source, folder, path, library) }
                }
            }
        }
    }

    /// Inserts `rows` with statements of our own (`many` holds `rowsPerInsert` rows, `one` one), bound and stepped
    /// through SQLite's C API. `bind` binds one row's parameters from `base + 1` on, in place, and returns what
    /// `next()` returns (which binds the rows after it, then steps): every row's bytes stay pinned until the step.
    static func insert<Row>(_ db: Database, _ rows: [Row], many: String, one: String,
                            bind: (OpaquePointer?, Int32, Row, () -> Int32) -> Int32) throws {
        let manyStatement = try db.cachedStatement(sql: many).sqliteStatement
        let oneStatement = try db.cachedStatement(sql: one).sqliteStatement
        let columns = Int32(sqlite3_bind_parameter_count(oneStatement))
        var start = 0
        while start < rows.count {
            let count = rows.count - start >= rowsPerInsert ? rowsPerInsert : 1
            let statement = count == 1 ? oneStatement : manyStatement
            sqlite3_reset(statement)
            let end = start + count, first = start
            let code = withoutActuallyEscaping(bind) { bind in
                func bindFrom(_ index: Int) -> Int32 {
                    guard index < end else { return sqlite3_step(statement) }
                    return bind(statement, columns * Int32(index - first), rows[index]) { bindFrom(index + 1) }
                }
                return bindFrom(first)
            }
            sqlite3_clear_bindings(statement)
            sqlite3_reset(statement)
            guard code == SQLITE_DONE else {
                let message = String(cString: sqlite3_errmsg(db.sqliteConnection))
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: count == 1 ? one : many)
            }
            start += count
        }
    }

    /// Binds `bytes` as a BLOB in place (SQLITE_STATIC: valid until the row is stepped); an empty one is a
    /// zero-length BLOB, never NULL (the columns are NOT NULL).
    static func bindBlob(_ statement: OpaquePointer?, _ index: Int32, _ bytes: UnsafeRawBufferPointer) {
        if let base = bytes.baseAddress, bytes.count > 0 {
            sqlite3_bind_blob(statement, index, base, Int32(bytes.count), nil)
        } else {
            sqlite3_bind_zeroblob(statement, index, 0)
        }
    }

    /// Closes the database (checkpointing its WAL); any later use fails. For a process about to exit that
    /// keeps references to the store.
    public func close() {
        try? queue.close()
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try queue.read(body)
        } catch {
            throw ManifestStoreError(path: path, underlying: error)
        }
    }
}

/// A manifest read or write that failed, naming the database file.
public struct ManifestStoreError: Error, CustomStringConvertible {
    public var path: String
    public var underlying: any Error

    public var description: String {
        "manifest \(path): \(underlying) (check that the state directory exists and is writable, "
            + "and that no other mediasync uses it)"
    }
}
