import MediaSyncCore
import Testing

/// `mediasync serve`'s decisions on manual time: when cycles run, who hears when they end, what a reload
/// changes, how shutdown goes, and what systemd's STATUS line says. (Tests/CLITests/Supervisor*.swift run the
/// real supervisor; the scheduler alone is Tests/MediaSyncEngineTests/SupervisorSchedulerTests.swift.)
@Suite("supervisor machine: cycles, triggers, reload and shutdown")
struct SupervisorMachineTests {
    static let config = """
        library: /srv/media
        interval: 5m
        retry: {attempts: 3, backoff: 15s, max_backoff: 50s}
        sources:
          - {name: forge, transport: local, root: /srv/forge, folders: [txt2img, img2img]}
          - {name: box, transport: ssh, host: gpu.example, root: /root/out, folders: [output]}
        """

    static func config(interval: String = "5m", sources: String? = nil, extra: String = "") -> String {
        var yaml = config.replacingOccurrences(of: "interval: 5m", with: "interval: \(interval)")
        if let sources {
            yaml = yaml.components(separatedBy: "sources:")[0] + "sources:\n" + sources
        }
        return yaml + extra
    }

    @Test("the first cycle at start, then one an interval after each start; no timer runs while a cycle does")
    func intervalTicks() throws {
        var bench = try SupervisorBench(Self.config)
        bench.start()
        #expect(bench.started.map(\.at) == [0])
        #expect(bench.started.first?.plan == .init(sources: nil, skipped: [], manual: false))
        #expect(bench.intervalDue == nil)
        bench.advance(to: 40)
        bench.endCycle()
        #expect(bench.intervalDue == 300)
        bench.advance(to: 299.999)
        #expect(bench.started.count == 1)
        bench.advance(to: 300)
        #expect(bench.started.map(\.at) == [0, 300])
        // A cycle longer than the interval: the one that came due meanwhile starts the moment it ends.
        bench.advance(to: 700)
        bench.endCycle()
        #expect(bench.started.map(\.at) == [0, 300, 700])
        bench.endCycle()
        #expect(bench.intervalDue == 1_000)
    }

    @Test("triggers during a cycle queue exactly one more, of the union of their sources; waiters hear the cycle they caused")
    func triggerDuringACycle() throws {
        var bench = try SupervisorBench(Self.config)
        bench.start()
        #expect(bench.trigger(client: 7, sources: ["box"], wait: true) == .queued(running: 1))
        #expect(bench.trigger(client: 8, sources: ["forge"]) == .queued(running: 1))
        #expect(bench.trigger(client: 9, sources: ["box"], wait: true) == .queued(running: 1))
        #expect(bench.started.count == 1)
        bench.advance(to: 30)
        bench.endCycle()
        // Nobody waited for cycle 1; the queued cycle starts at once with the asked sources.
        #expect(bench.replies.map(\.clients) == [[]])
        #expect(bench.started.map(\.at) == [0, 30])
        #expect(bench.started.last?.plan == .init(sources: ["box", "forge"], skipped: [], manual: true))
        bench.advance(to: 35)
        bench.endCycle()
        #expect(bench.replies.last?.clients == [7, 9] && bench.replies.last?.cycle == 2)
        // The queued one ran: nothing more follows it, and the interval counts from cycle 1's start.
        #expect(bench.started.count == 2)
        #expect(bench.intervalDue == 300)
    }

    @Test("a trigger while idle starts at once and moves the next interval; unknown sources and a pause refuse it")
    func triggerWhileIdle() throws {
        var bench = try SupervisorBench(Self.config)
        bench.start()
        bench.advance(to: 10)
        bench.endCycle()
        bench.advance(to: 100)
        #expect(bench.trigger(client: 3, wait: true) == .started)
        #expect(bench.machine.cycleID == 2)
        bench.advance(to: 110)
        bench.endCycle()
        #expect(bench.replies.last?.clients == [3] && bench.replies.last?.cycle == 2)
        #expect(bench.intervalDue == 400)
        #expect(bench.trigger(client: 4, sources: ["forge", "nope"]) == .unknownSources(["nope"]))
        bench.pause()
        #expect(bench.trigger(client: 4) == .paused)
        bench.advance(to: 1_000)
        #expect(bench.started.count == 2)
        // Resuming starts the cycle that came due while paused.
        bench.resume()
        #expect(bench.started.map(\.at) == [0, 100, 1_000])
        #expect(bench.published.map(\.message).suffix(2) == ["paused: no new cycle starts until `mediasync resume`", "resumed"])
    }

    @Test("a failing source backs off (15 s, then 30 s) while the others run on time; its skipped jobs say until when")
    func failingSourceBacksOff() throws {
        var bench = try SupervisorBench(Self.config(interval: "10s"))
        bench.start()
        bench.advance(to: 1)
        bench.endCycle(failing: ["box"])
        bench.advance(to: 10)
        #expect(bench.started.last?.plan.sources == ["forge"])
        #expect(bench.started.last?.plan.skipped == [.init(source: "box", failedCycles: 1, until: 16)])
        let skipped = "skipped: backing off after 1 failed cycle; next try at \(SupervisorBench.stamp(16))"
        #expect(bench.published.last.map { [$0.level, $0.message, $0.job ?? ""] } == ["warning", "box/output: \(skipped)", "box/output"])
        #expect(bench.published.last?.cycle == 2)
        #expect(bench.machine.jobRecords["box/output"]?.skipped == skipped)
        bench.advance(to: 11)
        bench.endCycle()
        // Past its backoff, box runs with the others; it fails again and waits twice as long.
        bench.advance(to: 20)
        #expect(bench.started.last?.plan.sources == nil)
        bench.advance(to: 21)
        bench.endCycle(failing: ["box"])
        #expect(bench.machine.jobRecords["box/output"]?.skipped == nil, "it ran this time")
        #expect(bench.machine.scheduler.backoffUntil["box"] == 51)
        bench.advance(to: 30)
        #expect(bench.started.last?.plan.skipped == [.init(source: "box", failedCycles: 2, until: 51)])
        #expect(bench.started.last?.plan.sources == ["forge"])
        // A trigger naming it runs it anyway: it was asked for.
        bench.endCycle()
        #expect(bench.trigger(client: 1, sources: ["box"]) == .started)
        #expect(bench.started.last?.plan.sources == ["box"])
        bench.endCycle()
        #expect(bench.machine.scheduler.failures["box"] == nil)
    }

    @Test("reload while a cycle runs: the cycle keeps its sources; the new interval and sources apply from its end")
    func reloadWhileACycleRuns() throws {
        var bench = try SupervisorBench(Self.config)
        bench.start()
        bench.advance(to: 5)
        bench.observe(.jobFinished(cycle: 1, JobFinished(job: EventJob(source: "box", folder: "output"), state: .done, files: 1,
                                                         bytes: 1, seconds: 1, exitCode: 0, attempts: 1)))
        #expect(bench.machine.jobRecords["box/output"] != nil)
        bench.advance(to: 30)
        try bench.reload(Self.config(interval: "1m", sources: "  - {name: forge, transport: local, root: /srv/forge, folders: [txt2img, img2img]}\n"))
        #expect(bench.published.last?.message == "config reloaded: 1 sources, 2 jobs, a cycle every 1m")
        #expect(bench.published.last?.level == "info")
        #expect(bench.machine.cycle?.sources == ["forge", "box"])
        #expect(bench.machine.jobRecords["box/output"] == nil, "a job no longer configured is forgotten")
        #expect(bench.intervalDue == nil)
        #expect(bench.started.count == 1)
        bench.advance(to: 40)
        bench.endCycle()
        // The new interval counts from the running cycle's start.
        #expect(bench.intervalDue == 60)
        bench.advance(to: 60)
        #expect(bench.started.map(\.at) == [0, 60])
        #expect(bench.machine.config.jobs.map(\.id) == ["forge/txt2img", "forge/img2img"])
    }

    @Test("reload: the socket and state dir wait for a restart; the ingest is replaced when it changed or halted")
    func reloadKeepsTheSocketAndReplacesTheIngest() throws {
        var bench = try SupervisorBench(Self.config)
        let before = bench.machine.config
        try bench.reload(Self.config(extra: "\nsocket: /tmp/other.sock\nstate_dir: /tmp/state\n"))
        #expect(bench.published.last?.level == "warning")
        #expect(bench.published.last?.message.hasSuffix("; changes to socket and state_dir take effect at restart") == true)
        #expect(bench.machine.config.socket == before.socket && bench.machine.config.stateDirectory == before.stateDirectory)
        #expect(bench.ingestReplaced == 0)

        let ingest = "\ningest: {command: [/usr/local/bin/ingest]}\n"
        try bench.reload(Self.config(extra: ingest))
        #expect(bench.ingestReplaced == 1, "an ingest was added")
        let settings = try #require(bench.machine.config.ingest)
        try bench.reload(Self.config(extra: ingest), ingest: (settings, false))
        #expect(bench.ingestReplaced == 1, "the same ingest, running: left alone")
        try bench.reload(Self.config(extra: ingest), ingest: (settings, true))
        #expect(bench.ingestReplaced == 2, "the same ingest after it refused the protocol: started again")
        try bench.reload(Self.config(), ingest: (settings, false))
        #expect(bench.ingestReplaced == 3, "the ingest was removed: the old one stops")
    }

    @Test("shutdown while a cycle runs: announce, stop accepting, cancel, and finish exactly once when the cycle ends")
    func shutdownWhileACycleRuns() throws {
        var bench = try SupervisorBench(Self.config)
        bench.start()
        _ = bench.trigger(client: 5, wait: true)
        bench.advance(to: 5)
        bench.shutdown()
        bench.shutdown("SIGINT")
        #expect(bench.stopSteps == ["announce SIGTERM", "stop accepting", "deadline 8000", "cancel"])
        #expect(bench.published.last?.message == "supervisor stopping (SIGTERM)")
        #expect(bench.trigger(client: 6) == .queued(running: 1))
        bench.advance(to: 6)
        bench.endCycle(failing: ["box", "forge"])
        #expect(bench.stopSteps.last == "finish" && bench.shutdownsFinished == 1)
        // No queued cycle starts while stopping; the waiter of the queued one never gets a cycle.
        #expect(bench.started.count == 1)
        #expect(bench.replies.map(\.clients) == [[]])
        bench.advance(to: 60)
        #expect(bench.shutdownsFinished == 1)
    }

    @Test("a cycle that does not stop within 8 s: shutdown finishes without it, once")
    func shutdownDeadline() throws {
        var bench = try SupervisorBench(Self.config)
        bench.start()
        bench.advance(to: 2)
        bench.shutdown()
        bench.advance(to: 9.999)
        #expect(bench.shutdownsFinished == 0)
        bench.advance(to: 10)
        #expect(bench.shutdownsFinished == 1)
        #expect(bench.logs.map(\.message) == ["the cycle did not stop in time; killing its children"])
        bench.endCycle()
        #expect(bench.shutdownsFinished == 1)

        var idle = try SupervisorBench(Self.config)
        idle.start()
        idle.endCycle()
        idle.shutdown()
        #expect(idle.stopSteps == ["announce SIGTERM", "stop accepting", "finish"])
        #expect(idle.cancelled == 0)
    }

    @Test("systemd's STATUS follows the cycle's jobs, then says when the next one runs and how the last one went")
    func statusLine() throws {
        var bench = try SupervisorBench(Self.config, sendsStatus: true)
        bench.start()
        #expect(bench.statuses.isEmpty, "nothing before READY")
        #expect(bench.ready() == "cycle 1: 0 of 3 jobs")
        bench.advance(to: 40)
        bench.endCycle(failing: ["box"])
        #expect(bench.statuses == [
            "cycle 1: 1 of 3 jobs", "cycle 1: 2 of 3 jobs", "cycle 1: 3 of 3 jobs",
            "idle; next cycle at \(SupervisorBench.stamp(300)); last cycle 1: 2 done, 1 failed",
        ])
        bench.pause()
        #expect(bench.statuses.last == "paused: no cycle starts until `mediasync resume`; last cycle 1: 2 done, 1 failed")
        bench.resume()
        bench.shutdown()
        let count = bench.statuses.count
        bench.advance(to: 400)
        #expect(bench.statuses.count == count, "no STATUS after STOPPING")
    }

    @Test("never two cycles at once, and never stuck: 2,000 random steps of timers, triggers, pauses, reloads and cycle ends")
    func neverTwoCyclesAtOnce() throws {
        let seed = UInt64(20_261_201)
        var random = SeededRandom(seed: seed)
        var bench = try SupervisorBench(Self.config(interval: "30s"))
        bench.start()
        var waiting: [Int: Int64] = [:]
        for step in 0..<2_000 {
            bench.advance(to: bench.now + Double(random.next() % 20_000) / 1000)
            switch random.next() % 10 {
            case 0, 1, 2:
                if bench.running != nil {
                    bench.endCycle(failing: random.next() % 3 == 0 ? ["box"] : [])
                }
            case 3, 4:
                let sources: [String]? = [nil, ["box"], ["forge"], ["forge", "box"]][Int(random.next() % 4)]
                let client = step
                if case .started = bench.trigger(client: client, sources: sources, wait: true) { waiting[client] = bench.machine.cycleID }
            case 5:
                bench.pause()
            case 6, 7:
                bench.resume()
            case 8:
                try bench.reload(Self.config(interval: ["10s", "30s", "1m"][Int(random.next() % 3)]))
            default:
                break
            }
            // Idle and not paused means the next cycle is scheduled: the supervisor never just stops.
            if bench.running == nil && !bench.machine.scheduler.paused {
                #expect(bench.intervalDue.map { $0 > bench.now - 0.001 } == true, "seed \(seed), step \(step): idle with no cycle scheduled")
            }
            #expect((bench.running != nil) == (bench.machine.cycle != nil), "seed \(seed), step \(step)")
        }
        // Every client whose trigger started a cycle heard that very cycle end.
        for (client, cycle) in waiting where cycle != bench.running?.id {
            #expect(bench.replies.contains { $0.cycle == cycle && $0.clients.contains(client) }, "seed \(seed): client \(client), cycle \(cycle)")
        }
        #expect(bench.started.count > 100, "seed \(seed): the walk ran few cycles")
    }
}
