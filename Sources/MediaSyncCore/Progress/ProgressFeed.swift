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
/// ```swift
/// var feed = ProgressFeed()
/// if feed.changed(at: now) { send(feed.event(from: cycle.snapshot(at: now), at: now)) }   // a record came
/// if feed.isDue(at: now) { send(feed.event(from: cycle.snapshot(at: now), at: now)) }     // the 100 ms tick
/// let at = feed.finalAt(now)    // the cycle ended: send the last event at `at` (now, or ≤ 100 ms later)
/// ```
public struct ProgressFeed: Sendable {
    private var throttle: ProgressThrottle
    private var dirty = false
    /// What the previous event told of each job, by job id.
    private var sent: [String: ProgressSnapshot.Job] = [:]

    public init(maxPerSecond: Int = 10) {
        throttle = ProgressThrottle(maxPerSecond: maxPerSecond)
    }

    /// Something a user sees changed at `now`: true when an event may go out now (then call `event`), else
    /// it is held until `isDue`.
    public mutating func changed(at now: Double) -> Bool {
        dirty = true
        return throttle.nextAllowed(at: now) <= now
    }

    /// True when a held-back change may go out now (ask on every tick).
    public func isDue(at now: Double) -> Bool {
        dirty && throttle.nextAllowed(at: now) <= now
    }

    /// When the cycle's last event may go out: `now`, or the end of the current spacing.
    public func finalAt(_ now: Double) -> Double {
        throttle.nextAllowed(at: now)
    }

    /// The event to send at `now` from the cycle's full snapshot: the overall figures and the jobs running or
    /// changed since the previous event. Counts as sent.
    public mutating func event(from full: ProgressSnapshot, at now: Double) -> ProgressSnapshot {
        throttle.emitted(at: now)
        dirty = false
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
