import Foundation
import MediaSyncCore
@testable import MediaSyncEngine
import Testing
import UV

/// The whole purge of a folder, run for real: listing, plan, the delete script, audit and events.
@Suite("purge runs")
struct PurgeRunTests {
    static let day: Int64 = 86_400

    @Test("every keep reason leaves its file on the source; dry run deletes nothing and predicts the real run")
    func keepsAndDryRun() throws {
        let world = try PurgeWorld("prk")
        let committed = Set(["old.png", "sub dir/-rf.png", "2020-01-01/a\nb.png", "young.png", "keep-me.png",
                             "rewritten.png", "lib-gone.png", "lib-short.png", "future.png", "not-synced.png"]
            .map { Array(world.libraryRelative(Array($0.utf8))) })
        var keptOnSource: [[UInt8]: String] = [:]
        var gone: [[UInt8]] = []
        for name in ["old.png", "sub dir/-rf.png", "2020-01-01/a\nb.png"] { gone.append(try world.add(Array(name.utf8))) }
        keptOnSource[try world.add(Array("young.png".utf8), ageSeconds: 3600)] = "too_young"
        keptOnSource[try world.add(Array("keep-me.png".utf8))] = "protected"
        keptOnSource[try world.add(Array("not-synced.png".utf8), synced: false)] = "not_synced"
        keptOnSource[try world.add(Array("uncommitted.png".utf8))] = "not_committed"
        keptOnSource[try world.add(Array("future.png".utf8), ageSeconds: -3 * 3600)] = "clock_skew"
        // Rewritten after its sync: same name, other size.
        let rewritten = try world.add(Array("rewritten.png".utf8))
        try BytePath.write(rewritten, Array(repeating: 9, count: 1500), mtime: world.now - 3 * Self.day)
        keptOnSource[rewritten] = "changed"
        // The library copy deleted, or truncated, by the user.
        keptOnSource[try world.add(Array("lib-gone.png".utf8))] = "library_missing"
        unlink(BytePath.c(world.libraryPath(Array("lib-gone.png".utf8))))
        keptOnSource[try world.add(Array("lib-short.png".utf8))] = "library_differs"
        truncate(BytePath.c(world.libraryPath(Array("lib-short.png".utf8))), 10)

        // A real ingest child answers verify: yes for every file but uncommitted.png.
        try world.useVerifyingIngest(committed: committed)
        let preview = try world.run(dryRun: true)
        #expect(preview.results.map(\.error) == [nil])
        #expect(preview.results.first?.deleted == 3)
        for path in gone + Array(keptOnSource.keys) { #expect(BytePath.exists(path)) }
        #expect(try world.manifest.purgeHistory(since: 0).isEmpty)

        let real = try world.run()
        #expect(real.results.map(\.error) == [nil])
        #expect(real.events.purged == preview.events.purged)
        #expect(real.events.keptReasons == preview.events.keptReasons)
        let prefix = Array((world.hostRoot + "/" + world.folder + "/").utf8)
        #expect(real.events.keptReasons == Dictionary(uniqueKeysWithValues: keptOnSource.map {
            (String(decoding: $0.key.dropFirst(prefix.count), as: UTF8.self), $0.value)
        }))
        for path in gone { #expect(!BytePath.exists(path)) }
        for path in keptOnSource.keys { #expect(BytePath.exists(path), "\(String(decoding: path, as: UTF8.self)) was deleted") }
        // The library copies of purged files are untouched.
        for name in ["old.png", "sub dir/-rf.png"] { #expect(BytePath.exists(world.libraryPath(Array(name.utf8)))) }
        // Library trouble is a warning a person sees.
        #expect(real.events.warnings.contains { $0.contains("lib-gone.png") && $0.contains("missing") })
        #expect(real.events.warnings.contains { $0.contains("lib-short.png") && $0.contains("10 bytes") })
        let audit = try world.manifest.purgeHistory(since: world.now - 60)
        #expect(Set(audit.map(\.path)) == Set(["old.png", "sub dir/-rf.png", "2020-01-01/a\nb.png"].map { Array($0.utf8) }))
        #expect(audit.allSatisfy { $0.size == 1000 && $0.source == "src" && $0.libraryPath.starts(with: Array("src/".utf8)) })
        #expect(real.results.first?.bytesFreed == 3000)
        if case let .purgeFinished(_, _, deleted, kept, bytes, dryRun)? = real.events.last(where: { $0.type == "purge_finished" })?.body {
            #expect(deleted == 3 && kept == keptOnSource.count && bytes == 3000 && !dryRun)
        } else {
            Issue.record("no purge_finished event")
        }
    }

    @Test("purge.dry_run in the config deletes nothing")
    func configDryRun() throws {
        let world = try PurgeWorld("prd")
        world.purge.dryRun = true
        let file = try world.add(Array("old.png".utf8))
        let run = try world.run()
        #expect(run.events.purged == ["old.png"])
        #expect(BytePath.exists(file))
        #expect(run.results.first?.dryRun == true)
    }

    @Test("verify: checksum keeps a file whose library copy has the same size but other bytes")
    func checksum() throws {
        let world = try PurgeWorld("prc")
        world.purge.verify = .checksum
        let same = try world.add(Array("same.png".utf8))
        let other = try world.add(Array("other.png".utf8))
        try BytePath.write(world.libraryPath(Array("other.png".utf8)), Array(repeating: 0, count: 1000))
        let run = try world.run()
        #expect(run.results.map(\.error) == [nil])
        #expect(!BytePath.exists(same))
        #expect(BytePath.exists(other))
        #expect(run.events.keptReasons == ["other.png": "library_differs"])
        #expect(run.events.warnings.contains { $0.contains("other.png") && $0.contains("SHA-256") })
    }

    @Test("ssh with the source's clock 2 days behind: its clock decides, and the skew is a warning")
    func clockSkewSSH() throws {
        let server = try TestSSHD(clockOffset: "-2d")
        let world = try PurgeWorld("prs")
        world.transport = .ssh(host: "127.0.0.1", port: server.port, user: "root", identity: server.identity,
                               options: ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "LogLevel=ERROR"])
        // 36 h old by the host's clock is in the source's future; 3.5 days by the host is 1.5 days by the source.
        let young = try world.add(Array("36h.png".utf8), ageSeconds: 36 * 3600)
        let youngish = try world.add(Array("2.5d.png".utf8), ageSeconds: 60 * 3600)
        let old = try world.add(Array("3.5d.png".utf8), ageSeconds: 84 * 3600)
        let run = try world.run()
        #expect(run.results.map(\.error) == [nil])
        #expect(BytePath.exists(young) && BytePath.exists(youngish))
        #expect(!BytePath.exists(old))
        #expect(run.events.keptReasons == ["36h.png": "clock_skew", "2.5d.png": "too_young"])
        #expect(run.events.warnings.contains { $0.contains("48h 0m behind") })
    }

    @Test("ssh with the source's clock 2 days ahead: files young by its clock stay, and the skew is a warning")
    func clockAheadSSH() throws {
        let server = try TestSSHD(clockOffset: "+2d")
        let world = try PurgeWorld("pra")
        world.transport = .ssh(host: "127.0.0.1", port: server.port, user: "root", identity: server.identity,
                               options: ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "LogLevel=ERROR"])
        // Written 1 h and 23 h ago by the source's clock: 47 h and 25 h in the host's future.
        let fresh = try world.add(Array("1h.png".utf8), ageSeconds: -47 * 3600)
        let almost = try world.add(Array("23h.png".utf8), ageSeconds: -25 * 3600)
        // 3 days old by the source's clock (1 day by the host's).
        let old = try world.add(Array("3d.png".utf8), ageSeconds: 24 * 3600)
        let run = try world.run()
        #expect(run.results.map(\.error) == [nil])
        #expect(BytePath.exists(fresh) && BytePath.exists(almost), "younger than min_age by the source's clock")
        #expect(!BytePath.exists(old))
        #expect(run.events.keptReasons == ["1h.png": "too_young", "23h.png": "too_young"])
        #expect(run.events.warnings.contains { $0.contains("ahead of") })
    }

    @Test("docker: a real purge through the docker shim")
    func docker() throws {
        let temp = try TempFolder("prdk")
        let shimRoot = temp.sub("containers")
        let world = try PurgeWorld("prdk", root: "/app", hostRoot: shimRoot + "/forge-1/root/app")
        world.transport = .docker(container: "forge-1", command: DockerShim.path)
        world.childEnvironment = ["MEDIASYNC_DOCKER_SHIM_ROOT": shimRoot]
        let old = try world.add(Array("emoji 🎨.png".utf8))
        let young = try world.add(Array("young.png".utf8), ageSeconds: 60)
        let run = try world.run()
        #expect(run.results.map(\.error) == [nil])
        #expect(!BytePath.exists(old))
        #expect(BytePath.exists(young))
        #expect(try world.manifest.purgeHistory(since: 0).map(\.path) == [Array("emoji 🎨.png".utf8)])
    }

    @Test("local: cancelled mid-way, the deletions stop at the batch in hand, the audit names exactly what is gone, the next run completes it")
    func localCancelledMidway() throws {
        let world = try PurgeWorld("prcx")
        // Three sub-folders: three batches, one after the other (a batch never spans folders).
        var all: [[UInt8]] = []
        for dir in ["a", "b", "c"] {
            for index in 0..<300 { all.append(try world.add(Array("\(dir)/\(index).png".utf8), size: 10)) }
        }
        let loop = try Loop()
        let job = try #require(world.config.jobs.first)
        let manifest = try ManifestStore(stateDirectory: world.state)
        var run: PurgeRun?
        var cancelled = false
        var result: PurgeResult?
        run = PurgeRun(loop: loop, config: world.config, manifest: manifest, cycleID: 0, job: job, dryRun: false,
                       ingest: nil) { body in
            // The first deletion told: the loop stops the run (its thread is at most through the first batch).
            guard !cancelled, case .filePurged = body else { return }
            cancelled = true
            run?.cancel()
        }
        run?.start { result = $0 }
        _ = loop.run()
        run = nil
        let ended = try #require(result)
        #expect(ended.error?.hasSuffix("purge: cancelled") == true, "\(ended)")
        let gone = Set(all.filter { !BytePath.exists($0) }.map { String(decoding: $0, as: UTF8.self) })
        #expect(!gone.isEmpty && gone.count <= 300, "\(gone.count) of 900 gone: more than the first batch")
        #expect(all.suffix(300).allSatisfy { BytePath.exists($0) }, "the last folder's batch ran after the cancel")
        let audited = Set(try manifest.purgeHistory(since: 0).map { String(decoding: world.sourcePath($0.path), as: UTF8.self) })
        #expect(audited == gone, "audited \(audited.count), gone \(gone.count)")

        let again = try world.run()
        #expect(again.results.map(\.error) == [nil])
        #expect(all.allSatisfy { !BytePath.exists($0) })
        #expect(try world.manifest.purgeHistory(since: 0).count == 900)
    }
}
