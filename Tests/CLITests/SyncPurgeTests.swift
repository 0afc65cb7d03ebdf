import Foundation
import Testing

/// `mediasync sync` with purge on, run as the built binary on a local source: what goes from the source,
/// what stays, and when nothing may go at all.
@Suite struct SyncPurgeTests {
    static let aged = Int(Date().timeIntervalSince1970) - 2 * 86_400
    static let purgeOn = "purge: {enabled: true, min_age: 24h, protect: [\"keep-*\"]}"
    static let top = ["settle: 0s", "retry: {attempts: 1, backoff: 1s}"]

    /// Three aged files (one in a sub-folder), a young one and an aged protected one in `out`.
    static func makeTree(_ world: SyncWorld) throws -> (old: [String], stay: [String]) {
        let young = Int(Date().timeIntervalSince1970) - 60
        let old = ["a.png", "b.png", "day/c.png"]
        for (index, name) in old.enumerated() {
            try RawFS.write(world.source("out/" + name), Array(repeating: UInt8(index), count: 500 + index), mtime: aged)
        }
        try RawFS.write(world.source("out/young.png"), Array(repeating: 7, count: 10), mtime: young)
        try RawFS.write(world.source("out/keep-me.png"), Array(repeating: 8, count: 10), mtime: aged)
        return (old, ["young.png", "keep-me.png"])
    }

    static func history(_ world: SyncWorld) throws -> [[String: Any]] {
        let out = world.root + "/history.out"
        let pid = try Spawn.start([try CLIRunner.binary(), "purge", "--config", world.configPath, "--history", "--json"],
                                  environment: ProcessInfo.processInfo.environment.merging(["HOME": world.root]) { $1 }, stdout: out, stderr: out + ".err")
        #expect(try Spawn.wait(pid, what: "mediasync purge --history") == 0)
        return SyncResult.parse(Array((try? Data(contentsOf: URL(fileURLWithPath: out))) ?? Data()))
    }

    @Test func aSyncPurgesExactlyTheAgedHomeFilesAfterSyncingThem() throws {
        let world = try SyncWorld()
        try world.writeConfig(sources: [("src", ["out"], "")], top: Self.top + [Self.purgeOn])
        let (old, stay) = try Self.makeTree(world)

        let run = try world.sync()
        #expect(run.status == 0, "stderr: \(run.stderr)")
        run.checkEnvelope(jobs: 1)
        for name in old {
            #expect(!RawFS.exists(world.source("out/" + name)), "\(name) should be purged")
            #expect(RawFS.exists(world.inLibrary("src/out/" + name)), "\(name) must be in the library")
        }
        for name in stay { #expect(RawFS.exists(world.source("out/" + name)), "\(name) must stay on the source") }
        #expect(Set(run.of("file_purged").compactMap { $0["path"] as? String }) == Set(old))
        let kept = Dictionary(uniqueKeysWithValues: run.of("file_kept").map { ($0["path"] as? String ?? "", $0["reason"] as? String ?? "") })
        #expect(kept == ["young.png": "too_young", "keep-me.png": "protected"])

        // Order: every file_synced, then the purge, then job_finished (done) in the same job's slot.
        let types = run.events.compactMap { $0["type"] as? String }
        let lastSynced = try #require(types.lastIndex(of: "file_synced"))
        let started = try #require(types.firstIndex(of: "purge_started"))
        let finished = try #require(types.firstIndex(of: "purge_finished"))
        let jobDone = try #require(types.firstIndex(of: "job_finished"))
        #expect(lastSynced < started && started < finished && finished < jobDone)
        #expect(run.of("job_finished").first?["state"] as? String == "done")
        #expect(run.of("purge_finished").first?["deleted"] as? Int == 3)
        let states = run.of("progress").flatMap { ($0["jobs"] as? [[String: Any]]) ?? [] }.compactMap { $0["state"] as? String }
        // At most 10 progress events a second (events v2): a purge shorter than one 100 ms slot may go by between
        // two of them; one that lasts longer (here, 3 deletions through the remote script) is shown.
        let stamps = [started, finished].map { run.events[$0]["time"] as? String ?? "" }
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let purgeSeconds = zip(stamps.compactMap(format.date(from:)).dropFirst(), stamps.compactMap(format.date(from:))).map { $0.timeIntervalSince($1) }.first ?? 0
        #expect(states.contains("purging") || purgeSeconds < 0.2,
                "progress never showed the purging state of a \(purgeSeconds) s purge: \(Set(states))")

        let audit = try Self.history(world)
        #expect(Set(audit.compactMap { $0["path"] as? String }) == Set(old))
    }

    @Test func noPurgeAndDryRunDeleteNothing() throws {
        let world = try SyncWorld()
        try world.writeConfig(sources: [("src", ["out"], "")], top: Self.top + [Self.purgeOn])
        let (old, stay) = try Self.makeTree(world)

        let skipped = try world.sync(["--no-purge"])
        #expect(skipped.status == 0, "stderr: \(skipped.stderr)")
        #expect(skipped.of("purge_started").isEmpty)
        for name in old + stay { #expect(RawFS.exists(world.source("out/" + name))) }

        try world.writeConfig(sources: [("src", ["out"], "")],
                              top: Self.top + ["purge: {enabled: true, min_age: 24h, dry_run: true, protect: [\"keep-*\"]}"])
        let dry = try world.sync()
        #expect(dry.status == 0, "stderr: \(dry.stderr)")
        #expect(dry.of("purge_started").first?["dry_run"] as? Bool == true)
        #expect(Set(dry.of("file_purged").compactMap { $0["path"] as? String }) == Set(old))
        #expect(dry.of("file_purged").allSatisfy { $0["dry_run"] as? Bool == true })
        for name in old + stay { #expect(RawFS.exists(world.source("out/" + name)), "dry run deleted \(name)") }
        #expect(try Self.history(world).isEmpty)
    }

    @Test func aFolderWhoseSyncFailedIsNotPurged() throws {
        let world = try SyncWorld()
        try world.writeConfig(sources: [("src", ["out", "other"], "")], top: Self.top + [Self.purgeOn])
        try RawFS.write(world.source("out/old.png"), Array(repeating: 1, count: 100), mtime: Self.aged)
        try RawFS.write(world.source("other/old.png"), Array(repeating: 2, count: 100), mtime: Self.aged)
        let first = try world.sync(["--no-purge"])
        #expect(first.status == 0, "stderr: \(first.stderr)")

        // A new file whose library folder is blocked by a plain file: `out` cannot finish its sync.
        try RawFS.write(world.source("out/day/new.png"), Array(repeating: 3, count: 100), mtime: Self.aged)
        try RawFS.write(world.inLibrary("src/out/day"), [0x21], mtime: Self.aged)
        let run = try world.sync()
        #expect(run.status == 1, "stderr: \(run.stderr)")
        let byJob = Dictionary(uniqueKeysWithValues: run.of("job_finished").map { ($0["job"] as? String ?? "", $0) })
        #expect(byJob["src/out"]?["state"] as? String == "failed")
        #expect(byJob["src/other"]?["state"] as? String == "done")
        #expect(run.of("purge_started").compactMap { $0["job"] as? String } == ["src/other"])
        #expect(RawFS.exists(world.source("out/old.png")), "a folder whose sync failed was purged")
        #expect(!RawFS.exists(world.source("other/old.png")))
    }
}
