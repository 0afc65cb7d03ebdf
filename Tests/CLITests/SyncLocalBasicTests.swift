import Foundation
import Testing

/// `mediasync sync` with a local source, run as the built binary: what lands in the library, what the
/// JSON events say, and what a second run, a deleted file, a reused name and a fresh file do.
@Suite struct SyncLocalBasicTests {
    static let oldMtime = 1_767_225_600  // 2026-01-01, long settled

    /// Names users' files really have, and some that break naive quoting or escaping.
    static let awkwardNames: [[UInt8]] = [
        Array("new\nline.png".utf8), Array("tab\there.png".utf8), Array("back\\#012slash.png".utf8),
        Array("-leading-dash.png".utf8), Array("with  two spaces .png".utf8), Array("emoji 😀🎨.png".utf8),
        Array("bad".utf8) + [0xFF, 0xFE] + Array(".png".utf8), Array("star*.png".utf8),
        Array("2026-11-24/00012-3912345.png".utf8), Array("2026-11-25/00001-1.png".utf8),
    ]

    static func makeTree(_ world: SyncWorld, folder: String, names: [[UInt8]] = awkwardNames) throws -> [[UInt8]: RawFS.Entry] {
        var expected: [[UInt8]: RawFS.Entry] = [:]
        for (index, name) in names.enumerated() {
            let content = (0..<(1_000 + index * 377)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
            let mtime = oldMtime + index * 61
            try RawFS.write(world.source(Array(folder.utf8) + [0x2F] + name), content, mtime: mtime)
            expected[Array("src/\(folder)/".utf8) + name] = RawFS.Entry(content: content, mtime: mtime)
        }
        return expected
    }

    static let fastRetry = "retry: {attempts: 3, backoff: 1s, max_backoff: 2s}"

    @Test func awkwardNamesArriveByteForByteAndEventsNameThemExactly() throws {
        let world = try SyncWorld()
        try world.writeConfig(sources: [("src", ["out"], "")], top: ["settle: 0s", Self.fastRetry])
        let expected = try Self.makeTree(world, folder: "out")

        let run = try world.sync()
        #expect(run.status == 0, "stderr: \(run.stderr)")
        run.checkEnvelope(jobs: 1)
        let library = RawFS.tree(world.library)
        #expect(Set(library.keys) == Set(expected.keys), "library: \(library.keys.map(RawFS.show))")
        for (path, entry) in expected {
            #expect(library[path] == entry, "\(RawFS.show(path)): \(String(describing: library[path])) vs \(entry)")
        }

        let synced = run.of("file_synced")
        let eventPaths = synced.compactMap { SyncResult.exact($0, "path") }
        #expect(Set(eventPaths) == Set(Self.awkwardNames), "file_synced paths: \(eventPaths.map(RawFS.show))")
        #expect(eventPaths.count == Self.awkwardNames.count)
        for event in synced {
            let libraryPath = try #require(SyncResult.exact(event, "library_path"))
            let path = try #require(SyncResult.exact(event, "path"))
            #expect(libraryPath == world.inLibrary("src/out/") + path)
            #expect(event["size"] as? Int == expected[Array("src/out/".utf8) + path]?.content.count)
            #expect(event["mtime"] as? Int == expected[Array("src/out/".utf8) + path]?.mtime)
        }
        let finished = try #require(run.of("job_finished").first)
        #expect(finished["state"] as? String == "done")
        #expect(finished["files"] as? Int == Self.awkwardNames.count)
    }

    @Test func secondRunMovesNothingAndDeletedFilesStayDeletedUnlessRefetched() throws {
        let world = try SyncWorld()
        try world.writeConfig(sources: [("src", ["a", "b"], "")], top: ["settle: 0s", Self.fastRetry])
        _ = try Self.makeTree(world, folder: "a", names: Self.awkwardNames.prefix(4).map { $0 })
        _ = try Self.makeTree(world, folder: "b", names: [Array("one.png".utf8), Array("two.png".utf8)])
        let first = try world.sync()
        #expect(first.status == 0, "stderr: \(first.stderr)")
        #expect(first.of("file_synced").count == 6)
        let before = RawFS.tree(world.library)

        let second = try world.sync()
        #expect(second.status == 0, "stderr: \(second.stderr)")
        second.checkEnvelope(jobs: 2)
        #expect(second.of("file_synced").isEmpty)
        #expect(second.of("job_finished").allSatisfy { $0["files"] as? Int == 0 && $0["state"] as? String == "done" })
        #expect(second.of("cycle_finished").first?["files"] as? Int == 0)
        #expect(RawFS.tree(world.library) == before)

        // The user deleted one: it is gone for good, unless they ask for it back.
        let deleted = world.inLibrary("src/b/two.png")
        RawFS.remove(deleted)
        let third = try world.sync()
        #expect(third.status == 0, "stderr: \(third.stderr)")
        #expect(third.of("file_synced").isEmpty)
        #expect(!RawFS.exists(deleted))

        let refetch = try world.sync(["--refetch"])
        #expect(refetch.status == 0, "stderr: \(refetch.stderr)")
        refetch.checkEnvelope(jobs: 2)
        #expect(refetch.of("file_synced").compactMap { SyncResult.exact($0, "library_path") } == [deleted])
        #expect(RawFS.tree(world.library) == before)
    }

    @Test func aReusedNameKeepsTheOldFileAndLandsBesideIt() throws {
        let world = try SyncWorld()
        try world.writeConfig(sources: [("forge", ["txt2img"], "")], top: ["settle: 0s", Self.fastRetry])
        let name = world.source("txt2img/2026-11-24/00012-3912345.png")
        let old = Array("old image".utf8)
        try RawFS.write(name, old, mtime: Self.oldMtime)
        let first = try world.sync()
        #expect(first.status == 0, "stderr: \(first.stderr)")

        // Forge purged it and numbered a new image the same.
        RawFS.remove(name)
        let new = Array("a newer, different image".utf8)
        try RawFS.write(name, new, mtime: Self.oldMtime + 86_400)
        let second = try world.sync()
        #expect(second.status == 0, "stderr: \(second.stderr)")
        second.checkEnvelope(jobs: 1)

        let library = RawFS.tree(world.library)
        let oldPath = Array("forge/txt2img/2026-11-24/00012-3912345.png".utf8)
        let newPath = Array("forge/txt2img/2026-11-24/00012-3912345~2.png".utf8)
        #expect(library[oldPath] == RawFS.Entry(content: old, mtime: Self.oldMtime))
        #expect(library[newPath] == RawFS.Entry(content: new, mtime: Self.oldMtime + 86_400))
        #expect(library.count == 2)
        let synced = try #require(second.of("file_synced").first)
        #expect(second.of("file_synced").count == 1)
        #expect(SyncResult.exact(synced, "library_path") == world.inLibrary("forge/txt2img/2026-11-24/00012-3912345~2.png"))
        #expect(SyncResult.exact(synced, "renamed_from") == world.inLibrary("forge/txt2img/2026-11-24/00012-3912345.png"))
    }

    @Test func aFreshFileWaitsForSettleThenArrivesWhole() throws {
        let world = try SyncWorld()
        try world.writeConfig(sources: [("comfy", ["output"], "")], top: ["settle: 1h", Self.fastRetry])
        let settled = world.source("output/ComfyUI_00001_.png")
        let fresh = world.source("output/ComfyUI_00002_.png")
        try RawFS.write(settled, Array(repeating: 7, count: 5_000), mtime: Self.oldMtime)
        let content = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 % 251) }
        try RawFS.write(fresh, content, mtime: Int(Date().timeIntervalSince1970))

        let first = try world.sync()
        #expect(first.status == 0, "stderr: \(first.stderr)")
        first.checkEnvelope(jobs: 1)
        let deferred = first.of("file_deferred")
        #expect(deferred.count == 1)
        #expect(deferred.first?["path"] as? String == "ComfyUI_00002_.png")
        #expect((deferred.first?["reason"] as? String ?? "").isEmpty == false)
        #expect(first.of("file_synced").compactMap { $0["path"] as? String } == ["ComfyUI_00001_.png"])
        #expect(!RawFS.exists(world.inLibrary("comfy/output/ComfyUI_00002_.png")))

        // Now it is old: the next run takes it, whole.
        try RawFS.setMtime(fresh, Self.oldMtime + 100)
        let second = try world.sync()
        #expect(second.status == 0, "stderr: \(second.stderr)")
        #expect(second.of("file_deferred").isEmpty)
        #expect(second.of("file_synced").compactMap { $0["path"] as? String } == ["ComfyUI_00002_.png"])
        #expect(RawFS.tree(world.library)[Array("comfy/output/ComfyUI_00002_.png".utf8)]
                == RawFS.Entry(content: content, mtime: Self.oldMtime + 100))
    }
}
