/// When cycles run, decided without I/O: one at a time, a trigger during a cycle queues exactly one
/// more, pause holds new cycles back, and a source that keeps failing waits out its own backoff
/// (doubling per failed cycle) without delaying the others. Times are monotonic seconds.
///
/// ```swift
/// var s = CycleScheduler(sources: ["forge", "box"], interval: 300, backoff: 10, maxBackoff: 600)
/// if case let .start(plan) = s.trigger(sources: nil, at: now) { run(plan) }
/// if let next = s.cycleFinished(failedSources: ["box"], ranSources: ["forge", "box"], at: now) { run(next) }
/// ```
public struct CycleScheduler: Sendable, Equatable {
    public enum State: String, Sendable { case idle, syncing, purging, paused }

    /// One cycle to start.
    public struct Plan: Sendable, Equatable {
        /// The sources to run; nil means all of them.
        public var sources: [String]?
        /// Sources left out because they are backing off.
        public var skipped: [Skip]
        /// True when a person asked for it (trigger), false for the interval.
        public var manual: Bool

        public init(sources: [String]?, skipped: [Skip], manual: Bool) {
            self.sources = sources
            self.skipped = skipped
            self.manual = manual
        }
    }

    /// A source left out of a cycle.
    public struct Skip: Sendable, Equatable {
        public var source: String
        public var failedCycles: Int
        /// Monotonic seconds when it will be tried again.
        public var until: Double

        public init(source: String, failedCycles: Int, until: Double) {
            self.source = source
            self.failedCycles = failedCycles
            self.until = until
        }
    }

    public enum TriggerOutcome: Sendable, Equatable {
        case start(Plan)
        /// A cycle is running; one more will follow it (several triggers still make one).
        case queued
        case refusedPaused
    }

    public private(set) var running = false
    /// A purge cycle of its own holds the slot (`hold`): interval cycles and triggers wait behind it as they
    /// wait behind a sync, so no sync runs beside a purge.
    public private(set) var held = false
    public private(set) var paused = false
    /// The cycle queued behind the running one, if any: nil sources = all.
    public private(set) var pending: Pending?
    /// When the next interval cycle is due.
    public private(set) var nextDue: Double
    public private(set) var sources: [String]
    public private(set) var interval: Double
    public private(set) var backoff: Double
    public private(set) var maxBackoff: Double
    /// Consecutive failed cycles per source, and when it may run again.
    public private(set) var failures: [String: Int] = [:]
    public private(set) var backoffUntil: [String: Double] = [:]

    /// What is queued: the union of the triggers' sources, or all.
    public struct Pending: Sendable, Equatable {
        public var sources: [String]?
        public var manual: Bool
    }

    /// Backoff is capped at `maxBackoff` and never more than an hour.
    public static let hardCap: Double = 3600

    public init(sources: [String], interval: Double, backoff: Double, maxBackoff: Double, now: Double = 0) {
        self.sources = sources
        self.interval = interval
        self.backoff = backoff
        self.maxBackoff = maxBackoff
        nextDue = now
    }

    public var state: State { running ? .syncing : held ? .purging : (paused ? .paused : .idle) }

    /// A purge cycle takes the slot; no sync starts until `release`.
    public mutating func hold() { held = true }

    /// The purge cycle ended: what waited (a trigger, the interval) starts now.
    public mutating func release(at now: Double) -> Plan? {
        held = false
        return next(at: now)
    }

    /// The config changed: new sources and timings apply from the next cycle.
    public mutating func reconfigure(sources: [String], interval: Double, backoff: Double, maxBackoff: Double) {
        let lastStart = nextDue - self.interval
        self.sources = sources
        self.interval = interval
        self.backoff = backoff
        self.maxBackoff = maxBackoff
        nextDue = lastStart + interval
        failures = failures.filter { sources.contains($0.key) }
        backoffUntil = backoffUntil.filter { sources.contains($0.key) }
    }

    /// The interval timer fired (or the supervisor started): start the due cycle, or queue it.
    public mutating func due(at now: Double) -> Plan? {
        guard now >= nextDue else { return nil }
        if paused { return nil }
        if running || held {
            if pending == nil { pending = Pending(sources: nil, manual: false) }
            return nil
        }
        return begin(sources: nil, manual: false, at: now)
    }

    /// A person asked for a cycle. Named sources run even when backing off: they were asked for.
    public mutating func trigger(sources requested: [String]?, at now: Double) -> TriggerOutcome {
        if paused { return .refusedPaused }
        if running || held {
            if let queued = pending {
                let union = Array(Set((queued.sources ?? []) + (requested ?? []))).sorted()
                pending = Pending(sources: queued.sources == nil || requested == nil ? nil : union, manual: true)
            } else {
                pending = Pending(sources: requested, manual: true)
            }
            return .queued
        }
        return .start(begin(sources: requested, manual: true, at: now))
    }

    /// The running cycle ended. Sources that failed back off; the queued cycle starts if there is one.
    public mutating func cycleFinished(failedSources: Set<String>, ranSources: Set<String>, at now: Double) -> Plan? {
        running = false
        for source in ranSources {
            if failedSources.contains(source) {
                let count = (failures[source] ?? 0) + 1
                failures[source] = count
                backoffUntil[source] = now + delay(afterFailedCycles: count)
            } else {
                failures[source] = nil
                backoffUntil[source] = nil
            }
        }
        return next(at: now)
    }

    private mutating func next(at now: Double) -> Plan? {
        if paused || held || running { return nil }
        if let queued = pending {
            pending = nil
            return begin(sources: queued.sources, manual: queued.manual, at: now)
        }
        return due(at: now)
    }

    /// Seconds a source waits after `count` consecutive failed cycles: backoff, doubling, capped.
    public func delay(afterFailedCycles count: Int) -> Double {
        guard count > 0 else { return 0 }
        let cap = min(max(maxBackoff, backoff), Self.hardCap)
        var value = backoff
        for _ in 1..<count where value < cap { value *= 2 }
        return min(value, cap)
    }

    /// Holds new cycles back; the running one goes on.
    public mutating func pause() {
        paused = true
        pending = nil
    }

    /// Lets cycles run again; starts one right away if one came due while paused.
    public mutating func resume(at now: Double) -> Plan? {
        paused = false
        return running || held ? nil : due(at: now)
    }

    private mutating func begin(sources requested: [String]?, manual: Bool, at now: Double) -> Plan {
        running = true
        if !manual || requested == nil { nextDue = now + interval }
        if manual, let requested { return Plan(sources: requested, skipped: [], manual: true) }
        if manual { return Plan(sources: nil, skipped: [], manual: true) }
        var skipped: [Skip] = []
        for source in sources {
            if let until = backoffUntil[source], until > now {
                skipped.append(Skip(source: source, failedCycles: failures[source] ?? 0, until: until))
            }
        }
        if skipped.isEmpty { return Plan(sources: nil, skipped: [], manual: false) }
        let chosen = sources.filter { name in !skipped.contains { $0.source == name } }
        return Plan(sources: chosen, skipped: skipped, manual: false)
    }
}
