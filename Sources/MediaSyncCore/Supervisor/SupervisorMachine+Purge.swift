/// The purge on its own schedule (`purge.schedule`: a cron expression, or `manual` with `trigger --purge`): a
/// purge cycle of its own that takes the one cycle slot (`CycleScheduler.hold`), so it never runs beside a sync or
/// another purge. When it is due is `PurgeScheduler`'s (wall-clock) decision; this part of the machine gives it
/// the slot, keeps who waits for it and tells the executor what to do.
///
/// ```swift
/// perform(machine.purgeTimerFired(at: time))              // [.startPurgeCycle(plan)] when due and the slot is free
/// perform(machine.purgeCycleStarted(id: 8, plan: plan, at: time))
/// perform(machine.purgeCycleEnded(totals, at: later))    // [.replyPurgeFinished(...), .startCycle(...)?, ...]
/// ```
extension SupervisorMachine {
    /// The purge's part of the machine's state.
    public struct PurgeSlot: Sendable {
        public internal(set) var scheduler: PurgeScheduler
        /// The purge cycle running now: its id, and the clients waiting for its end.
        public internal(set) var running: (id: Int64, waiters: [Int])?
        /// Clients waiting for the pending purge to start, then end.
        public internal(set) var waiters: [Int] = []
        /// The last purge cycle that ended.
        public internal(set) var last: (id: Int64, totals: PurgeTotals, finishedAtMs: Int64)?

        init(schedule: PurgeSchedule, wallSeconds: Int64, zone: CronZone) {
            scheduler = PurgeScheduler(schedule: schedule, now: wallSeconds, zone: zone)
        }
    }

    /// What `trigger --purge` answers.
    public enum PurgeTriggerAnswer: Sendable, Equatable {
        case unknownSources([String])
        case paused
        /// It starts when the running sync `running` has ended.
        case queued(running: Int64)
        /// A purge cycle (`running`) runs now: nothing more is asked for.
        case alreadyRunning(Int64)
        /// Started; its id is `cycleID` once the actions ran.
        case started
    }

    static func wallSeconds(_ time: SupervisorTime) -> Int64 { time.wallMs / 1000 }

    /// At start (and after a reload): the next scheduled purge is computed from now, the timer armed.
    mutating func startPurges(at time: SupervisorTime) {
        purge = PurgeSlot(schedule: config.purge.schedule, wallSeconds: Self.wallSeconds(time), zone: purgeZone)
        armPurgeTimer(at: time)
    }

    /// Looks at the wall clock when the next scheduled purge is due, and at least every minute (a clock set
    /// forward, a machine waking from sleep). Nothing to arm without a cron schedule.
    mutating func armPurgeTimer(at time: SupervisorTime) {
        guard !isStopping, let wait = purge.scheduler.timerWait(now: Self.wallSeconds(time)) else { return }
        // A little past the second it is due: the wall clock must read at least that second when it fires.
        let msIntoSecond = Int64(time.wallMs % 1000)
        emit(.armPurgeTimer(afterMs: UInt64(max(0, wait * 1000 - msIntoSecond) + 50)))
    }

    /// The purge timer fired: a scheduled purge that came is pending now and starts if the slot is free.
    public mutating func purgeTimerFired(at time: SupervisorTime) -> [SupervisorAction] {
        if purge.scheduler.tick(now: Self.wallSeconds(time)) {
            emit(.publish(level: "info", message: "a scheduled purge is due (purge.schedule \"\(purge.scheduler.schedule)\")"
                          + (cycle != nil ? "; it starts when cycle \(cycleID) has finished" : ""), cycle: nil, job: nil))
        }
        startPendingPurge(at: time)
        armPurgeTimer(at: time)
        return take()
    }

    /// Whether a purge waits for the slot now (a scheduled time came, or a trigger asked) and may take it.
    mutating func purgeWaitsForTheSlot(at time: SupervisorTime) -> Bool {
        _ = purge.scheduler.tick(now: Self.wallSeconds(time))
        return purge.scheduler.pending != nil && !isStopping && cycle == nil && purge.running == nil
    }

    /// Starts the pending purge if the slot is free (no sync, no purge, not paused).
    mutating func startPendingPurge(at time: SupervisorTime) {
        guard !isStopping, let plan = purge.scheduler.start(cycleRunning: cycle != nil || purge.running != nil,
                                                            paused: scheduler.paused)
        else { return }
        scheduler.hold()
        armInterval(at: time)
        emit(.startPurgeCycle(plan))
    }

    /// The manifest numbered the purge cycle of `plan`: it runs from now.
    public mutating func purgeCycleStarted(id: Int64, plan: PurgeScheduler.Plan, at time: SupervisorTime) -> [SupervisorAction] {
        cycleID = id
        purge.running = (id, purge.waiters)
        purge.waiters = []
        emit(.publish(level: "info", message: "purge cycle \(id): "
                      + (plan.manual ? "asked for (trigger --purge)" : "scheduled (purge.schedule \"\(purge.scheduler.schedule)\")"),
                      cycle: id, job: nil))
        updateStatus(at: time)
        return take()
    }

    /// The purge cycle ended: its waiters hear it, and what waited for the slot (a sync) starts.
    public mutating func purgeCycleEnded(_ totals: PurgeTotals, at time: SupervisorTime) -> [SupervisorAction] {
        guard let ended = purge.running else { return [] }
        purge.running = nil
        purge.last = (ended.id, totals, time.wallMs)
        emit(.replyPurgeFinished(clients: ended.waiters, cycle: ended.id, totals: totals))
        purge.scheduler.finished(now: Self.wallSeconds(time))
        if isStopping {
            finishShutdown()
            return take()
        }
        if let next = scheduler.release(at: time.monotonic) { emit(.startCycle(next)) }
        armInterval(at: time)
        armPurgeTimer(at: time)
        updateStatus(at: time)
        return take()
    }

    /// `trigger --purge`: a purge cycle (of `sources`, nil = every source whose purge is on) now, or once the running
    /// sync has ended; with `wait` the client hears when it ends.
    public mutating func triggerPurge(client: Int, sources: [String]?, wait: Bool,
                                      at time: SupervisorTime) -> (answer: PurgeTriggerAnswer, actions: [SupervisorAction]) {
        if let sources {
            let unknown = sources.filter { name in !config.sources.contains { $0.name == name } }
            guard unknown.isEmpty else { return (.unknownSources(unknown), []) }
        }
        if scheduler.paused { return (.paused, []) }
        switch purge.scheduler.trigger(sources: sources) {
        case .alreadyRunning:
            if wait, purge.running != nil { purge.running!.waiters.append(client) }
            return (.alreadyRunning(purge.running?.id ?? cycleID), [])
        case .pending:
            if wait { purge.waiters.append(client) }
            startPendingPurge(at: time)
            let started = purge.scheduler.running
            return (started ? .started : .queued(running: cycleID), take())
        }
    }

    /// A client went away: it waits for no purge any more.
    mutating func purgeClientClosed(_ client: Int) {
        purge.waiters.removeAll { $0 == client }
        purge.running?.waiters.removeAll { $0 == client }
    }

    /// The STATUS line while a purge cycle runs.
    func purgeStatusText() -> String? {
        guard let running = purge.running else { return nil }
        return "purge cycle \(running.id)" + (scheduler.paused ? " (paused: no cycle after this one)" : "")
    }
}

/// What a purge cycle of its own did, as status and `trigger --purge --wait` report it.
public struct PurgeTotals: Sendable, Equatable {
    /// Folders whose purge ran to its end, and those that could not.
    public var foldersDone: Int
    public var foldersFailed: Int
    /// Files deleted (or, in a dry run, that would have been).
    public var filesPurged: Int
    public var seconds: Double

    public init(foldersDone: Int, foldersFailed: Int, filesPurged: Int, seconds: Double) {
        self.foldersDone = foldersDone
        self.foldersFailed = foldersFailed
        self.filesPurged = filesPurged
        self.seconds = seconds
    }
}
