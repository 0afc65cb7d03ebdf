import Foundation
import Testing

/// `mediasync backfill`: an ingest configured after files were synced gets every file still in the library.
extension IngestDoorSyncTests {
    @Test func backfillSendsWhatWasSyncedBeforeTheIngest() throws {
        let db = try IngestBackend.sqlite.open()
        defer { db.close() }
        let world = try SyncWorld()
        let top = ["settle: 0s", "retry: {attempts: 1, backoff: 1s}"]
        try world.writeConfig(sources: [("src", ["out"], "")], top: top)
        try Self.makeFiles(world)
        let first = try world.sync(timeout: 60)
        #expect(first.status == 0, "stderr: \(first.stderr)")
        // Without an ingest in the config, backfill says what is missing and exits 2.
        let refused = try CLIRunner().run(["backfill", "--config", world.configPath])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("the config has no `ingest`"), "\(refused.stderr)")

        // The user deleted one library file, then added the ingest.
        let gone = world.library + "/src/out/notes.txt"
        #expect(unlink(gone) == 0)
        try world.writeConfig(sources: [("src", ["out"], "")], top: top + [IngestDoorCheck.config(db.argv)])
        let run = try CLIRunner().run(["backfill", "--config", world.configPath])
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(run.stdout.contains("backfill: 3 files sent to the ingest, 1 skipped (library copy gone)"), "\(run.stdout)")
        let rows = try db.rows()
        #expect(Set(rows.keys) == Set(["forge.png", "day/comfy.png", "young.png"].map { IngestDoorCheck.hex(world.library + "/src/out/" + $0) }))
        #expect(rows[IngestDoorCheck.hex(world.library + "/src/out/forge.png")]?.sha256
                == (try IngestDoorCheck.sha256(world.library + "/src/out/forge.png")))
        #expect(try IngestDoorCheck.outboxCount(stateDir: world.stateDir) == 0)
        // Again: harmless, still one row per file.
        #expect(try CLIRunner().run(["backfill", "--config", world.configPath]).status == 0)
        #expect(try db.rows().count == 3)
    }
}
