import Foundation
import Testing

/// `concurrency:` is a promise to the user's disk and link: never more rsync children than that, and the
/// overall percent they watch only goes up and ends at 100.
@Suite struct SyncLocalConcurrencyTests {
    @Test(.timeLimit(.minutes(10)))
    func neverMoreRsyncChildrenThanConcurrencyAndPercentOnlyRises() throws {
        let world = try SyncWorld()
        let folders = ["txt2img-images", "img2img-images", "extras-images", "txt2img-grids"]
        try world.writeConfig(sources: [("forge", folders, "bwlimit: 4M")],
                              top: ["settle: 0s", "concurrency: 2", "retry: {attempts: 3, backoff: 1s, max_backoff: 2s}"])
        for (index, folder) in folders.enumerated() {
            let dir = world.sourceRoot + "/" + folder
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            // Sizes differ, so jobs end at different times and slots are handed over mid-run.
            try Spawn.check(["sh", "-c", "head -c \(3_000_000 + index * 1_000_000) /dev/urandom > \"$1/0000\(index)-1.png\" && touch -d 2026-01-01 \"$1\"/*",
                             "sh", dir])
        }

        let running = try world.start()
        var most = 0
        var samples = 0
        Watch.until(timeout: 90) {
            let rsyncs = Watch.children(of: running.pid, named: "rsync").count
            most = max(most, rsyncs)
            samples += 1
            return running.poll() != nil
        }
        let run = try running.finish(timeout: 5)
        #expect(run.status == 0, "stderr: \(run.stderr)")
        run.checkEnvelope(jobs: 4)
        #expect(most <= 2, "saw \(most) rsync children at once with concurrency 2")
        // The sampling sees rsync children at all (else the bound above proves nothing). How many it caught at
        // once depends on when a loaded machine let it look; the events say it exactly:
        #expect(most >= 1, "never saw an rsync child in \(samples) samples")
        // Two jobs were copying at once (the slots were used), and never more than two.
        let copying = run.of("progress").map { event in
            ((event["jobs"] as? [[String: Any]]) ?? []).filter { $0["state"] as? String == "transferring" }.count
        }
        #expect(copying.max() == 2, "jobs copying at once, per progress event: \(copying)")

        let percents = run.of("progress").compactMap { ($0["overall"] as? [String: Any])?["percent"] as? Double }
        #expect(percents.count >= 3)
        for (before, after) in zip(percents, percents.dropFirst()) {
            #expect(after >= before, "overall percent fell from \(before) to \(after): \(percents)")
        }
        #expect(percents.last == 100)
        #expect(RawFS.tree(world.library).count == 4)
    }
}
