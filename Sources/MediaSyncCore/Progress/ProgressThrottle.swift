/// Decides when a `progress` event may go out: at most `maxPerSecond`, and never losing the last one.
///
/// rsync records arrive in bursts (one per finished file); clients need at most a few frames a
/// second. `offer(at:)` says whether to emit now; a refused offer leaves the update pending, and
/// `pendingDue` tells the engine when to arm a timer that calls `flush(at:)`, so the final state
/// is always sent (borg's frontends were bitten by a last progress object that never came).
///
/// ```swift
/// var throttle = ProgressThrottle()
/// if throttle.offer(at: now) { emit(cycle.snapshot(at: now)) }
/// else if let due = throttle.pendingDue { armTimer(at: due) }
/// ```
public struct ProgressThrottle: Sendable {
    /// Minimum spacing between emits: 1 / maxPerSecond seconds.
    public let interval: Double
    private var lastEmit: Double?
    private var pending = false

    public init(maxPerSecond: Int = 10) {
        interval = 1 / Double(max(maxPerSecond, 1))
    }

    /// An update happened at `now`: true when it may be emitted now (and counts as emitted).
    public mutating func offer(at now: Double) -> Bool {
        if let lastEmit, now < lastEmit + interval {
            pending = true
            return false
        }
        lastEmit = now
        pending = false
        return true
    }

    /// When the held-back update may go out; nil when nothing is pending.
    public var pendingDue: Double? {
        guard pending else { return nil }
        return (lastEmit ?? 0) + interval
    }

    /// The first instant at or after `now` at which an emit keeps the spacing: `now` when one may go out at once.
    /// A last update that must go out (the end of a cycle) waits until then rather than break the limit.
    public func nextAllowed(at now: Double) -> Double {
        guard let lastEmit else { return now }
        return max(now, lastEmit + interval)
    }

    /// Counts an emit at `now` that was decided elsewhere (e.g. after waiting for `nextAllowed(at:)`).
    public mutating func emitted(at now: Double) {
        lastEmit = now
        pending = false
    }

    /// Emits the held-back update if one is pending and its time has come.
    public mutating func flush(at now: Double) -> Bool {
        guard pending else { return false }
        return offer(at: now)
    }
}
