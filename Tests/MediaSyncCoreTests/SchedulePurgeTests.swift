import MediaSyncCore
import Testing

/// When `serve` starts a purge cycle of its own, on manual time: the schedule makes a purge pending, it waits for
/// a running sync, never runs twice at once, pause holds it, and triggers fold into one.
@Suite("Schedule: the purge scheduler")
struct SchedulePurgeTests {
    /// 2026-01-01 00:00 UTC.
    static let t0: Int64 = 1_767_225_600

    func sixHourly() throws -> PurgeScheduler {
        PurgeScheduler(schedule: .cron(try CronExpression(parsing: "0 */6 * * *")), now: Self.t0 + 60, zone: .utc)
    }

    @Test func aScheduledTimeMakesOnePurgeThatWaitsForTheSync() throws {
        var s = try sixHourly()
        #expect(s.nextRun == Self.t0 + 6 * 3600)
        #expect(s.timerWait(now: Self.t0 + 60) == PurgeScheduler.maxTimerWait, "the timer looks again within a minute")
        #expect(s.timerWait(now: Self.t0 + 6 * 3600 - 10) == 10)
        let r1 = s.tick(now: Self.t0 + 6 * 3600 - 1)
        #expect(!r1)
        #expect(s.pending == nil)
        let r2 = s.tick(now: Self.t0 + 6 * 3600)
        #expect(r2)
        #expect(s.nextRun == Self.t0 + 12 * 3600)
        // A sync runs: the purge waits; pause holds it too.
        let r3 = s.start(cycleRunning: true, paused: false)
        #expect(r3 == nil)
        let r4 = s.start(cycleRunning: false, paused: true)
        #expect(r4 == nil)
        let started5 = s.start(cycleRunning: false, paused: false)
        let plan = try #require(started5)
        #expect(plan == PurgeScheduler.Plan(sources: nil, manual: false))
        #expect(s.running)
        // Never two at once: a trigger and a scheduled time during the purge ask for nothing more.
        let r6 = s.trigger(sources: nil)
        #expect(r6 == .alreadyRunning)
        let r7 = s.tick(now: Self.t0 + 12 * 3600)
        #expect(!r7)
        #expect(s.nextRun == Self.t0 + 18 * 3600, "the passed-over time is not made up later")
        let r8 = s.start(cycleRunning: false, paused: false)
        #expect(r8 == nil)
        s.finished(now: Self.t0 + 12 * 3600 + 5)
        #expect(!s.running && s.pending == nil)
    }

    /// A machine asleep over several scheduled times makes up one run when it wakes, not one per missed time.
    @Test func aLongSleepMakesUpOneRun() throws {
        var s = try sixHourly()
        let r9 = s.tick(now: Self.t0 + 30 * 3600)
        #expect(r9)
        #expect(s.nextRun == Self.t0 + 36 * 3600)
        let r10 = s.start(cycleRunning: false, paused: false)
        #expect(r10 != nil)
        s.finished(now: Self.t0 + 30 * 3600 + 10)
        #expect(s.pending == nil)
    }

    @Test func triggersFoldIntoOne() throws {
        var s = PurgeScheduler(schedule: .manual, now: Self.t0, zone: .utc)
        #expect(s.nextRun == nil && s.timerWait(now: Self.t0) == nil)
        let r11 = s.trigger(sources: ["b"])
        #expect(r11 == .pending)
        let r12 = s.trigger(sources: ["a"])
        #expect(r12 == .pending)
        #expect(s.pending == PurgeScheduler.Plan(sources: ["a", "b"], manual: true))
        let r13 = s.trigger(sources: nil)
        #expect(r13 == .pending)
        #expect(s.pending == PurgeScheduler.Plan(sources: nil, manual: true))
        let r14 = s.tick(now: Self.t0 + 86_400 * 365)
        #expect(!r14, "manual never fires by itself")
        let r15 = s.start(cycleRunning: false, paused: false)
        #expect(r15 == PurgeScheduler.Plan(sources: nil, manual: true))
    }

    @Test func reconfigureMovesTheNextRun() throws {
        var s = try sixHourly()
        s.reconfigure(schedule: .cron(try CronExpression(parsing: "30 1 * * *")), now: Self.t0 + 60)
        #expect(s.nextRun == Self.t0 + 5400)
        s.reconfigure(schedule: .afterSync, now: Self.t0 + 60)
        #expect(s.nextRun == nil)
        let r16 = s.tick(now: Self.t0 + 86_400)
        #expect(!r16)
    }
}
