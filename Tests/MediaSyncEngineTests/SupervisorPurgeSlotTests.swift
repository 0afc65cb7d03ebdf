import MediaSyncCore
import MediaSyncEngine
import Testing

/// A purge cycle of its own holds the one cycle slot (`hold`): syncs that come due or are asked for meanwhile wait
/// for it exactly as they wait for a sync, and start when it is released.
@Suite("CycleScheduler: a purge cycle holds the slot")
struct SupervisorPurgeSlotTests {
    @Test func syncsWaitForThePurgeAndFollowIt() {
        var s = CycleScheduler(sources: ["forge", "box"], interval: 300, backoff: 10, maxBackoff: 600, now: 0)
        let first = s.due(at: 0)
        #expect(first != nil)
        // The sync ends while a purge waits: the supervisor holds the slot first, so no sync follows yet.
        s.hold()
        let afterSync = s.cycleFinished(failedSources: ["box"], ranSources: ["forge", "box"], at: 40)
        #expect(afterSync == nil)
        #expect(s.state == .purging)
        #expect(s.failures["box"] == 1, "the sync's failures are still recorded")
        // The interval comes and a person asks for a sync during the purge: both wait, as one cycle.
        let due = s.due(at: 300)
        #expect(due == nil && s.pending != nil)
        let asked = s.trigger(sources: nil, at: 301)
        #expect(asked == .queued)
        let resumed = s.resume(at: 302)
        #expect(resumed == nil)
        // The purge ends: the waiting sync starts now.
        let next = s.release(at: 310)
        #expect(next == .init(sources: nil, skipped: [], manual: true))
        #expect(s.state == .syncing)
        let none = s.cycleFinished(failedSources: [], ranSources: ["forge", "box"], at: 320)
        #expect(none == nil && s.state == .idle)
    }

    @Test func aReleaseWithNothingWaitingStartsOnlyADueCycle() {
        var s = CycleScheduler(sources: ["forge"], interval: 300, backoff: 10, maxBackoff: 600, now: 0)
        _ = s.due(at: 0)
        _ = s.cycleFinished(failedSources: [], ranSources: ["forge"], at: 10)
        s.hold()
        let early = s.release(at: 100)
        #expect(early == nil && s.state == .idle)
        s.hold()
        s.pause()
        let paused = s.release(at: 400)
        #expect(paused == nil && s.state == .paused)
    }
}
