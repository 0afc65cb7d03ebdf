import Foundation
import GRDB
import MediaSyncCore
@testable import MediaSyncEngine
import Testing

/// A fresh state directory under /tmp per test.
private struct StateDir {
    let path: String
    init() throws {
        var template = Array("/tmp/mediasync-manifest-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        path = String(cString: made)
    }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

private func b(_ text: String) -> [UInt8] { Array(text.utf8) }

private func row(_ remote: [UInt8], size: Int64 = 10, mtime: Int64 = 1_795_168_800, library: [UInt8],
                 syncedAt: Int64 = 1_795_170_000, folder: String = "/app/outputs") -> ManifestRow {
    ManifestRow(source: "gpu1", folder: folder, remotePath: remote, size: size, mtime: mtime,
                libraryPath: library, syncedAt: syncedAt)
}

@Suite struct ManifestStoreTests {
    @Test func invalidUTF8PathBytesRoundTripExactly() throws {
        let dir = try StateDir()
        defer { dir.remove() }
        let weird: [UInt8] = [0x62, 0xff, 0xfe, 0x0a, 0x01, 0x5c, 0x23, 0x2e, 0x70, 0x6e, 0x67]
        let stored = row(weird, library: b("forge/") + weird)
        let store = try ManifestStore(stateDirectory: dir.path)
        try store.record([stored])
        #expect(try store.rows(source: "gpu1", folder: "/app/outputs") == [stored])
        // The planner finds the file home by its exact bytes, and no other job may take its name.
        let index = try store.index(source: "gpu1", folder: "/app/outputs", prefix: b("forge"))
        #expect(index.home(of: RemoteFile(path: weird, size: stored.size, mtime: stored.mtime)) == b("forge/") + weird)
        let taken = try store.libraryPaths(under: b("forge"))
        #expect(taken.contains(b("forge/") + weird))
        // The U+FFFD spelling of the same name is a different name: bytes, not strings, are compared.
        let lossy = Array(String(decoding: weird, as: UTF8.self).utf8)
        #expect(!taken.contains(b("forge/") + lossy))
        #expect(index.home(of: RemoteFile(path: lossy, size: stored.size, mtime: stored.mtime)) == nil)
        #expect(FileManager.default.fileExists(atPath: dir.path + "/manifest.sqlite-wal"), "WAL mode")
    }

    @Test func tenThousandRowsInOneBatchAndTheyOutliveAReopen() throws {
        let dir = try StateDir()
        defer { dir.remove() }
        let rows = (0..<10_000).map { index in
            row(b("2026-11-24/\(index)-3912345.png"), size: Int64(index), library: b("forge/\(index).png"))
        }
        let started = Date()
        do {
            let store = try ManifestStore(stateDirectory: dir.path)
            try store.record(rows)
            #expect(try store.count() == 10_000)
        }
        let elapsed = Date().timeIntervalSince(started)
        // One transaction: 10,000 autocommits with a sync each would take far longer on a real disk.
        #expect(elapsed < 10, "batch took \(elapsed) s")
        let reopened = try ManifestStore(stateDirectory: dir.path)
        #expect(try reopened.rows(source: "gpu1", folder: "/app/outputs") == rows)
    }

    /// A new manifest is migrated without a sync per migration (SQLite's NORMAL), but what a user relies on, a
    /// file's row surviving a power cut once it is told, needs FULL: every commit after the migrations waits
    /// for its fdatasync, on a new manifest and on one opened again.
    @Test("the manifest records at synchronous FULL after its migrations, new or reopened")
    func recordsAtFullAfterTheMigrations() throws {
        let dir = try StateDir()
        defer { dir.remove() }
        for _ in 0..<2 {
            let store = try ManifestStore(stateDirectory: dir.path)
            #expect(try store.queue.read { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 2, "FULL is 2")
            #expect(try store.queue.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal")
        }
    }

    @Test func aBatchWithOneBadRowRecordsNothing() throws {
        let dir = try StateDir()
        defer { dir.remove() }
        let store = try ManifestStore(stateDirectory: dir.path)
        try store.record([row(b("a.png"), library: b("lib/a.png"))])
        // The last row wants a library path another file already has: the whole batch must be refused.
        let batch = (0..<100).map { row(b("n\($0).png"), library: b("lib/n\($0).png")) }
            + [row(b("other.png"), library: b("lib/a.png"))]
        #expect(throws: ManifestStoreError.self) { try store.record(batch) }
        #expect(try store.count() == 1)
        #expect(try store.libraryPaths(under: b("lib")) == [b("lib/a.png")])
    }

    @Test("rows go 64 to an insert: a refetch inside a full insert updates its row, a taken name inside one refuses the whole batch")
    func rowsInMultiRowInserts() throws {
        let dir = try StateDir()
        defer { dir.remove() }
        let store = try ManifestStore(stateDirectory: dir.path)
        try store.record((0..<200).map { row(b("n\($0).png"), library: b("lib/n\($0).png")) })
        // 130 rows: two full inserts and two single ones; row 70 (in the second full insert) is n5 again.
        var batch = (200..<330).map { row(b("n\($0).png"), library: b("lib/n\($0).png")) }
        batch[70] = row(b("n5.png"), library: b("lib/n5-again.png"), syncedAt: 9)
        try store.record(batch)
        let rows = try store.rows(source: "gpu1", folder: "/app/outputs")
        #expect(rows.count == 329)
        #expect(rows.filter { $0.remotePath == b("n5.png") }.map(\.libraryPath) == [b("lib/n5-again.png")])
        #expect(rows.first { $0.remotePath == b("n5.png") }?.syncedAt == 9)
        #expect(Set(rows.map(\.libraryPath)).count == 329)
        // Row 100 of 128 (inside the second full insert) wants n1's name: nothing of the batch is recorded.
        var refused = (400..<528).map { row(b("n\($0).png"), library: b("lib/n\($0).png")) }
        refused[100] = row(b("x.png"), library: b("lib/n1.png"))
        let error = #expect(throws: ManifestStoreError.self) { try store.record(refused) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("UNIQUE"))
        #expect(try store.count() == 329)
    }

    @Test func nameReuseRowsCoexistAndLatestIsTheNewest() throws {
        let dir = try StateDir()
        defer { dir.remove() }
        let store = try ManifestStore(stateDirectory: dir.path)
        let path = b("00012-3912345.png")
        let first = row(path, size: 900, mtime: 100, library: b("f/00012-3912345.png"), syncedAt: 1_000)
        let second = row(path, size: 950, mtime: 200, library: b("f/00012-3912345~2.png"), syncedAt: 2_000)
        let third = row(path, size: 990, mtime: 300, library: b("f/00012-3912345~3.png"), syncedAt: 3_000)
        try store.record([first])
        try store.record([second, third])
        // As the planner and the purge read them: every version, in the order they were recorded.
        #expect(try store.rows(source: "gpu1", folder: "/app/outputs").filter { $0.remotePath == path } == [first, second, third])
        let index = try store.index(source: "gpu1", folder: "/app/outputs", prefix: b("f"))
        #expect(index.latest(of: path)?.size == 990 && index.latest(of: path)?.mtime == 300)
        #expect(index.home(of: RemoteFile(path: path, size: 950, mtime: 200)) == b("f/00012-3912345~2.png"))
        #expect(index.home(of: RemoteFile(path: path, size: 950, mtime: 201)) == nil)
        // Another folder of the same source is another job.
        #expect(try store.rows(source: "gpu1", folder: "/other").isEmpty)
    }

    @Test func recordingTheSameFileAgainUpdatesIt() throws {
        let dir = try StateDir()
        defer { dir.remove() }
        let store = try ManifestStore(stateDirectory: dir.path)
        try store.record([row(b("a.png"), library: b("lib/a.png"), syncedAt: 1)])
        // A refetch after the user deleted it lands at the same name, later.
        try store.record([row(b("a.png"), library: b("lib/a.png"), syncedAt: 2)])
        let rows = try store.rows(source: "gpu1", folder: "/app/outputs")
        #expect(rows.count == 1 && rows.first?.syncedAt == 2)
    }

    @Test func plannerAndStoreAgreeAcrossCycles() throws {
        // Cycle 1 brings a.png home; the container is purged and reuses the name twice; later cycles must
        // not overwrite: the planner, fed the store's rows, names the new files a~2.png and a~3.png.
        let dir = try StateDir()
        defer { dir.remove() }
        let store = try ManifestStore(stateDirectory: dir.path)
        var disk: [[UInt8]: LibraryFileFact] = [:]
        for (cycle, size) in [(Int64(1), Int64(500)), (2, 600), (3, 700)] {
            let now = 10_000 * cycle
            let listing = RemoteListing(now: now, files: [RemoteFile(path: b("a.png"), size: size, mtime: now - 500)],
                                        format: .find)
            // As a job plans: other jobs' names under its folder are reserved.
            let reserved = try store.libraryPaths(under: b("forge/txt2img"), exceptJob: ("gpu1", "/app/outputs"))
            let plan = SyncPlan.make(listing: listing, settleSeconds: 60,
                                     manifest: try store.rows(source: "gpu1", folder: "/app/outputs"),
                                     destinationPrefix: b("forge/txt2img"), refetch: false,
                                     libraryFile: { disk[$0] },
                                     isReserved: { reserved.contains($0) })
            for transfer in plan.transfers {
                disk[transfer.libraryPath] = LibraryFileFact(size: transfer.size, mtime: transfer.mtime)
            }
            try store.record(plan.transfers.map {
                $0.manifestRow(source: "gpu1", folder: "/app/outputs", syncedAt: cycle)
            })
        }
        let names = try store.rows(source: "gpu1", folder: "/app/outputs").map {
            String(decoding: $0.libraryPath, as: UTF8.self)
        }
        #expect(names == ["forge/txt2img/a.png", "forge/txt2img/a~2.png", "forge/txt2img/a~3.png"])
    }

    /// A manifest made before v5 has three indexes on its files; opening it drops the one the UNIQUE key
    /// covers, and every row and query still works.
    @Test func anOlderManifestLosesTheDuplicateIndexAndKeepsItsRows() throws {
        let dir = try StateDir()
        defer { dir.remove() }
        let path = dir.path + "/" + ManifestStore.fileName
        let old = try DatabaseQueue(path: path)
        try ManifestStore.migrator.migrate(old, upTo: "v4-ingest-outbox")
        try old.write { db in
            try db.execute(sql: """
                INSERT INTO manifest_file (source, folder, remote_path, size, mtime, library_path, synced_at)
                VALUES ('gpu1', '/app/outputs', x'612e706e67', 10, 1795168800, x'666f7267652f612e706e67', 1795170000)
                """)
        }
        func indexes(_ queue: DatabaseQueue) throws -> Set<String> {
            try queue.read { db in
                Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'manifest_file'"))
            }
        }
        #expect(try indexes(old).contains("manifest_file_job_path"))
        try old.close()

        let store = try ManifestStore(path: path)
        let reopened = try DatabaseQueue(path: path)
        defer { try? reopened.close() }
        let left = try indexes(reopened)
        #expect(!left.contains("manifest_file_job_path"))
        #expect(left.count == 2, "the library_path and (source, folder, remote_path, size, mtime) keys: \(left)")
        #expect(try store.rows(source: "gpu1", folder: "/app/outputs") == [row(b("a.png"), library: b("forge/a.png"))])
        try store.record([row(b("b.png"), library: b("forge/b.png"))])
        #expect(try store.index(source: "gpu1", folder: "/app/outputs", prefix: b("forge")).home(
            of: RemoteFile(path: b("b.png"), size: 10, mtime: 1_795_168_800)) == b("forge/b.png"))
    }

    @Test func missingStateDirectoryIsNamedInTheError() {
        let missing = "/tmp/mediasync-no-such-dir-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        #expect {
            _ = try ManifestStore(stateDirectory: missing)
        } throws: { error in
            "\(error)".contains(missing + "/manifest.sqlite")
        }
    }
}
