import Foundation
import Testing

/// The ingest door end to end through one-shot `mediasync sync` and `mediasync purge`: the built binary, the
/// reference ingests of contrib/ingest as its child, a real SQLite file or a private PostgreSQL server.
@Suite struct IngestDoorSyncTests {
    static let aged = Int(Date().timeIntervalSince1970) - 2 * 86_400
    static let young = Int(Date().timeIntervalSince1970) - 60
    static let top = ["settle: 0s", "retry: {attempts: 1, backoff: 1s}", "purge: {enabled: true, min_age: 24h}"]

    static let forgeParameters = "a lighthouse at dusk, oil painting\nNegative prompt: blurry\n"
        + "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 3912387, Size: 6x4, Model: sdxl"
    static let comfyPrompt = #"{"3":{"inputs":{"seed":77,"steps":20,"cfg":8,"sampler_name":"euler"},"class_type":"KSampler"}}"#
    static let comfyWorkflow = #"{"last_node_id":9,"last_link_id":9,"nodes":[{"id":3,"type":"KSampler"}]}"#

    /// A Forge PNG, a ComfyUI PNG and a text file, all aged; a young PNG without texts.
    static func makeFiles(_ world: SyncWorld) throws {
        try RawFS.write(world.source("out/forge.png"),
                        TinyPNG.make(width: 6, height: 4, texts: [("parameters", forgeParameters)]), mtime: aged)
        try RawFS.write(world.source("out/day/comfy.png"),
                        TinyPNG.make(width: 5, height: 7, texts: [("prompt", comfyPrompt), ("workflow", comfyWorkflow),
                                                                  ("Comment", "made in ComfyUI")]), mtime: aged)
        try RawFS.write(world.source("out/notes.txt"), Array("seed list\n".utf8), mtime: aged)
        try RawFS.write(world.source("out/young.png"), TinyPNG.make(width: 2, height: 2, shade: 9), mtime: young)
    }

    /// One `mediasync sync` with purge on: every file is a row with its metadata, the aged ones are gone from the
    /// source after the ingest confirmed them, and their rows are marked purged.
    @Test(arguments: IngestBackend.allCases)
    func syncAndPurgeReachTheDatabase(_ backend: IngestBackend) throws {
        let db = try backend.open()
        defer { db.close() }
        let world = try SyncWorld()
        try world.writeConfig(sources: [("src", ["out"], "")], top: Self.top + [IngestDoorCheck.config(db.argv)])
        try Self.makeFiles(world)

        let run = try world.sync(timeout: 90)
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let logs = run.of("log").compactMap { $0["message"] as? String }
        #expect(logs.contains { $0.hasPrefix("ingest: started") }, "no `ingest: started` log: \(logs)")
        #expect(Set(run.of("file_synced").compactMap { $0["path"] as? String })
                == ["forge.png", "day/comfy.png", "notes.txt", "young.png"])
        #expect(Set(run.of("file_purged").compactMap { $0["path"] as? String }) == ["forge.png", "day/comfy.png", "notes.txt"],
                "kept: \(run.of("file_kept")); logs: \(logs)")
        for name in ["forge.png", "day/comfy.png", "notes.txt"] {
            #expect(!RawFS.exists(world.source("out/" + name)), "\(name) should be purged from the source")
        }
        #expect(RawFS.exists(world.source("out/young.png")))

        let rows = try db.rows()
        let library = world.library + "/src/out/"
        #expect(rows.count == 4, "one row per synced file: \(rows.keys.sorted())")
        for name in ["forge.png", "day/comfy.png", "notes.txt", "young.png"] {
            let path = library + name
            let row = try #require(rows[IngestDoorCheck.hex(path)], "no row for \(path)")
            let size = RawFS.read(Array(path.utf8))?.count ?? -2
            #expect(row.size == size, "\(name): size")
            #expect(row.sha256 == (try IngestDoorCheck.sha256(path)), "\(name): sha256 of the library file")
            #expect(row.purged == (name != "young.png"), "\(name): purged_at")
        }
        let forge = try #require(rows[IngestDoorCheck.hex(library + "forge.png")])
        #expect(forge.kind == "image" && forge.width == 6 && forge.height == 4)
        #expect(forge.texts == ["parameters": Self.forgeParameters], "Forge's parameters text, newlines kept")
        let comfy = try #require(rows[IngestDoorCheck.hex(library + "day/comfy.png")])
        #expect(comfy.kind == "image" && comfy.width == 5 && comfy.height == 7)
        #expect(comfy.texts == ["prompt": Self.comfyPrompt, "workflow": Self.comfyWorkflow, "Comment": "made in ComfyUI"])
        let notes = try #require(rows[IngestDoorCheck.hex(library + "notes.txt")])
        #expect(notes.kind == "other" && notes.width == nil && notes.texts.isEmpty)
        let young = try #require(rows[IngestDoorCheck.hex(library + "young.png")])
        #expect(young.kind == "image" && young.width == 2 && young.texts.isEmpty)

        #expect(try IngestDoorCheck.outboxCount(stateDir: world.stateDir) == 0, "every event acknowledged")
    }

    /// The ingest says one file is not committed (its row is gone): `mediasync purge` keeps exactly that file on
    /// the source and purges the others, whose rows get `purged_at`.
    @Test func aFileTheIngestDoesNotHoldIsKept() throws {
        let db = try IngestBackend.sqlite.open()
        defer { db.close() }
        let world = try SyncWorld()
        try world.writeConfig(sources: [("src", ["out"], "")], top: Self.top + [IngestDoorCheck.config(db.argv)])
        let names = (0..<6).map { "img\($0).png" }
        for (index, name) in names.enumerated() {
            try RawFS.write(world.source("out/" + name), TinyPNG.make(width: 3, height: 3, shade: UInt8(index)), mtime: Self.aged)
        }
        let synced = try world.sync(["--no-purge"])
        #expect(synced.status == 0, "stderr: \(synced.stderr)")
        #expect(try db.count() == names.count)
        #expect(try IngestDoorCheck.outboxCount(stateDir: world.stateDir) == 0)

        let lost = world.library + "/src/out/img3.png"
        let delete = "import sqlite3,sys\nc=sqlite3.connect(sys.argv[1])\nc.execute(sys.argv[2])\nc.commit()"
        _ = try ingestRun([ingestPython, "-c", delete, db.folder + "/library.sqlite",
                           "DELETE FROM media_files WHERE hex(library_path) = '\(IngestDoorCheck.hex(lost))'"])
        #expect(try db.count() == names.count - 1)

        let out = world.root + "/purge.out"
        let env = ProcessInfo.processInfo.environment.merging(["HOME": world.root]) { $1 }
        let pid = try Spawn.start([try CLIRunner.binary(), "purge", "--config", world.configPath, "--json"],
                                  environment: env, stdout: out, stderr: out + ".err")
        let status = try Spawn.wait(pid, what: "mediasync purge")
        let events = SyncResult.parse(Array((try? Data(contentsOf: URL(fileURLWithPath: out))) ?? Data()))
        let purge = SyncResult(status: status, stdout: [], stderr: (try? String(contentsOfFile: out + ".err", encoding: .utf8)) ?? "",
                               events: events)
        #expect(purge.status == 0, "stderr: \(purge.stderr)")
        let kept = purge.of("file_kept").map { ($0["path"] as? String ?? "", $0["reason"] as? String ?? "") }
        #expect(kept.count == 1 && kept.first?.0 == "img3.png" && kept.first?.1 == "not_committed", "file_kept: \(kept)")
        #expect(Set(purge.of("file_purged").compactMap { $0["path"] as? String }) == Set(names).subtracting(["img3.png"]))
        for name in names {
            #expect(RawFS.exists(world.source("out/" + name)) == (name == "img3.png"), "\(name) on the source")
            #expect(RawFS.exists(world.inLibrary("src/out/" + name)), "\(name) must stay in the library")
        }
        let rows = try db.rows()
        #expect(rows.count == names.count - 1)
        #expect(rows.values.allSatisfy { $0.purged }, "every purged file's row has purged_at")
        #expect(try IngestDoorCheck.outboxCount(stateDir: world.stateDir) == 0)
    }

    /// An ingest that never acknowledges: the sync still brings every file home and succeeds, the outbox stops
    /// at its limit with an error about it, and nothing leaves a source unconfirmed.
    @Test func anIngestThatNeverAcksFillsTheOutboxButKeepsEverySourceFile() throws {
        let world = try SyncWorld()
        let script = try Self.writeScript(world, "silent.py", IngestScripts.neverAcks)
        try world.writeConfig(sources: [("src", ["out"], "")],
                              top: Self.top + [IngestDoorCheck.config([ingestPython, script], extra: "outbox_limit: 50")])
        let count = 120
        for index in 0..<count {
            try RawFS.write(world.source(String(format: "out/f%03d.png", index)), [UInt8(index & 0xFF), 1, 2, 3], mtime: Self.aged)
        }

        let started = Date()
        let run = try world.sync(timeout: 90)
        #expect(run.status == 0, "a full outbox does not fail the sync; stderr: \(run.stderr)")
        #expect(run.of("file_synced").count == count)
        #expect(RawFS.tree(world.library + "/src/out").count == count, "every file in the library")
        #expect(RawFS.tree(world.sourceRoot + "/out").count == count, "nothing deleted without the ingest's word")
        #expect(run.of("file_purged").isEmpty)
        let kept = run.of("file_kept")
        #expect(kept.count == count && kept.allSatisfy { $0["reason"] as? String == "not_committed" },
                "reasons: \(Set(kept.compactMap { $0["reason"] as? String }))")
        let logs = run.of("log").compactMap { $0["message"] as? String }
        #expect(logs.contains { $0.contains("outbox is full") }, "no error about the full outbox: \(logs)")
        #expect(logs.contains { $0.contains("stay in the outbox") }, "no word about the events left: \(logs)")
        #expect(try IngestDoorCheck.outboxCount(stateDir: world.stateDir) == 50, "the outbox holds exactly its limit")
        // Verify holds up to 5 s, then 10 s for answers; the end waits 10 s for acks: about 25 s, not one
        // timeout per file (120 x 10 s). A bound that holds on a loaded machine; the door's timings are tested
        // exactly on manual time.
        let took = Date().timeIntervalSince(started)
        #expect(took < 90, "the sync took \(took) s")
        #expect(Watch.until(timeout: 5) { Watch.processes(containing: script).isEmpty }, "the ingest outlived the sync")
    }

    /// An ingest that answers its first event with garbage is restarted; the next one gets every event, each
    /// file exactly once.
    @Test func garbageOnStdoutRestartsTheIngestAndNothingIsLost() throws {
        let world = try SyncWorld()
        let script = try Self.writeScript(world, "flaky.py", IngestScripts.garbageOnce)
        let record = world.root + "/record.tsv"
        try world.writeConfig(sources: [("src", ["out"], "")],
                              top: Self.top + [IngestDoorCheck.config([ingestPython, script, world.root + "/marker", record])])
        let names = (0..<20).map { "g\($0).png" }
        for name in names { try RawFS.write(world.source("out/" + name), Array(name.utf8), mtime: Self.young) }

        let run = try world.sync(timeout: 60)
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let logs = run.of("log").compactMap { $0["message"] as? String }
        #expect(logs.contains { $0.contains("broke the protocol") && $0.contains("Traceback") }, "logs: \(logs)")
        #expect(logs.filter { $0.hasPrefix("ingest: started") }.count == 2, "started twice: \(logs)")
        let lines = ((try? String(contentsOfFile: record, encoding: .utf8)) ?? "").split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        let synced = lines.filter { $0[1] == "file_synced" }.map { String($0[2]) }
        #expect(synced.sorted() == names.map { world.library + "/src/out/" + $0 }.sorted(), "each file once")
        #expect(Set(lines.map { $0[0] }).count == lines.count, "no event twice")
        #expect(lines.filter { $0[1] == "cycle_finished" }.count == 1)
        #expect(try IngestDoorCheck.outboxCount(stateDir: world.stateDir) == 0)
    }

    static func writeScript(_ world: SyncWorld, _ name: String, _ text: String) throws -> String {
        let path = world.root + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
