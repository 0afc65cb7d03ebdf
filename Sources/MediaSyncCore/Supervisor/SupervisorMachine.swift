/// Every decision of `mediasync serve`, without I/O: when a cycle starts (the `CycleScheduler`: at start,
/// every interval, on trigger, one at a time, failing sources backing off), who waits for which cycle, the
/// steps of a shutdown, what a reload changes, and what status and systemd's STATUS line say. Each event
/// method takes what happened and the time and returns what to do; `Supervisor` does it.
///
/// ```swift
/// var machine = SupervisorMachine(config: config, shutdownDeadlineMs: 8_000)
/// perform(machine.start(at: time))                        // [.startCycle(plan), .stopInterval]
/// perform(machine.cycleStarted(id: 1, plan: plan, at: time))
/// perform(machine.cycleEnded(totals, at: later))          // [.replyCycleFinished(...), .armInterval(afterMs: ...)]
/// ```
public struct SupervisorMachine: Sendable {
    /// The cycle running now.
    public struct RunningCycle: Sendable, Equatable {
        public var id: Int64
        /// The sources it runs (backing-off ones left out).
        public var sources: Set<String>
        /// Sources with a failed job so far.
        public var failedSources: Set<String> = []
        /// Clients that asked (`trigger --wait`) to hear when it ends.
        public var waiters: [Int]
    }

    /// The last cycle that ended.
    public struct FinishedCycle: Sendable, Equatable {
        public var id: Int64
        public var totals: CycleTotals
        public var finishedAtMs: Int64
    }

    /// What `trigger` answers.
    public enum TriggerAnswer: Sendable, Equatable {
        case unknownSources([String])
        case paused
        /// Queued behind the running cycle `running`.
        case queued(running: Int64)
        /// Started; its id is `cycleID` once the actions ran.
        case started
    }

    /// The config in force (a reload replaces it, keeping the socket and state dir).
    public internal(set) var config: Config
    public internal(set) var scheduler: CycleScheduler
    public let shutdownDeadlineMs: UInt64
    /// The id of the running cycle, or of the last one.
    public internal(set) var cycleID: Int64 = 0
    public internal(set) var cycle: RunningCycle?
    /// Clients waiting for the next cycle to start, then end.
    public internal(set) var pendingWaiters: [Int] = []
    public internal(set) var isStopping = false
    var shutdownFinished = false
    /// The last thing known about each job, for status and snapshot.
    public internal(set) var jobRecords: [String: JobRecord] = [:]
    public internal(set) var lastCycle: FinishedCycle?
    /// systemd gets STATUS lines (set before `start`).
    public var sendsStatus = false
    /// The last STATUS text sent; nil before READY.
    var lastStatus: String?
    /// Jobs finished and jobs in the running cycle, for the STATUS line.
    var statusJobs = (finished: 0, total: 0)
    /// The purge on its own schedule (SupervisorMachine+Purge.swift), and the zone its cron times are in.
    public internal(set) var purge: PurgeSlot
    public var purgeZone: CronZone = .local

    var actions: [SupervisorAction] = []

    public init(config: Config, shutdownDeadlineMs: UInt64 = 8_000) {
        self.config = config
        self.shutdownDeadlineMs = shutdownDeadlineMs
        scheduler = Self.scheduler(for: config, now: 0)
        purge = PurgeSlot(schedule: config.purge.schedule, wallSeconds: 0, zone: .local)
    }

    static func scheduler(for config: Config, now: Double) -> CycleScheduler {
        CycleScheduler(sources: config.sources.map(\.name), interval: config.interval.seconds,
                       backoff: config.retry.backoff.seconds, maxBackoff: config.retry.maxBackoff.seconds, now: now)
    }

    mutating func emit(_ action: SupervisorAction) { actions.append(action) }

    mutating func take() -> [SupervisorAction] {
        defer { actions.removeAll() }
        return actions
    }

    // MARK: - Cycles

    /// The supervisor is up: the first cycle starts at once.
    public mutating func start(at time: SupervisorTime) -> [SupervisorAction] {
        scheduler = Self.scheduler(for: config, now: time.monotonic)
        if let plan = scheduler.due(at: time.monotonic) { emit(.startCycle(plan)) }
        armInterval(at: time)
        startPurges(at: time)
        return take()
    }

    /// The interval timer fired.
    public mutating func intervalFired(at time: SupervisorTime) -> [SupervisorAction] {
        if let plan = scheduler.due(at: time.monotonic) { emit(.startCycle(plan)) }
        armInterval(at: time)
        return take()
    }

    /// The manifest numbered the cycle of `plan`: it is running from now. Sources left out are told why.
    public mutating func cycleStarted(id: Int64, plan: CycleScheduler.Plan, at time: SupervisorTime) -> [SupervisorAction] {
        cycleID = id
        for skip in plan.skipped {
            let at = Timestamp.rfc3339(milliseconds: time.wallMs(at: skip.until))
            let reason = "skipped: backing off after \(skip.failedCycles) failed cycle\(skip.failedCycles == 1 ? "" : "s"); next try at \(at)"
            for job in config.jobs where job.source.name == skip.source {
                var record = jobRecords[job.id] ?? JobRecord(source: job.source.name, folder: job.folder)
                record.skipped = reason
                record.cycle = id
                jobRecords[job.id] = record
                emit(.publish(level: "warning", message: "\(job.id): \(reason)", cycle: id, job: job.id))
            }
        }
        let names = Set(plan.sources ?? config.sources.map(\.name))
        cycle = RunningCycle(id: id, sources: names.intersection(config.sources.map(\.name)), waiters: pendingWaiters)
        pendingWaiters = []
        return take()
    }

    /// The running cycle ended: its waiters hear it, failing sources back off, the queued cycle (or the
    /// shutdown) follows.
    public mutating func cycleEnded(_ totals: CycleTotals, at time: SupervisorTime) -> [SupervisorAction] {
        guard let ended = cycle else { return [] }
        cycle = nil
        lastCycle = FinishedCycle(id: ended.id, totals: totals, finishedAtMs: time.wallMs)
        emit(.replyCycleFinished(clients: ended.waiters, cycle: ended.id, totals: totals))
        if isStopping {
            finishShutdown()
            return take()
        }
        // A purge that came due during the sync goes first, then what waits for the slot.
        let purgeWaits = purgeWaitsForTheSlot(at: time)
        if purgeWaits { scheduler.hold() }
        if let next = scheduler.cycleFinished(failedSources: ended.failedSources, ranSources: ended.sources, at: time.monotonic) {
            emit(.startCycle(next))
        }
        if purgeWaits { startPendingPurge(at: time) }
        armInterval(at: time)
        updateStatus(at: time)
        return take()
    }

    mutating func armInterval(at time: SupervisorTime) {
        guard !isStopping else { return }
        // While a cycle runs its end decides what follows, and while paused `resume` does: a timer
        // armed then would find the due time passed and fire again at once, spinning the loop.
        guard scheduler.state == .idle else { return emit(.stopInterval) }
        let wait = max(0.001, scheduler.nextDue - time.monotonic)
        emit(.armInterval(afterMs: UInt64((wait * 1000).rounded(.up))))
    }

    // MARK: - Requests

    /// A client asked for a cycle (of `sources`, nil = all); with `wait` it hears when that cycle ends.
    public mutating func trigger(client: Int, sources: [String]?, wait: Bool,
                                 at time: SupervisorTime) -> (answer: TriggerAnswer, actions: [SupervisorAction]) {
        if let sources {
            let unknown = sources.filter { name in !config.sources.contains { $0.name == name } }
            guard unknown.isEmpty else { return (.unknownSources(unknown), []) }
        }
        switch scheduler.trigger(sources: sources, at: time.monotonic) {
        case .refusedPaused:
            return (.paused, [])
        case .queued:
            if wait { pendingWaiters.append(client) }
            return (.queued(running: cycleID), [])
        case let .start(plan):
            if wait { pendingWaiters.append(client) }
            emit(.startCycle(plan))
            armInterval(at: time)
            return (.started, take())
        }
    }

    /// No new cycle starts until `resume`; the running one goes on.
    public mutating func pause(at time: SupervisorTime) -> [SupervisorAction] {
        scheduler.pause()
        emit(.publish(level: "info", message: "paused: no new cycle starts until `mediasync resume`", cycle: nil, job: nil))
        updateStatus(at: time)
        return take()
    }

    /// Cycles run again; one that came due while paused starts now.
    public mutating func resume(at time: SupervisorTime) -> [SupervisorAction] {
        // A purge that came due (or was asked for) while paused goes first, as after a sync.
        let purgeWaits = purgeWaitsForTheSlot(at: time)
        if purgeWaits { scheduler.hold() }
        let plan = scheduler.resume(at: time.monotonic)
        emit(.publish(level: "info", message: "resumed", cycle: nil, job: nil))
        if let plan { emit(.startCycle(plan)) }
        if purgeWaits { startPendingPurge(at: time) }
        armInterval(at: time)
        updateStatus(at: time)
        return take()
    }

    /// A client went away: it waits for nothing any more.
    public mutating func clientClosed(_ client: Int) -> [SupervisorAction] {
        pendingWaiters.removeAll { $0 == client }
        cycle?.waiters.removeAll { $0 == client }
        purgeClientClosed(client)
        return []
    }

    // MARK: - Reload

    /// A new config passed validation. It applies from the next cycle; the socket and the state dir stay
    /// until a restart. `ingest` is the running door's settings and whether it halted.
    public mutating func reloaded(_ new: Config, ingest: (settings: IngestSettings, halted: Bool)?,
                                  at time: SupervisorTime) -> [SupervisorAction] {
        var notes: [String] = []
        if new.socket != config.socket || new.socketGroup != config.socketGroup { notes.append("socket") }
        if new.stateDirectory != config.stateDirectory { notes.append("state_dir") }
        var applied = new
        applied.socket = config.socket
        applied.socketGroup = config.socketGroup
        applied.stateDirectory = config.stateDirectory
        config = applied
        scheduler.reconfigure(sources: applied.sources.map(\.name), interval: applied.interval.seconds,
                              backoff: applied.retry.backoff.seconds, maxBackoff: applied.retry.maxBackoff.seconds)
        purge.scheduler.reconfigure(schedule: applied.purge.schedule, now: Self.wallSeconds(time))
        armPurgeTimer(at: time)
        if applied.ingest != ingest?.settings || ingest?.halted == true {
            // A new command (or a halted one after a fix): the old child finishes its work, the new one
            // gets every unacknowledged event. A cycle running now keeps storing into the same outbox.
            emit(.replaceIngest)
        }
        let known = Set(applied.jobs.map(\.id))
        jobRecords = jobRecords.filter { known.contains($0.key) }
        armInterval(at: time)
        var message = "config reloaded: \(applied.sources.count) sources, \(applied.jobs.count) jobs, a cycle every \(DurationSyntax.format(applied.interval))"
        if !notes.isEmpty { message += "; changes to \(notes.joined(separator: " and ")) take effect at restart" }
        emit(.publish(level: notes.isEmpty ? "info" : "warning", message: message, cycle: nil, job: nil))
        return take()
    }

    /// A new config failed validation: the running one stays.
    public mutating func reloadRejected(_ errors: [String]) -> [SupervisorAction] {
        emit(.publish(level: "error", message: "config reload rejected, the running config stays:\n" + errors.joined(separator: "\n"),
                      cycle: nil, job: nil))
        return take()
    }

    // MARK: - Shutdown

    /// SIGTERM or SIGINT: stop accepting, cancel the running cycle and wait for it up to the deadline,
    /// then close everything.
    public mutating func shutdown(reason: String) -> [SupervisorAction] {
        guard !isStopping else { return [] }
        isStopping = true
        emit(.announceStopping(reason: reason))
        emit(.publish(level: "info", message: "supervisor stopping (\(reason))", cycle: nil, job: nil))
        emit(.stopAccepting)
        if cycle != nil || purge.running != nil {
            emit(.armShutdownDeadline(afterMs: shutdownDeadlineMs))
            emit(.cancelCycle)
        } else {
            finishShutdown()
        }
        return take()
    }

    /// The cancelled cycle did not end in time: its children are killed by the loop's teardown.
    public mutating func shutdownDeadlinePassed() -> [SupervisorAction] {
        guard isStopping, !shutdownFinished else { return [] }
        emit(.log(level: "warning", message: "the cycle did not stop in time; killing its children"))
        finishShutdown()
        return take()
    }

    mutating func finishShutdown() {
        guard !shutdownFinished else { return }
        shutdownFinished = true
        emit(.finishShutdown)
    }
}

/// The last thing known about one (source, folder) job, for status and snapshot.
public struct JobRecord: Sendable, Equatable {
    public var source: String
    public var folder: String
    public var last: JobFinished?
    public var cycle: Int64?
    public var finishedAtMs: Int64?
    /// Why it did not run in the latest cycle (backing off), nil when it ran.
    public var skipped: String?

    public init(source: String, folder: String) {
        self.source = source
        self.folder = folder
    }
}

extension Duration {
    /// Whole and fractional seconds.
    public var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
