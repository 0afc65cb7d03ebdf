/// Decides when a `progress` event may go out: at most `maxPerSecond` in any one second, never two closer than
/// half of `1 / maxPerSecond`, and never losing the last one.
///
/// rsync records arrive in bursts (one per finished file); clients need at most a few frames a
/// second. `offer(at:)` says whether to emit now; a refused offer leaves the update pending, and
/// `pendingDue` tells the engine when to arm a timer that calls `flush(at:)`, so the final state
/// is always sent (borg's frontends were bitten by a last progress object that never came).
///
/// Why a window and not a fixed spacing: rsync prints a burst about every 101-115 ms. With a fixed 100 ms
/// spacing, a burst that came just after an event waited out the whole spacing, and so did every burst after
/// it, 3 ms less each time: seconds of progress 50-100 ms late (`bin/bench supervisor`, docs/benchmarks.md).
/// Counting the events of the last second lets such a burst out at once, and still never more than ten a second.
///
/// ```swift
/// var throttle = ProgressThrottle()
/// if throttle.offer(at: now) { emit(cycle.snapshot(at: now)) }
/// else if let due = throttle.pendingDue { armTimer(at: due) }
/// ```
public struct ProgressThrottle: Sendable {
    /// The average spacing the limit allows: 1 / maxPerSecond seconds.
    public let interval: Double
    private let most: Int
    /// The times of the last `most` emits, oldest first.
    private var recent: [Double] = []
    private var pending = false

    public init(maxPerSecond: Int = 10) {
        most = max(maxPerSecond, 1)
        interval = 1 / Double(most)
    }

    /// An update happened at `now`: true when it may be emitted now (and counts as emitted).
    public mutating func offer(at now: Double) -> Bool {
        if nextAllowed(at: now) > now {
            pending = true
            return false
        }
        emitted(at: now)
        return true
    }

    /// When the held-back update may go out; nil when nothing is pending.
    public var pendingDue: Double? {
        guard pending else { return nil }
        return earliest
    }

    /// The first instant at or after `now` at which an emit keeps the limit: `now` when one may go out at once.
    /// A last update that must go out (the end of a cycle) waits until then rather than break the limit.
    public func nextAllowed(at now: Double) -> Double {
        max(now, earliest)
    }

    /// The first instant an emit keeps the limit: half a spacing after the last, and a second after the one
    /// `most` emits back once there were that many.
    private var earliest: Double {
        guard let last = recent.last else { return -.infinity }
        let gap = last + interval / 2
        return recent.count < most ? gap : max(gap, recent[0] + 1)
    }

    /// Counts an emit at `now` that was decided elsewhere (e.g. after waiting for `nextAllowed(at:)`).
    public mutating func emitted(at now: Double) {
        if recent.count == most { recent.removeFirst() }
        recent.append(now)
        pending = false
    }

    /// Emits the held-back update if one is pending and its time has come.
    public mutating func flush(at now: Double) -> Bool {
        guard pending else { return false }
        return offer(at: now)
    }
}
