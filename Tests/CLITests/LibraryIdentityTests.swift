import Foundation
import Testing

/// The classic home-server failure: the library's drive is not mounted, so the library path is an empty
/// folder on the system disk. mediasync must refuse it (nothing written there, nothing purged), say why, and
/// work again once the drive is back; a deliberate move is adopted with `mediasync adopt-library`.
@Suite struct LibraryIdentityTests {
    static let aged = Int(Date().timeIntervalSince1970) - 3 * 86_400

    /// Everything below `folder`, names only (`.mediasync` included): what a refused run must not have written.
    static func entries(_ folder: String) -> [String] {
        (FileManager.default.enumerator(atPath: folder)?.allObjects as? [String] ?? []).sorted()
    }

    @Test(.timeLimit(.minutes(10)))
    func anUnmountedLibraryIsRefusedWithPurgeOnAndWorksAgainWhenBack() throws {
        let world = try SyncWorld()
        try world.writeConfig(sources: [("gpu", ["out"], "purge: true")],
                              top: ["settle: 0s", "purge: {enabled: true, min_age: 1h}"])
        for name in ["a.png", "b.png", "c.png"] { try RawFS.write(world.source("out/" + name), Array(name.utf8), mtime: Self.aged) }
        let first = try world.sync()
        #expect(first.status == 0, "stderr: \(first.stderr)")
        #expect(first.of("file_purged").count == 3)

        // The drive "unmounted": the library path is an empty folder now; one new file at the source.
        let real = world.library + ".real"
        try FileManager.default.moveItem(atPath: world.library, toPath: real)
        try FileManager.default.createDirectory(atPath: world.library, withIntermediateDirectories: false)
        try RawFS.write(world.source("out/d.png"), Array("d".utf8), mtime: Self.aged)

        let refused = try world.sync()
        #expect(refused.status == 1, "stderr: \(refused.stderr)")
        #expect(refused.stderr.contains(world.library) && refused.stderr.contains("not mounted"), "stderr: \(refused.stderr)")
        let finished = try #require(refused.of("job_finished").first)
        #expect((finished["error"] as? String ?? "").contains("marker"), "\(finished)")
        #expect(Self.entries(world.library).isEmpty, "a refused run wrote into the empty folder: \(Self.entries(world.library))")
        #expect(refused.of("file_purged").isEmpty)
        #expect(RawFS.exists(world.source("out/d.png")), "the new file was purged while its only copy is nowhere")

        // A purge alone is refused too.
        let purge = try SyncProcess(pid: try Spawn.start([try CLIRunner.binary(), "purge", "--config", world.configPath],
                                                         environment: ["HOME": world.root, "PATH": "/usr/bin:/bin"],
                                                         stdout: world.root + "/purge.out", stderr: world.root + "/purge.err"),
                                    stdoutPath: world.root + "/purge.out", stderrPath: world.root + "/purge.err").finish(timeout: 60)
        #expect(purge.status == 1, "purge stderr: \(purge.stderr)")
        #expect(purge.stderr.contains("not mounted"), "purge stderr: \(purge.stderr)")
        #expect(Self.entries(world.library).isEmpty)

        // The drive is back: the next run syncs and purges the new file.
        try FileManager.default.removeItem(atPath: world.library)
        try FileManager.default.moveItem(atPath: real, toPath: world.library)
        let back = try world.sync()
        #expect(back.status == 0, "stderr: \(back.stderr)")
        #expect(back.of("file_synced").count == 1)
        #expect(RawFS.read(world.inLibrary("gpu/out/d.png")) == Array("d".utf8))
        #expect(!RawFS.exists(world.source("out/d.png")))
    }

    @Test(.timeLimit(.minutes(10)))
    func aDeliberateMoveIsRefusedUntilAdopted() throws {
        let world = try SyncWorld()
        try world.writeConfig(sources: [("gpu", ["out"], "")], top: ["settle: 0s"])
        try RawFS.write(world.source("out/a.png"), [1], mtime: Self.aged)
        #expect(try world.sync().status == 0)
        // Moved by hand to a new disk, without the marker (a copy of the files only), config updated.
        let moved = world.root + "/newdisk"
        try FileManager.default.createDirectory(atPath: moved + "/gpu/out", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: world.library + "/gpu/out/a.png", toPath: moved + "/gpu/out/a.png")
        world.library = moved
        try world.writeConfig(sources: [("gpu", ["out"], "")], top: ["settle: 0s"])
        try RawFS.write(world.source("out/b.png"), [2], mtime: Self.aged)
        let refused = try world.sync()
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("adopt-library"), "stderr: \(refused.stderr)")

        let adopt = try CLIRunner().run(["adopt-library", "--config", world.configPath])
        #expect(adopt.status == 0, "\(adopt.stderr)")
        #expect(adopt.stdout.contains(moved) && adopt.stdout.contains("is now this mediasync library"), "\(adopt.stdout)")
        let after = try world.sync()
        #expect(after.status == 0, "stderr: \(after.stderr)")
        #expect(RawFS.read(world.inLibrary("gpu/out/b.png")) == [2])
        #expect(after.of("file_synced").count == 1, "a.png is home already")
    }
}

/// Under `serve`, a library whose drive went away fails each cycle's jobs with the reason, writes nothing,
/// and the first cycle after the drive is back works.
@Suite struct LibraryIdentityServeTests {
    @Test(.timeLimit(.minutes(10)))
    func serveRefusesAnUnmountedLibraryUntilItIsBack() throws {
        let serve = try ServeHarness(folders: ["a"], interval: "1h")
        defer { serve.stop() }
        try serve.makeFiles("a", count: 2, size: 100)
        try serve.start()
        let first = try serve.cli(["trigger", "--wait", "--config", serve.configPath])
        #expect(first.status == 0, "\(first.stdout) \(first.stderr)")

        let real = serve.library + ".real"
        try FileManager.default.moveItem(atPath: serve.library, toPath: real)
        try FileManager.default.createDirectory(atPath: serve.library, withIntermediateDirectories: false)
        try serve.makeFiles("a", count: 1, size: 100, prefix: "new")
        let refused = try serve.cli(["trigger", "--wait", "--config", serve.configPath])
        #expect(refused.status == 1, "\(refused.stdout) \(refused.stderr)")
        let status = try serve.cli(["status", "--config", serve.configPath])
        #expect(status.stdout.contains("not mounted"), "status: \(status.stdout)")
        #expect(LibraryIdentityTests.entries(serve.library).isEmpty, "serve wrote into the empty folder")

        try FileManager.default.removeItem(atPath: serve.library)
        try FileManager.default.moveItem(atPath: real, toPath: serve.library)
        let back = try serve.cli(["trigger", "--wait", "--config", serve.configPath])
        #expect(back.status == 0, "\(back.stdout) \(back.stderr)")
        #expect(FileManager.default.fileExists(atPath: serve.library + "/src/a/new0.png"))
    }
}
