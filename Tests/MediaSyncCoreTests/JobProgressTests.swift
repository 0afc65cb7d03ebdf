import Testing
@testable import MediaSyncCore

@Suite struct JobProgressTests {
    let id = JobID(source: "gpu", folder: "outputs")

    /// Recorded from rsync 3.5.0: big1 (30 MB), big2 (20 MB), small (1000 B); the first run is
    /// interrupted 2.5 MB into big2; the second run (with --partial-dir) skips big1 silently,
    /// restarts its counter at 0 and counts big2 in full.
    @Test func aRetryNeitherDropsNorDoubleCountsBytes() {
        var job = JobProgress(id: id)
        job.plan(files: 3, bytes: 50_001_000)
        job.transition(to: .transferring, at: 0)
        let firstRun: [RsyncRecord] = [
            fileLine("a/big1.bin", 30_000_000),
            progressLine(32_768, 0),
            progressLine(16_220_160, 32),
            progressLine(30_000_000, 59, xfr: 1, chk: (2, 5)),
            progressLine(30_000_000, 59, xfr: 1, chk: (0, 5)),
            fileLine("a/big2.bin", 20_000_000),
            progressLine(32_523_136, 65),
        ]
        for (t, record) in firstRun.enumerated() { job.record(record, at: Double(t)) }
        #expect(job.filesDone == 1)
        #expect(job.currentFile == "a/big2.bin")
        do { let applied = job.transition(to: .waitingToRetry, at: 8); #expect(applied) }
        #expect(job.bytesDone == 32_523_136)
        let percentBefore = job.percent
        #expect(percentBefore == 65.0)

        do { let applied = job.transition(to: .transferring, at: 10); #expect(applied) }
        #expect(job.attempt == 2)
        var seen: [Int64] = []
        let secondRun: [RsyncRecord] = [
            progressLine(0, 0, xfr: 0, chk: (0, 5)),
            fileLine("a/big2.bin", 20_000_000),
            progressLine(32_768, 0),
            progressLine(20_000_000, 39, xfr: 1, chk: (1, 5)),
            fileLine("a/small.bin", 1000),
            progressLine(20_001_000, 40, xfr: 2, chk: (0, 5)),
            progressLine(20_001_000, 40, xfr: 2, chk: (0, 5)),
        ]
        for (t, record) in secondRun.enumerated() {
            job.record(record, at: 10 + Double(t))
            seen.append(job.bytesDone)
            #expect(job.percent >= percentBefore)
        }
        // Held at the first run's mark until the resent part of big2 is passed, never below it.
        #expect(seen[0] == 32_523_136 && seen[2] == 32_523_136)
        #expect(seen == seen.sorted())
        #expect(job.bytesDone == 50_001_000)
        #expect(job.filesDone == 3)
        #expect(job.percent == 99.9)
        do { let applied = job.transition(to: .done, at: 20); #expect(applied) }
        #expect(job.percent == 100)
        #expect(job.bytesDone == job.bytesTotal)
    }

    @Test func aFileCountsAsDoneWhenItsTransferEndsNotWhenItsNameIsPrinted() {
        var job = JobProgress(id: id)
        job.plan(files: 2, bytes: 2 * MB)
        job.transition(to: .transferring, at: 0)
        job.record(fileLine("day/00012-3912345.png", MB), at: 0)
        #expect(job.filesDone == 0)
        #expect(job.currentFile == "day/00012-3912345.png")
        job.record(progressLine(MB / 2, 25), at: 1)
        #expect(job.filesDone == 0)
        job.record(progressLine(MB, 50, xfr: 1, chk: (1, 3)), at: 2)
        #expect(job.filesDone == 1)
        // The repeated record rsync prints at the end of a run does not count another file.
        job.record(progressLine(MB, 50, xfr: 1, chk: (1, 3)), at: 2)
        #expect(job.filesDone == 1)
    }

    @Test func aFileAFailedRunLeftHalfDoneIsNotCounted() {
        var job = JobProgress(id: id)
        job.plan(files: 1, bytes: 4 * MB)
        job.transition(to: .transferring, at: 0)
        job.record(fileLine("a.mp4", 4 * MB), at: 0)
        job.record(progressLine(3 * MB, 75), at: 1)
        job.transition(to: .waitingToRetry, at: 2)
        #expect(job.filesDone == 0)
        #expect(job.currentFile == nil)
        job.transition(to: .transferring, at: 3)
        // The partial dir lets rsync resume: its counter restarts and counts the file in full.
        job.record(fileLine("a.mp4", 4 * MB), at: 3)
        job.record(progressLine(4 * MB, 100, xfr: 1, chk: (0, 1)), at: 4)
        #expect(job.filesDone == 1)
        #expect(job.bytesDone == 4 * MB)
    }

    @Test func aFileReportedByTwoRunsCountsOnce() {
        var job = JobProgress(id: id)
        job.plan(files: 2, bytes: 2 * MB)
        job.transition(to: .transferring, at: 0)
        job.record(fileLine("x.png", MB), at: 0)
        job.record(progressLine(MB, 50, xfr: 1), at: 1)
        job.transition(to: .waitingToRetry, at: 2)
        job.transition(to: .transferring, at: 3)
        job.record(fileLine("x.png", MB, itemize: ".f..t......"), at: 3)
        #expect(job.filesDone == 1)
        #expect(job.bytesDone == MB)
    }

    @Test func anAttributeOnlyUpdateCountsAsDoneWithItsBytes() {
        var job = JobProgress(id: id)
        job.plan(files: 2, bytes: 3 * MB)
        job.transition(to: .transferring, at: 0)
        job.record(fileLine("old.png", MB, itemize: ".f..t......"), at: 0)
        #expect(job.filesDone == 1)
        #expect(job.bytesDone == MB)
        job.record(fileLine("new.png", 2 * MB), at: 0)
        job.record(progressLine(2 * MB, 66, xfr: 1), at: 1)
        #expect(job.bytesDone == 3 * MB)
        #expect(job.filesDone == 2)
    }

    @Test func recordsOutsideATransferAreIgnored() {
        var job = JobProgress(id: id)
        let early = job.record(progressLine(MB, 10), at: 0)
        #expect(!early)
        job.transition(to: .transferring, at: 0)
        job.transition(to: .failed, at: 1)
        let late = job.record(fileLine("late.png", MB), at: 2)
        #expect(!late)
        #expect(job.bytesDone == 0 && job.filesDone == 0)
    }

    /// Shape recorded from rsync 3.5.0 with incremental recursion over 3 folders of 1500 small
    /// files and one 2 MB file each: rsync's percent goes 99, 49, 50, 80, 99, 66, 100.
    static let incrementalRun: [RsyncRecord] = [
        progressLine(2, 0),
        progressLine(1_003_000, 49, xfr: 800, chk: (701, 1503), growing: true),
        progressLine(2_006_393, 99, xfr: 1501, chk: (1501, 3007), growing: true),
        progressLine(2_006_395, 49, xfr: 1502, chk: (3002, 4509), growing: true),
        progressLine(2_009_590, 50, xfr: 2180, chk: (2324, 4509), growing: true),
        progressLine(3_225_202, 80),
        progressLine(4_012_786, 99, xfr: 3002, chk: (1501, 4509), growing: true),
        progressLine(4_012_788, 66, xfr: 3003, chk: (1501, 4510)),
        progressLine(5_100_000, 84),
        progressLine(6_019_179, 100, xfr: 4503, chk: (0, 4510)),
    ]

    @Test func withoutAPlanTheTotalsComeFromRsyncAndThePercentNeverFalls() {
        var job = JobProgress(id: id)
        job.transition(to: .transferring, at: 0)
        var last = 0.0
        var totals: [Int64] = []
        for (t, record) in Self.incrementalRun.enumerated() {
            job.record(record, at: Double(t))
            #expect(job.percent >= last)
            #expect(job.percent < 100)
            last = job.percent
            totals.append(job.bytesTotal)
        }
        #expect(job.hasTotals && !job.totalsKnown)
        // The estimated total follows the growing list: about 2 MB, then 4, then 6.
        #expect(abs(Double(totals[2]) / 2_006_393 - 1) < 0.02)
        #expect(abs(Double(totals[3]) / 4_090_000 - 1) < 0.03)
        #expect(totals.last == 6_019_179)
        #expect(job.bytesDone == 6_019_179)
        job.transition(to: .done, at: 20)
        #expect(job.percent == 100)
        #expect(job.bytesTotal == 6_019_179)
    }

    /// Three streams with unequal shares (6, 3 and 1 MB). Stream 1 fails with 1.5 MB of its 2 MB file sent and
    /// starts again: its counter restarts at 0 and it sends that file again. The job's bytes are the sum of
    /// the streams, hold still while the restarted stream resends what was counted, and end at the plan's total.
    @Test func aJobSumsItsStreamsAndARestartedStreamNeitherDropsNorDoubleCounts() {
        var job = JobProgress(id: id)
        job.plan(files: 6, bytes: 10 * MB)
        job.transition(to: .transferring, at: 0)
        job.record(fileLine("a1.png", 3 * MB), stream: 0, at: 0)
        job.record(fileLine("b1.png", MB), stream: 1, at: 0)
        job.record(fileLine("c1.png", MB), stream: 2, at: 0)
        job.record(progressLine(2 * MB, 33), stream: 0, at: 1)
        job.record(progressLine(MB, 33, xfr: 1), stream: 1, at: 1)
        job.record(fileLine("b2.png", 2 * MB), stream: 1, at: 1)
        job.record(progressLine(MB, 100, xfr: 1), stream: 2, at: 1)
        #expect(job.bytesDone == 4 * MB)   // 2 (a1 in flight) + 1 (b1) + 1 (c1)
        #expect(job.filesDone == 2)
        #expect(job.streamCount == 3)
        job.record(progressLine(MB + 3 * MB / 2, 83), stream: 1, at: 2)   // b2 1.5 MB in
        #expect(job.bytesDone == 11 * MB / 2)
        var seen: [Int64] = [job.bytesDone]
        var percents: [Double] = [job.percent]
        // Stream 1 dies and starts again: b1 is in place (rsync skips it silently), b2 is sent from 0.
        let restarted: [(Int, RsyncRecord)] = [
            (1, fileLine("b2.png", 2 * MB)),
            (1, progressLine(32_768, 0)),
            (0, progressLine(3 * MB, 50, xfr: 1)),
            (0, fileLine("a2.png", 3 * MB)),
            (1, progressLine(MB, 33)),
            (1, progressLine(2 * MB, 66, xfr: 1)),
            (0, progressLine(6 * MB, 100, xfr: 2)),
        ]
        for (n, (stream, record)) in restarted.enumerated() {
            job.record(record, stream: stream, at: 3 + Double(n))
            seen.append(job.bytesDone)
            percents.append(job.percent)
        }
        #expect(seen == seen.sorted(), "the job's bytes fell: \(seen)")
        #expect(percents == percents.sorted())
        // Held at 5.5 MB while the restarted stream resent b2's first 1.5 MB (and a1's end made up for it).
        #expect(seen[1...4].allSatisfy { $0 == 11 * MB / 2 } && seen[5] == 6 * MB)
        #expect(job.bytesDone == 10 * MB)
        #expect(job.filesDone == 5)
        #expect(job.percent == 99.9)
        job.transition(to: .done, at: 20)
        #expect(job.percent == 100)
    }

    /// A restarted stream whose first record already passes its old counter is still told apart by its `xfr#`,
    /// so the file it has in flight after that counts.
    @Test func aStreamRestartIsSeenByItsFileNumberToo() {
        var job = JobProgress(id: id)
        job.plan(files: 6, bytes: 6 * MB)
        job.transition(to: .transferring, at: 0)
        for (n, name) in ["a", "b", "c", "d"].enumerated() {
            job.record(fileLine("\(name).png", MB / 2), at: Double(n))
            job.record(progressLine(Int64(n + 1) * MB / 2, (n + 1) * 8, xfr: n + 1), at: Double(n) + 0.5)
        }
        job.record(fileLine("e.png", 3 * MB), at: 4)
        job.record(progressLine(5 * MB / 2, 41), at: 5)   // e half a MB in, then the stream dies
        // The new run: a-d are in place (skipped silently), e is sent again from 0, then f.
        job.record(fileLine("e.png", 3 * MB), at: 6)
        job.record(progressLine(3 * MB, 75, xfr: 1), at: 7)
        job.record(fileLine("f.png", MB), at: 7)
        job.record(progressLine(7 * MB / 2, 87), at: 8)
        #expect(job.filesDone == 5)
        #expect(job.bytesDone == 11 * MB / 2)   // a-e (5 MB) and half of f
    }
}
