import MediaSyncCore
import Testing

/// The purge on its own schedule in `serve`'s machine, on manual time (the bench's wall clock starts at
/// 2026-11-26T08:46:40Z, cron times in UTC here): it fires at its time, takes the one cycle slot so it never runs
/// beside a sync, waits for a running sync and goes before the next one, and answers `trigger --purge`.
@Suite("supervisor machine: the purge cycle of its own")
struct SupervisorMachinePurgeTests {
    static func bench(_ schedule: String, interval: String = "5m") throws -> SupervisorBench {
        var bench = try SupervisorBench("""
            library: /srv/media
            interval: \(interval)
            purge: {enabled: true, schedule: \(schedule)}
            sources:
              - {name: forge, transport: local, root: /srv/forge, folders: [txt2img]}
            """)
        bench.machine.purgeZone = .utc
        return bench
    }

    /// `0 9 * * *`: 09:00:00Z is 800 s after the start. The timer looks at the clock at least every minute.
    @Test("a scheduled purge fires at its time as a cycle of its own; the next sync waits for it")
    func firesAtItsTime() throws {
        var bench = try Self.bench("\"0 9 * * *\"", interval: "10m")
        bench.start()
        bench.endCycle()
        #expect(bench.purgeDue != nil && bench.purgeDue! <= 60.05, "the timer waits at most a minute")
        // The interval's sync comes at 600 and ends at 650.
        bench.advance(to: 650)
        #expect(bench.started.map(\.at) == [0, 600])
        bench.endCycle()
        bench.advance(to: 799)
        #expect(bench.startedPurges.isEmpty)
        bench.advance(to: 801)
        #expect(bench.startedPurges.count == 1)
        let at = try #require(bench.startedPurges.first?.at)
        #expect(at >= 800 && at < 800.2, "the purge started at \(at)")
        #expect(bench.startedPurges.first?.plan == PurgeScheduler.Plan(sources: nil, manual: false))
        #expect(bench.machine.scheduler.state == .purging)
        #expect(bench.machine.statusText(at: bench.time) == "purge cycle 3")
        #expect(bench.published.contains { $0.message == "purge cycle 3: scheduled (purge.schedule \"0 9 * * *\")" })
        // The interval's next sync (due at 1200) waits for the purge, and starts the moment it ends.
        bench.advance(to: 1250)
        #expect(bench.started.count == 2)
        bench.endPurge()
        #expect(bench.started.map(\.at) == [0, 600, 1250])
        #expect(bench.machine.purge.last?.totals.filesPurged == 3)
        #expect(bench.machine.purge.scheduler.nextRun == bench.machine.purge.scheduler.nextRun.map { _ in
            SupervisorBench.wallBase / 1000 + 800 + 86_400 })
    }

    @Test("a purge due during a sync starts when it ends, before the sync that came due meanwhile")
    func waitsForTheSyncThenGoesFirst() throws {
        var bench = try Self.bench("\"0 9 * * *\"", interval: "5m")
        bench.start()
        bench.endCycle()
        // The sync of 300 runs past 09:00 (800) and past the intervals due at 600 and 900.
        bench.advance(to: 920)
        #expect(bench.started.map(\.at) == [0, 300])
        #expect(bench.startedPurges.isEmpty, "a purge started beside the sync")
        bench.endCycle()
        #expect(bench.startedPurges.map(\.at) == [920], "the purge goes first")
        #expect(bench.started.count == 2, "the sync that came due waits for the purge")
        bench.advance(to: 930)
        bench.endPurge()
        #expect(bench.started.map(\.at) == [0, 300, 930])
    }

    @Test("trigger --purge: started, queued behind a sync, or already running; --wait hears the end")
    func triggerPurge() throws {
        var bench = try Self.bench("manual")
        bench.start()
        #expect(bench.purgeDue == nil, "manual arms no timer")
        let queued = bench.triggerPurge(client: 7, wait: true)
        #expect(queued == .queued(running: 1))
        bench.advance(to: 5)
        bench.endCycle()
        #expect(bench.startedPurges.map(\.at) == [5])
        let again = bench.triggerPurge(client: 8, wait: true)
        #expect(again == .alreadyRunning(2))
        let sync = bench.trigger(client: 9)
        #expect(sync == .queued(running: 2), "a sync asked for during the purge waits for it")
        bench.advance(to: 6)
        bench.endPurge(files: 4)
        #expect(bench.purgeReplies.map(\.clients) == [[7, 8]])
        #expect(bench.purgeReplies.first?.totals.filesPurged == 4)
        #expect(bench.started.map(\.at) == [0, 6])
        bench.endCycle()
        let now = bench.triggerPurge(client: 10, sources: ["forge"])
        #expect(now == .started)
        #expect(bench.startedPurges.last?.plan == PurgeScheduler.Plan(sources: ["forge"], manual: true))
        bench.endPurge()
        let unknown = bench.triggerPurge(client: 11, sources: ["nope"])
        #expect(unknown == .unknownSources(["nope"]))
        bench.pause()
        let paused = bench.triggerPurge(client: 12)
        #expect(paused == .paused)
    }

    @Test("shutdown during a purge cancels it and finishes once it has ended")
    func shutdownDuringAPurge() throws {
        var bench = try Self.bench("manual")
        bench.start()
        bench.endCycle()
        _ = bench.triggerPurge(client: 1)
        bench.shutdown()
        #expect(bench.stopSteps == ["announce SIGTERM", "stop accepting", "deadline 8000", "cancel"])
        bench.endPurge()
        #expect(bench.shutdownsFinished == 1)
        #expect(bench.purgeDue == nil)
    }

    @Test("a purge that came due while paused runs at resume, before the sync")
    func pausedThenResumed() throws {
        var bench = try Self.bench("\"47 8 * * *\"", interval: "1h")
        bench.start()
        bench.endCycle()
        bench.pause()
        bench.advance(to: 61)   // 08:47:00Z came at 20 s
        #expect(bench.startedPurges.isEmpty)
        bench.resume()
        #expect(bench.startedPurges.map(\.at) == [61])
        bench.endPurge()
        #expect(bench.machine.scheduler.state == .idle)
    }
}
