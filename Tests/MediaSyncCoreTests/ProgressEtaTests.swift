import Testing
@testable import MediaSyncCore

@Suite struct ProgressEtaTests {
    let step = 0.05

    func relativeError(_ estimate: Double?, _ truth: Double) throws -> Double {
        abs(try #require(estimate) - truth) / truth
    }

    /// NOTES.md, "ETA with parallel jobs": four rsyncs at 8 MB/s over 10, 20, 30 and 60 MB.
    @Test func theNotesScenarioAtTheHalfwayPoint() throws {
        var run = ParallelRun(sizes: [10 * MB, 20 * MB, 30 * MB, 60 * MB], rate: 8e6, concurrency: 4)
        while run.cycle.bytesDone < 60 * MB { run.advance(by: step) }
        let truth = run.finishTime(step: step) - run.now
        #expect(abs(truth - 5.4) < 0.1)
        let cycleRate = try #require(run.cycle.rate(at: run.now))
        let naive = Double(run.cycle.bytesTotal - run.cycle.bytesDone) / cycleRate
        #expect(naive < 0.6 * truth, "the scenario no longer shows the naive estimate's error")
        let eta = run.cycle.eta(at: run.now)
        #expect(try relativeError(eta.overall, truth) < 0.1)
        // The snapshot carries it rounded up to whole seconds.
        #expect(run.cycle.snapshot(at: run.now).overall.etaS == Int(try #require(eta.overall).rounded(.up)))
    }

    @Test func theEtaStaysRightThroughoutWithFourSlots() throws {
        var run = ParallelRun(sizes: [10 * MB, 20 * MB, 30 * MB, 60 * MB], rate: 8e6, concurrency: 4)
        let end = run.finishTime(step: step)
        for checkpoint in [1.0, 2.0, 3.0, 5.0, 7.0] {
            while run.now < checkpoint - 1e-9 { run.advance(by: step) }
            #expect(try relativeError(run.cycle.eta(at: run.now).overall, end - run.now) < 0.1,
                    "at \(checkpoint) s")
        }
    }

    @Test func queuedJobsArePlacedIntoSlotsAsTheyFreeUp() throws {
        var run = ParallelRun(sizes: [10 * MB, 20 * MB, 30 * MB, 60 * MB], rate: 8e6, concurrency: 2)
        let end = run.finishTime(step: step)
        #expect(abs(end - 10) < 0.2)   // 10 MB then 30 MB in one slot, 20 then 60 in the other
        while run.now < 1 - 1e-9 { run.advance(by: step) }
        let eta = run.cycle.eta(at: run.now)
        #expect(try relativeError(eta.overall, end - run.now) < 0.1)
        // The 30 MB job waits for the 10 MB job's slot (free at 1.25 s), then takes 3.75 s.
        #expect(try relativeError(eta.jobs[2], 5.0 - run.now) < 0.1)
        #expect(try relativeError(eta.jobs[3], 10.0 - run.now) < 0.1)
        #expect(run.cycle[run.ids[3]]?.state == .queued)
        for checkpoint in [2.0, 4.0, 6.0, 9.0] {
            while run.now < checkpoint - 1e-9 { run.advance(by: step) }
            #expect(try relativeError(run.cycle.eta(at: run.now).overall, end - run.now) < 0.1,
                    "at \(checkpoint) s")
        }
    }

    @Test func noRateYetMeansNoEta() {
        var run = ParallelRun(sizes: [10 * MB, 20 * MB], rate: 8e6, concurrency: 2)
        run.advance(by: 0.25)
        #expect(run.cycle.eta(at: run.now).overall == nil)
        #expect(run.cycle.snapshot(at: run.now).overall.etaS == nil)
    }

    @Test func aStalledOrUnlistedJobMakesTheEtaUnknown() {
        let stalled = EtaEstimator.estimate(jobs: [
            .init(phase: .running, remainingBytes: 10 * MB, rate: 8e6),
            .init(phase: .running, remainingBytes: 10 * MB, rate: 0),
        ], concurrency: 2)
        #expect(stalled.overall == nil)
        #expect(stalled.jobs[0] == 1.25 && stalled.jobs[1] == nil)
        let unlisted = EtaEstimator.estimate(jobs: [
            .init(phase: .running, remainingBytes: 10 * MB, rate: 8e6),
            .init(phase: .waiting, remainingBytes: nil),
        ], concurrency: 2)
        #expect(unlisted.overall == nil)
    }

    @Test func oneSlotRunsTheQueueOneAfterAnother() {
        let eta = EtaEstimator.estimate(jobs: [
            .init(phase: .finished, remainingBytes: 0),
            .init(phase: .running, remainingBytes: 4 * MB, rate: 2e6),
            .init(phase: .waiting, remainingBytes: 6 * MB),
            .init(phase: .waiting, remainingBytes: 2 * MB),
        ], concurrency: 1)
        #expect(eta.jobs == [0, 2, 5, 6])
        #expect(eta.overall == 6)
    }

    @Test func betweenJobsTheLastKnownRateCarriesTheQueue() {
        let eta = EtaEstimator.estimate(jobs: [.init(phase: .waiting, remainingBytes: 8 * MB)],
                                        concurrency: 2, fallbackRate: 4e6)
        #expect(eta.overall == 2)
    }
}
