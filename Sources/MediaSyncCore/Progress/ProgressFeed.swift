/// Decides when a cycle sends a `progress` event and which jobs it carries (pure, manual time).
///
/// At most `maxPerSecond` events a second, the cycle's last state always sent (it waits for the spacing
/// rather than break it), and each event carries the overall figures and only the jobs that are running or
/// changed since the previous event: a job that started, finished or failed in between appears once more with
/// its first or final state. The first event of a cycle carries every job. With 192 jobs and 8 slots that is
/// about 10 jobs an event instead of 192 (docs/benchmarks.md, "Events that scale").
///
/// "Changed" is any field a reader keeps (state, attempt, percent, counters, the file in flight); `rate_bps`
/// and `eta_s` of a job that is not running move with the clock and are not news on their own.
///
/// When: a change goes out `gather` (5 ms) after it came, or at the end of the throttle's spacing if that is
/// later, and every change until then rides along. rsync writes the records of a moment in a few pieces
/// 0.5-3.5 ms apart (measured in bin/bench supervisor): sent on the first piece, the next piece would wait out
/// the whole spacing, and from then each ~100 ms burst of records landed inside the spacing again and waited
/// for it (p50 52 ms from record to event, docs/benchmarks.md). The engine arms a timer for the answer; its
/// 100 ms tick only backs that up.
///
/// ```swift
/// var feed = ProgressFeed()
/// let due = feed.changed(at: now)                       // a record came, a job moved
/// if due <= now { send(feed.event(from: cycle.snapshot(at: now), at: now)) } else { armTimer(at: due) }
/// if feed.isDue(at: now) { send(feed.event(from: cycle.snapshot(at: now), at: now)) }     // that timer, or the tick
/// let at = feed.finalAt(now)    // the cycle ended: send the last event at `at` (now, or ≤ 100 ms later)
/// ```
public struct ProgressFeed: Sendable {
    /// How long a change waits for the rest of its moment's records: 5 ms.
    public static let defaultGather = 0.005

    private var throttle: ProgressThrottle
    private let gather: Double
    /// When the changes not yet sent go out; nil when nothing waits.
    private var due: Double?
    /// What the previous event told of each job, by job id.
    private var sent: [String: ProgressSnapshot.Job] = [:]

    public init(maxPerSecond: Int = 10, gather: Double = ProgressFeed.defaultGather) {
        throttle = ProgressThrottle(maxPerSecond: maxPerSecond)
        self.gather = gather
    }

    /// Something a user sees changed at `now`: returns when the event that tells it goes out. `now` or
    /// earlier: send it at once (call `event`); later: at that instant (`isDue`). Never more than the
    /// spacing (100 ms) after `now`.
    public mutating func changed(at now: Double) -> Double {
        if let due { return due }
        let at = max(now + gather, throttle.nextAllowed(at: now))
        due = at
        return at
    }

    /// True when changes wait and their time has come (ask when the timer fires, and on every tick).
    public func isDue(at now: Double) -> Bool {
        due.map { $0 <= now } ?? false
    }

    /// When the cycle's last event may go out: `now`, or the end of the current spacing.
    public func finalAt(_ now: Double) -> Double {
        throttle.nextAllowed(at: now)
    }

    /// The event to send at `now` from the cycle's full snapshot: the overall figures and the jobs running or
    /// changed since the previous event. Counts as sent.
    public mutating func event(from full: ProgressSnapshot, at now: Double) -> ProgressSnapshot {
        throttle.emitted(at: now)
        due = nil
        var jobs: [ProgressSnapshot.Job] = []
        for job in full.jobs {
            let before = sent[job.job]
            guard job.state.holdsSlot || before.map({ !Self.same(job, $0) }) ?? true else { continue }
            jobs.append(job)
            sent[job.job] = job
        }
        return ProgressSnapshot(overall: full.overall, jobs: jobs)
    }

    /// The same in every field a reader keeps of a job that is not running.
    static func same(_ a: ProgressSnapshot.Job, _ b: ProgressSnapshot.Job) -> Bool {
        a.state == b.state && a.attempt == b.attempt && a.percent == b.percent
            && a.filesDone == b.filesDone && a.filesTotal == b.filesTotal
            && a.bytesDone == b.bytesDone && a.bytesTotal == b.bytesTotal && a.current == b.current
    }
}
