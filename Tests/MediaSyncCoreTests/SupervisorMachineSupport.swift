import MediaSyncCore
import Testing

/// A `SupervisorMachine` on manual time, with the executor's parts played by plain values: cycles are
/// numbered and "run" until the test ends them, timers are due times, replies and published lines are
/// kept for the test to read. Starting a cycle while one runs is recorded as a failure wherever it happens.
struct SupervisorBench {
    var machine: SupervisorMachine
    /// Monotonic seconds.
    private(set) var now: Double = 0
    /// The wall clock at monotonic 0: 2026-11-26T08:46:40Z.
    static let wallBase: Int64 = 1_795_682_800_000
    private(set) var intervalDue: Double?
    private(set) var deadlineDue: Double?
    /// The running cycle's id and plan.
    private(set) var running: (id: Int64, plan: CycleScheduler.Plan)?
    /// Every cycle started: when, its id, its plan.
    private(set) var started: [(at: Double, id: Int64, plan: CycleScheduler.Plan)] = []
    private var lastID: Int64 = 0
    private(set) var published: [(level: String, message: String, cycle: Int64?, job: String?)] = []
    private(set) var logs: [(level: String, message: String)] = []
    private(set) var replies: [(clients: [Int], cycle: Int64)] = []
    private(set) var statuses: [String] = []
    private(set) var stopSteps: [String] = []
    private(set) var cancelled = 0
    private(set) var shutdownsFinished = 0
    private(set) var ingestReplaced = 0
    private var seq: Int64 = 0
    /// The purge timer's due time, the running purge cycle of its own, those started, and their replies
    /// (SupervisorMachinePurgeTests).
    private(set) var purgeDue: Double?
    private(set) var runningPurge: (id: Int64, plan: PurgeScheduler.Plan)?
    private(set) var startedPurges: [(at: Double, id: Int64, plan: PurgeScheduler.Plan)] = []
    private(set) var purgeReplies: [(clients: [Int], cycle: Int64, totals: PurgeTotals)] = []

    init(_ yaml: String, sendsStatus: Bool = false) throws {
        machine = SupervisorMachine(config: try parseConfig(yaml), shutdownDeadlineMs: 8_000)
        machine.sendsStatus = sendsStatus
    }

    var time: SupervisorTime { SupervisorTime(monotonic: now, wallMs: Self.wallBase + Int64((now * 1000).rounded())) }

    /// The wall time people read for monotonic `seconds`.
    static func stamp(_ seconds: Double) -> String { Timestamp.rfc3339(milliseconds: wallBase + Int64(seconds * 1000)) }

    // MARK: - Events

    mutating func start() {
        let time = self.time
        perform(machine.start(at: time))
    }

    /// Ends the running cycle; the jobs of `failing` sources failed, the others were done.
    mutating func endCycle(failing: Set<String> = []) {
        guard let cycle = running else {
            Issue.record("no cycle runs")
            return
        }
        let jobs = machine.config.jobs.filter { job in cycle.plan.sources.map { $0.contains(job.source.name) } ?? true }
        for job in jobs {
            let failed = failing.contains(job.source.name)
            observe(.jobFinished(cycle: cycle.id, JobFinished(job: EventJob(source: job.source.name, folder: job.folder),
                                                              state: failed ? .failed : .done, files: failed ? 0 : 2,
                                                              bytes: failed ? 0 : 2_000, seconds: 1, exitCode: failed ? 255 : 0,
                                                              attempts: failed ? 3 : 1)))
        }
        running = nil
        let failed = jobs.filter { failing.contains($0.source.name) }.count
        let totals = CycleTotals(jobsDone: jobs.count - failed, jobsFailed: failed, files: 2 * (jobs.count - failed),
                                 bytes: Int64(2_000 * (jobs.count - failed)), seconds: 1)
        let time = self.time
        perform(machine.cycleEnded(totals, at: time))
    }

    /// An event on the bus.
    mutating func observe(_ body: EventBody) {
        seq += 1
        let time = self.time
        perform(machine.observed(Event(seq: seq, timeMs: time.wallMs, body: body), at: time))
    }

    mutating func trigger(client: Int, sources: [String]? = nil, wait: Bool = false) -> SupervisorMachine.TriggerAnswer {
        let time = self.time
        let (answer, actions) = machine.trigger(client: client, sources: sources, wait: wait, at: time)
        perform(actions)
        return answer
    }

    mutating func pause() {
        let time = self.time
        perform(machine.pause(at: time))
    }

    mutating func resume() {
        let time = self.time
        perform(machine.resume(at: time))
    }

    mutating func reload(_ yaml: String, ingest: (settings: IngestSettings, halted: Bool)? = nil) throws {
        let config = try parseConfig(yaml)
        let time = self.time
        perform(machine.reloaded(config, ingest: ingest, at: time))
    }

    /// Ends the running purge cycle, having deleted `files`.
    mutating func endPurge(files: Int = 3, failedFolders: Int = 0) {
        guard runningPurge != nil else {
            Issue.record("no purge cycle runs")
            return
        }
        runningPurge = nil
        let time = self.time
        perform(machine.purgeCycleEnded(PurgeTotals(foldersDone: 1 - failedFolders, foldersFailed: failedFolders,
                                                    filesPurged: files, seconds: 1), at: time))
    }

    mutating func triggerPurge(client: Int, sources: [String]? = nil, wait: Bool = false) -> SupervisorMachine.PurgeTriggerAnswer {
        let time = self.time
        let (answer, actions) = machine.triggerPurge(client: client, sources: sources, wait: wait, at: time)
        perform(actions)
        return answer
    }

    mutating func shutdown(_ reason: String = "SIGTERM") {
        perform(machine.shutdown(reason: reason))
    }

    /// READY=1's status line.
    mutating func ready() -> String {
        let time = self.time
        return machine.readyStatus(at: time)
    }

    /// Moves the clock to `target` seconds, firing the interval and deadline timers due on the way.
    mutating func advance(to target: Double) {
        precondition(target >= now, "time runs forward")
        while true {
            let due = [intervalDue, deadlineDue, purgeDue].compactMap { $0 }.filter { $0 <= target }.min()
            guard let due else { break }
            now = due
            if purgeDue == due {
                purgeDue = nil
                let time = self.time
                perform(machine.purgeTimerFired(at: time))
            } else if intervalDue == due {
                intervalDue = nil
                let time = self.time
                perform(machine.intervalFired(at: time))
            } else {
                deadlineDue = nil
                perform(machine.shutdownDeadlinePassed())
            }
        }
        now = target
    }

    // MARK: - The executor's side

    private mutating func perform(_ actions: [SupervisorAction]) {
        for action in actions {
            switch action {
            case let .startCycle(plan):
                #expect(running == nil, "a cycle started at \(now) while cycle \(running?.id ?? 0) runs")
                #expect(runningPurge == nil, "a cycle started at \(now) while purge cycle \(runningPurge?.id ?? 0) runs")
                lastID += 1
                let time = self.time
                perform(machine.cycleStarted(id: lastID, plan: plan, at: time))
                running = (lastID, plan)
                started.append((now, lastID, plan))
                observe(.cycleStarted(cycle: lastID, jobs: machine.config.jobs
                                        .filter { job in plan.sources.map { $0.contains(job.source.name) } ?? true }
                                        .map { EventJob(source: $0.source.name, folder: $0.folder) }))
                perform(machine.refreshStatus(at: time))
            case let .armInterval(after):
                intervalDue = now + Double(after) / 1000
            case .stopInterval:
                intervalDue = nil
            case let .publish(level, message, cycle, job):
                published.append((level, message, cycle, job))
            case let .log(level, message):
                logs.append((level, message))
            case let .replyCycleFinished(clients, cycle, _):
                replies.append((clients, cycle))
            case let .systemdStatus(text):
                statuses.append(text)
            case let .announceStopping(reason):
                stopSteps.append("announce \(reason)")
            case .stopAccepting:
                stopSteps.append("stop accepting")
                intervalDue = nil
                purgeDue = nil
            case .cancelCycle:
                stopSteps.append("cancel")
                cancelled += 1
            case let .armShutdownDeadline(after):
                stopSteps.append("deadline \(after)")
                deadlineDue = now + Double(after) / 1000
            case .finishShutdown:
                stopSteps.append("finish")
                shutdownsFinished += 1
                intervalDue = nil
                deadlineDue = nil
                purgeDue = nil
            case .replaceIngest:
                ingestReplaced += 1
            case let .startPurgeCycle(plan):
                #expect(running == nil && runningPurge == nil,
                        "a purge cycle started at \(now) beside cycle \(running?.id ?? runningPurge?.id ?? 0)")
                lastID += 1
                let time = self.time
                perform(machine.purgeCycleStarted(id: lastID, plan: plan, at: time))
                runningPurge = (lastID, plan)
                startedPurges.append((now, lastID, plan))
            case let .armPurgeTimer(after):
                purgeDue = now + Double(after) / 1000
            case let .replyPurgeFinished(clients, cycle, totals):
                purgeReplies.append((clients, cycle, totals))
            }
        }
    }
}
