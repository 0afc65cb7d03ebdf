import Testing
@testable import MediaSyncCore

@Suite struct ProgressRateTests {
    /// 8 MB/s for 10 s, one record a second like rsync prints them.
    func steady() -> RateEstimator {
        var rate = RateEstimator()
        for t in 0...10 { rate.add(bytes: Int64(t) * 8 * MB, at: Double(t)) }
        return rate
    }

    @Test func aSteadyTransferReadsItsRate() throws {
        let rate = try #require(steady().rate(at: 10))
        #expect(abs(rate - 8e6) < 1)
    }

    @Test func aOneSecondStallDoesNotZeroTheRateButASustainedStopDecaysToZero() throws {
        let rate = steady()
        let afterOne = try #require(rate.rate(at: 11))
        let afterThree = try #require(rate.rate(at: 13))
        let afterSix = try #require(rate.rate(at: 16))
        #expect(afterOne > 0.75 * 8e6)   // a 5 s window loses a fifth
        #expect(afterThree < afterOne && afterThree > 0)
        #expect(afterSix == 0)
    }

    @Test func theRateIsNotJustTheLastSample() throws {
        var rate = RateEstimator()
        for t in 0...5 { rate.add(bytes: Int64(t) * 10 * MB, at: Double(t)) }
        rate.add(bytes: 50 * MB + 100 * MB / 10, at: 5.1)   // one burst record: 100 MB/s for 0.1 s
        let smoothed = try #require(rate.rate(at: 5.1))
        #expect(smoothed < 15e6)
    }

    @Test func aBurstOfRecordsKeepsTheHistorySmallAndTheRateRight() throws {
        var rate = RateEstimator()
        // 20,000 small files in 10 s: one record every half millisecond, 1 KB each.
        for i in 0...20_000 { rate.add(bytes: Int64(i) * 1000, at: Double(i) / 2000) }
        #expect(rate.sampleCount <= 53)
        #expect(abs(try #require(rate.rate(at: 10)) - 2e6) / 2e6 < 0.01)
        #expect(abs(try #require(rate.rate(at: 11)) - 1.6e6) / 1.6e6 < 0.01)
    }

    @Test func tooLittleHistoryIsUnknownNotZero() {
        var rate = RateEstimator()
        rate.add(bytes: 0, at: 0)
        rate.add(bytes: MB, at: 0.2)
        #expect(rate.rate(at: 0.2) == nil)
        #expect(RateEstimator().rate(at: 3) == nil)
    }

    @Test func aCounterThatGoesBackIsHeldNotNegative() throws {
        var rate = RateEstimator()
        rate.add(bytes: 10 * MB, at: 0)
        rate.add(bytes: 2 * MB, at: 1)
        rate.add(bytes: 12 * MB, at: 2)
        #expect(try #require(rate.rate(at: 2)) == 1e6)
    }

    @Test func theCycleRateIsTheSumOfItsJobs() throws {
        var run = ParallelRun(sizes: [100 * MB, 100 * MB], rate: 4e6, concurrency: 2)
        for _ in 0..<24 { run.advance(by: 0.25) }
        let rate = try #require(run.cycle.rate(at: run.now))
        #expect(abs(rate - 8e6) / 8e6 < 0.02)
        let jobRate = try #require(run.cycle[run.ids[0]]?.rate(at: run.now))
        #expect(abs(jobRate - 4e6) / 4e6 < 0.02)
    }

    @Test func aRetryDoesNotCountResentBytesAsSpeed() throws {
        let id = JobID(source: "s", folder: "f")
        var cycle = CycleProgress(jobs: [id], concurrency: 1)
        cycle.plan(id, files: 1, bytes: 100 * MB, at: 0)
        cycle.transition(id, to: .transferring, at: 0)
        cycle.record(fileLine("v.mp4", 100 * MB), for: id, at: 0)
        for t in 1...5 { cycle.record(progressLine(Int64(t) * 10 * MB, t * 10), for: id, at: Double(t)) }
        cycle.transition(id, to: .waitingToRetry, at: 5)
        cycle.transition(id, to: .transferring, at: 6)
        cycle.record(fileLine("v.mp4", 100 * MB), for: id, at: 6)
        // The new run counts the same file from 0 again: 40 MB in 4 s, all of it already counted.
        for t in 7...10 { cycle.record(progressLine(Int64(t - 6) * 10 * MB, (t - 6) * 10), for: id, at: Double(t)) }
        #expect(cycle.bytesDone == 50 * MB)
        #expect(try #require(cycle.rate(at: 10)) == 0)
    }
}
