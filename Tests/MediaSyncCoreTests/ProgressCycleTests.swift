import Testing
@testable import MediaSyncCore

@Suite struct ProgressCycleTests {
    let forge = JobID(source: "forge", folder: "outputs/txt2img-images")
    let comfy = JobID(source: "comfy", folder: "ComfyUI/output")

    @Test func theOverallPercentNeverFallsWhileRsyncsTotalsGrowAndIs100OnlyAtTheEnd() {
        var cycle = CycleProgress(jobs: [forge, comfy], concurrency: 2)
        cycle.plan(comfy, files: 2, bytes: 2 * MB, at: 0)
        cycle.transition(forge, to: .transferring, at: 0)   // no plan: rsync's incremental run
        cycle.transition(comfy, to: .transferring, at: 0)
        let comfyRun: [RsyncRecord] = [
            fileLine("ComfyUI_00001_.png", MB), progressLine(MB, 50, xfr: 1, chk: (1, 2)),
            fileLine("ComfyUI_00002_.png", MB), progressLine(MB + MB / 2, 75),
            progressLine(2 * MB, 100, xfr: 2, chk: (0, 2)),
        ]
        var seen: [Double] = []
        var raw: [Double] = []
        var t = 0.0
        for (i, record) in JobProgressTests.incrementalRun.enumerated() {
            t += 1
            cycle.record(record, for: forge, at: t)
            seen.append(cycle.percent)
            raw.append(Double(cycle.bytesDone) / Double(cycle.bytesTotal) * 100)
            if i < comfyRun.count {
                cycle.record(comfyRun[i], for: comfy, at: t)
                seen.append(cycle.percent)
            }
        }
        #expect(seen == seen.sorted(), "overall percent went backwards: \(seen)")
        #expect(seen.allSatisfy { $0 < 100 })
        // The raw ratio did fall (rsync's list grew), so the high-water mark was needed.
        #expect(zip(raw, raw.dropFirst()).contains { $1 < $0 - 10 })
        cycle.transition(comfy, to: .done, at: t + 1)
        #expect(cycle.percent < 100)
        cycle.transition(forge, to: .purging, at: t + 2)
        #expect(cycle.percent == 99.9)
        cycle.transition(forge, to: .done, at: t + 3)
        #expect(cycle.percent == 100)
        #expect(cycle.allDone)
    }

    @Test func aLatePlanHoldsThePercentInsteadOfDroppingIt() {
        var cycle = CycleProgress(jobs: [forge, comfy], concurrency: 1)
        cycle.plan(forge, files: 1, bytes: 10 * MB, at: 0)
        cycle.transition(forge, to: .transferring, at: 0)
        cycle.record(fileLine("a.png", 10 * MB), for: forge, at: 0)
        cycle.record(progressLine(5 * MB, 50), for: forge, at: 1)
        #expect(cycle.percent == 25)   // comfy, not listed, counts as the average listed job: 5 of 20 MB
        cycle.plan(comfy, files: 9, bytes: 90 * MB, at: 2)   // raw ratio now 5%
        #expect(cycle.percent == 25)
        #expect(cycle.bytesTotal == 100 * MB)
        cycle.record(progressLine(10 * MB, 100, xfr: 1), for: forge, at: 3)
        cycle.transition(forge, to: .done, at: 3)
        cycle.transition(comfy, to: .transferring, at: 3)
        cycle.record(progressLine(50 * MB, 55), for: comfy, at: 8)
        #expect(cycle.percent == 60)   // 60 of 100 MB: caught up and moving again
    }

    @Test func aCycleWithAFailedJobEndsBelow100() {
        var cycle = CycleProgress(jobs: [forge, comfy], concurrency: 2)
        for id in [forge, comfy] {
            cycle.plan(id, files: 1, bytes: MB, at: 0)
            cycle.transition(id, to: .transferring, at: 0)
        }
        cycle.record(progressLine(MB, 100, xfr: 1), for: forge, at: 1)
        cycle.transition(forge, to: .done, at: 1)
        cycle.record(progressLine(MB / 2, 50), for: comfy, at: 1)
        cycle.transition(comfy, to: .failed, at: 2)
        #expect(cycle.isFinished)
        #expect(!cycle.allDone)
        #expect(cycle.percent == 75)
        #expect(cycle.bytesDone == MB + MB / 2)
        #expect(cycle.filesDone == 1 && cycle.filesTotal == 2)
    }

    @Test func withNoBytesThePercentCountsFiles() {
        var cycle = CycleProgress(jobs: [forge], concurrency: 1)
        cycle.plan(forge, files: 4, bytes: 0, at: 0)
        cycle.transition(forge, to: .transferring, at: 0)
        cycle.record(fileLine("empty1.txt", 0), for: forge, at: 0)
        cycle.record(progressLine(0, 100, xfr: 1), for: forge, at: 0)
        #expect(cycle.percent == 25)
    }

    @Test func unknownJobsAndIllegalMovesAreRefused() {
        var cycle = CycleProgress(jobs: [forge], concurrency: 1)
        let stranger = JobID(source: "nobody", folder: "x")
        let transitioned = cycle.transition(stranger, to: .listing, at: 0)
        let recorded = cycle.record(progressLine(MB, 1), for: stranger, at: 0)
        let finished = cycle.transition(forge, to: .done, at: 0)
        let added = cycle.addJob(forge)
        #expect(!transitioned && !recorded && !finished && !added)
        #expect(cycle[forge]?.state == .queued)
        #expect(cycle.jobs.count == 1)
    }

    @Test func anEmptyCycleIsComplete() {
        let cycle = CycleProgress(jobs: [], concurrency: 4)
        #expect(cycle.percent == 100)
        #expect(cycle.snapshot(at: 0).overall.etaS == 0)
    }
}
