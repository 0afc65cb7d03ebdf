import Foundation
import Testing

/// A first sync of a box used for months (one folder of 60,000 files), and what a killed run leaves behind:
/// after SIGKILL of `sync` or `serve`, nothing of the old run goes on copying, and a new run started at once
/// succeeds. (The purge's kill test is SyncPurgeKillTests.)
@Suite struct SyncScaleAndKillTests {
    static let oldMtime = SyncLocalBasicTests.oldMtime

    // The limits catch a hang (the cycle that hung on a 1.4 MB file list), not slowness: writing and syncing
    // 60,000 files took over 5 minutes with the machine loaded (bin/bench scale measures the speed).
    @Test(.timeLimit(.minutes(20)))
    func sixtyThousandNewFilesInOneFolderAllArrive() throws {
        // 60,000 names are 1.4 MB of file list: more than a pipe's write queue held at once (the cycle hung).
        let world = try SyncWorld()
        try world.writeConfig(sources: [("comfy", ["output"], "")], top: ["settle: 0s"])
        let count = 60_000
        for index in 0..<count {
            try RawFS.write(world.source(String(format: "output/ComfyUI_%06d_.png", index)), Array("\(index)".utf8), mtime: Self.oldMtime)
        }
        let run = try world.sync([], timeout: 900)
        #expect(run.status == 0, "stderr: \(run.stderr.prefix(2000))")
        #expect(run.of("file_synced").count == count)
        let library = RawFS.tree(world.library + "/comfy/output")
        #expect(library.count == count)
        #expect(library[Array("ComfyUI_059999_.png".utf8)]?.content == Array("59999".utf8))
    }

    /// Whether `pid` is gone (or only a zombie waiting for its new parent to reap it).
    static func gone(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(close, offsetBy: 2)] == "Z"
    }

    /// A 6 MB file at 2 MB/s: each run copies for about three seconds.
    static func slowWorld() throws -> (SyncWorld, [UInt8]) {
        let world = try SyncWorld()
        try world.writeConfig(sources: [("box", ["out"], "bwlimit: 2M")], top: ["settle: 0s"])
        let content = (0..<(6 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        try RawFS.write(world.source("out/video.mp4"), content, mtime: Self.oldMtime)
        return (world, content)
    }

    /// The pids of the processes copying into `staging` once one writes there.
    static func copying(into staging: String) -> [pid_t] {
        var pids: [pid_t] = []
        Watch.until(timeout: 30) {
            pids = Watch.processes(containing: staging)
            return pids.contains { Watch.hasOpenFile($0, under: staging) }
        }
        return pids
    }

    @Test(.timeLimit(.minutes(10)))
    func afterSIGKILLOfSyncNothingGoesOnCopyingAndANewRunSucceedsAtOnce() throws {
        let (world, content) = try Self.slowWorld()
        // rsync's unfinished file is in staging, or, when it writes into the library itself, its hidden temporary
        // file beside the final name: both under the library.
        let staging = world.library
        let first = try world.start()
        let old = Self.copying(into: staging)
        #expect(!old.isEmpty, "no rsync was seen copying into \(staging)")
        kill(first.pid, SIGKILL)
        _ = try? first.finish(timeout: 5)
        let again = try world.start()
        let ended = Watch.until(timeout: 5) { old.allSatisfy(Self.gone) }
        #expect(ended, "children of the killed run still run 5 s later: \(old.filter { !Self.gone($0) })")
        let run = try again.finish(timeout: 60)
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(RawFS.read(world.inLibrary("box/out/video.mp4")) == content)
        #expect(RawFS.tree(world.library).count == 1, "one file, no ~N copy")
    }

    @Test(.timeLimit(.minutes(10)))
    func afterSIGKILLOfServeNothingGoesOnCopyingAndANewServeSucceedsAtOnce() throws {
        let serve = try ServeHarness(folders: ["a"], interval: "1h", sourceExtra: ", bwlimit: 2M")
        defer { serve.stop() }
        let content = (0..<(6 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 40_503 >> 7) }
        FileManager.default.createFile(atPath: serve.sources + "/a/video.mp4", contents: Data(content))
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)],
                                              ofItemAtPath: serve.sources + "/a/video.mp4")
        try serve.start()
        let staging = serve.library
        let old = Self.copying(into: staging)
        #expect(!old.isEmpty, "serve's first cycle was not seen copying into \(staging):\n\(serve.log)")
        serve.signal(SIGKILL)
        #expect(serve.exitStatus(timeout: 5) == 128 + SIGKILL)
        try serve.start()
        let ended = Watch.until(timeout: 5) { old.allSatisfy(Self.gone) }
        #expect(ended, "children of the killed serve still run 5 s later: \(old.filter { !Self.gone($0) })")
        let home = Watch.until(timeout: 60) {
            (try? Data(contentsOf: URL(fileURLWithPath: serve.library + "/src/a/video.mp4"))).map(Array.init) == content
        }
        #expect(home, "the new serve did not bring the file home:\n\(serve.log)")
        let status = try serve.cli(["status", "--socket", serve.socket, "--json"])
        #expect(status.stdout.contains(#""state":"done""#), "status: \(status.stdout)")
    }
}
