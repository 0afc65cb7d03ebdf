/// When `serve` starts a purge cycle of its own, decided without I/O. Times are wall-clock seconds since the epoch
/// (a cron schedule names wall-clock times); the supervisor feeds them from its timer and at the end of each cycle.
///
/// - A scheduled time that comes makes a purge pending; so does `trigger --purge`. Several make one.
/// - A pending purge starts only when no cycle runs (sync or purge) and the supervisor is not paused: a purge
///   never runs twice at once, nor beside a sync of any folder. A scheduled time that comes while a purge runs
///   is passed over, as a systemd timer does not start a unit that is still running.
/// - Runs missed while the machine slept are made up once when it wakes (the timer's next tick sees the time
///   passed); a stopped supervisor makes nothing up when it starts again.
///
/// ```swift
/// var purges = PurgeScheduler(schedule: .cron(try CronExpression(parsing: "0 3 * * *")), now: wall, zone: .local)
/// _ = purges.tick(now: wall)                        // the timer fired
/// if let plan = purges.start(cycleRunning: false, paused: false) { runPurgeCycle(plan) }
/// purges.finished(now: wall)
/// ```
public struct PurgeScheduler: Sendable {
    /// A purge cycle to run.
    public struct Plan: Sendable, Equatable {
        /// The sources to purge; nil means every source whose purge is on.
        public var sources: [String]?
        /// True when a person asked for it, false for the schedule.
        public var manual: Bool

        public init(sources: [String]?, manual: Bool) {
            self.sources = sources
            self.manual = manual
        }
    }

    public enum TriggerOutcome: Sendable, Equatable {
        /// It waits for the running cycle (or starts right away when the caller's `start` finds none).
        case pending
        /// A purge cycle is running now; this asks for nothing more.
        case alreadyRunning
    }

    public private(set) var schedule: PurgeSchedule
    /// The next scheduled run, seconds since the epoch; nil when the schedule is not a cron expression.
    public private(set) var nextRun: Int64?
    public private(set) var pending: Plan?
    public private(set) var running = false
    let zone: CronZone

    /// The longest the supervisor's timer waits before looking at the wall clock again, so that a clock set
    /// forward or a machine waking from sleep is noticed within this many seconds.
    public static let maxTimerWait: Int64 = 60

    public init(schedule: PurgeSchedule, now: Int64, zone: CronZone) {
        self.schedule = schedule
        self.zone = zone
        nextRun = Self.firstRun(schedule, after: now, zone: zone)
    }

    static func firstRun(_ schedule: PurgeSchedule, after now: Int64, zone: CronZone) -> Int64? {
        guard case let .cron(expression) = schedule else { return nil }
        return expression.nextRun(after: now, in: zone)
    }

    /// The config changed: the next run is computed from the new schedule; a pending purge stays pending.
    public mutating func reconfigure(schedule: PurgeSchedule, now: Int64) {
        guard schedule != self.schedule else { return }
        self.schedule = schedule
        nextRun = Self.firstRun(schedule, after: now, zone: zone)
    }

    /// The wall clock reads `now`: a scheduled run that has come makes a purge pending (unless one runs). True
    /// when it did. The next run is the first one after `now`, so a long sleep makes up one run, not many.
    public mutating func tick(now: Int64) -> Bool {
        guard let due = nextRun, now >= due else { return false }
        nextRun = Self.firstRun(schedule, after: now, zone: zone)
        if running { return false }
        if pending == nil { pending = Plan(sources: nil, manual: false) }
        return true
    }

    /// A person asked for a purge (`trigger --purge`): of `sources`, or of all when nil.
    public mutating func trigger(sources: [String]?) -> TriggerOutcome {
        if running { return .alreadyRunning }
        if let queued = pending {
            let union = Array(Set((queued.sources ?? []) + (sources ?? []))).sorted()
            pending = Plan(sources: queued.sources == nil || sources == nil ? nil : union, manual: true)
        } else {
            pending = Plan(sources: sources, manual: true)
        }
        return .pending
    }

    /// The pending purge, if it may start now: no cycle of either kind runs and cycles are not paused.
    public mutating func start(cycleRunning: Bool, paused: Bool) -> Plan? {
        guard !running, !cycleRunning, !paused, let plan = pending else { return nil }
        pending = nil
        running = true
        return plan
    }

    /// The purge cycle ended.
    public mutating func finished(now: Int64) {
        running = false
        _ = tick(now: now)
    }

    /// Seconds until the supervisor's timer should look again; nil when nothing is scheduled.
    public func timerWait(now: Int64) -> Int64? {
        guard let due = nextRun else { return nil }
        return min(max(0, due - now), Self.maxTimerWait)
    }
}
