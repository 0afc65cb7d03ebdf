import MediaSyncCore
import MediaSyncEngine
import Testing

@Suite("CycleScheduler: when cycles run")
struct SupervisorSchedulerTests {
    func make() -> CycleScheduler {
        CycleScheduler(sources: ["forge", "box"], interval: 300, backoff: 10, maxBackoff: 600, now: 0)
    }

    @Test func aCycleAtStartThenEveryInterval() {
        var s = make()
        #expect(s.due(at: 0) == .init(sources: nil, skipped: [], manual: false))
        #expect(s.state == .syncing)
        #expect(s.due(at: 100) == nil)
        #expect(s.cycleFinished(failedSources: [], ranSources: ["forge", "box"], at: 40) == nil)
        #expect(s.state == .idle)
        #expect(s.due(at: 299) == nil)
        #expect(s.due(at: 300)?.manual == false)
    }

    @Test func triggersDuringACycleQueueExactlyOneMore() {
        var s = make()
        _ = s.due(at: 0)
        #expect(s.trigger(sources: ["box"], at: 1) == .queued)
        #expect(s.trigger(sources: ["forge"], at: 2) == .queued)
        #expect(s.trigger(sources: ["box"], at: 3) == .queued)
        let next = s.cycleFinished(failedSources: [], ranSources: ["forge", "box"], at: 10)
        #expect(next == .init(sources: ["box", "forge"], skipped: [], manual: true))
        // The queued one ran: nothing more follows it.
        #expect(s.cycleFinished(failedSources: [], ranSources: ["forge", "box"], at: 20) == nil)
        #expect(s.state == .idle)
    }

    @Test func theIntervalComingDueDuringALongCycleRunsRightAfterIt() {
        var s = make()
        _ = s.due(at: 0)
        #expect(s.due(at: 300) == nil)
        #expect(s.due(at: 301) == nil)
        #expect(s.cycleFinished(failedSources: [], ranSources: [], at: 400)?.manual == false)
        #expect(s.cycleFinished(failedSources: [], ranSources: [], at: 401) == nil)
    }

    @Test func aFailingSourceBacksOffDoublingAndTheOthersRunOnTime() {
        var s = CycleScheduler(sources: ["forge", "box"], interval: 10, backoff: 15, maxBackoff: 50, now: 0)
        _ = s.due(at: 0)
        #expect(s.cycleFinished(failedSources: ["box"], ranSources: ["forge", "box"], at: 1) == nil)
        // box waits 15 s from its failure: the cycle at 10 runs forge alone and says why box sits out.
        let plan = s.due(at: 10)
        #expect(plan?.sources == ["forge"])
        #expect(plan?.skipped == [.init(source: "box", failedCycles: 1, until: 16)])
        _ = s.cycleFinished(failedSources: [], ranSources: ["forge"], at: 11)
        #expect(s.due(at: 20)?.sources == nil)
        _ = s.cycleFinished(failedSources: ["box"], ranSources: ["forge", "box"], at: 21)
        #expect(s.backoffUntil["box"] == 51) // doubled
        #expect(s.delay(afterFailedCycles: 3) == 50) // capped at max_backoff
        #expect(CycleScheduler(sources: [], interval: 1, backoff: 600, maxBackoff: 86_400).delay(afterFailedCycles: 9) == 3600)
        // A success resets it.
        _ = s.due(at: 60)
        _ = s.cycleFinished(failedSources: [], ranSources: ["forge", "box"], at: 61)
        #expect(s.failures["box"] == nil)
        #expect(s.due(at: 70)?.skipped == [])
    }

    @Test func pauseHoldsCyclesBackAndResumeStartsTheDueOne() {
        var s = make()
        _ = s.due(at: 0)
        s.pause()
        #expect(s.trigger(sources: nil, at: 5) == .refusedPaused)
        #expect(s.cycleFinished(failedSources: [], ranSources: [], at: 10) == nil)
        #expect(s.state == .paused)
        #expect(s.due(at: 400) == nil)
        #expect(s.resume(at: 401)?.manual == false)
        #expect(s.state == .syncing)
    }
}
