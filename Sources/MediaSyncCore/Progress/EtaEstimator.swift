/// Predicts when a cycle's jobs finish, knowing they share `concurrency` slots and run in parallel.
///
/// remaining bytes / overall rate is badly wrong when jobs differ in size: the small ones finish,
/// the overall rate falls, and the last job runs alone (NOTES.md, "ETA with parallel jobs": 1.6 s
/// predicted, 5.0 s true). Instead the estimate is a small simulation of the slots:
///
/// - each running job finishes at its own remaining bytes / its own rate, and holds its `slots` (one per
///   rsync stream it runs) until then;
/// - queued jobs, in queue order, start as soon as enough slots are free (each is taken to need as many
///   as the running jobs hold on average, rounded, at least 1), and run at the running jobs' average
///   per-job rate (the rates seen: `fallbackRate`, the last such average, between jobs);
/// - the cycle ends when the last job ends.
///
/// A job whose remaining bytes are unknown, or a running job whose rate is 0 (stalled), makes its own
/// end, and the cycle's, unknown (nil); so does every job queued behind it for want of a slot.
public enum EtaEstimator {
    /// What the estimator needs to know about one job.
    public struct Job: Sendable, Equatable {
        public enum Phase: Sendable, Equatable {
            /// Holds a slot now (listing, transferring, purging).
            case running
            /// Will need a slot later (queued, waiting to retry).
            case waiting
            /// Done or failed: needs nothing more.
            case finished
        }
        public var phase: Phase
        /// Bytes left to transfer; nil when the job's totals are not known yet.
        public var remainingBytes: Int64?
        /// The job's own smoothed rate in bytes/s; nil when it has too little history.
        public var rate: Double?
        /// The slots a running job holds: its rsync streams.
        public var slots: Int

        public init(phase: Phase, remainingBytes: Int64?, rate: Double? = nil, slots: Int = 1) {
            self.phase = phase
            self.remainingBytes = remainingBytes
            self.rate = rate
            self.slots = max(slots, 1)
        }
    }

    /// Seconds from now until each job and the whole cycle finish; nil where unknown.
    public struct Estimate: Sendable, Equatable {
        public var overall: Double?
        public var jobs: [Double?]
    }

    /// Schedules `jobs` (in queue order) into `concurrency` slots. `fallbackRate` is a per-job rate
    /// to use when no running job has one (e.g. the last known average).
    public static func estimate(jobs: [Job], concurrency: Int, fallbackRate: Double? = nil) -> Estimate {
        var rateSum = 0.0, rateCount = 0, runningCount = 0, runningSlots = 0
        for job in jobs where job.phase == .running {
            runningCount += 1
            runningSlots += job.slots
            if let rate = job.rate, rate > 0 {
                rateSum += rate
                rateCount += 1
            }
        }
        let averageRate = rateCount == 0 ? fallbackRate.flatMap { $0 > 0 ? $0 : nil } : rateSum / Double(rateCount)
        let slotCount = max(concurrency, 1)
        let queuedNeed = runningCount == 0 ? 1
            : min(max(Int((Double(runningSlots) / Double(runningCount)).rounded()), 1), slotCount)

        var perJob = [Double?](repeating: nil, count: jobs.count)
        var unknown = false
        var busy: [(end: Double, slots: Int)] = []   // occupied slots and when they free up
        var free = slotCount
        for (i, job) in jobs.enumerated() where job.phase != .waiting {
            if job.phase == .finished { perJob[i] = 0; continue }
            // A running job with a measured rate of 0 is stalled: its end cannot be told.
            let rate = job.rate == nil ? averageRate : job.rate.flatMap { $0 > 0 ? $0 : nil }
            let finish = finishTime(start: 0, remaining: job.remainingBytes, rate: rate)
            perJob[i] = finish
            if finish == nil { unknown = true }
            busy.append((finish ?? .infinity, job.slots))
            free -= job.slots
        }
        var clock = 0.0   // queued jobs start in order, so never before the one ahead of them
        for (i, job) in jobs.enumerated() where job.phase == .waiting {
            while free < queuedNeed, !busy.isEmpty {
                let first = busy.indices.min { busy[$0].end < busy[$1].end }!
                clock = max(clock, busy[first].end)
                free += busy[first].slots
                busy.remove(at: first)
            }
            let finish = clock.isFinite
                ? finishTime(start: clock, remaining: job.remainingBytes, rate: averageRate) : nil
            perJob[i] = finish
            if finish == nil { unknown = true }
            busy.append((finish ?? .infinity, queuedNeed))
            free -= queuedNeed
        }
        let overall = unknown ? nil : perJob.reduce(0.0) { max($0, $1 ?? 0) }
        return Estimate(overall: overall, jobs: perJob)
    }
    private static func finishTime(start: Double, remaining: Int64?, rate: Double?) -> Double? {
        guard let remaining else { return nil }
        if remaining <= 0 { return start }
        guard let rate, rate > 0 else { return nil }
        return start + Double(remaining) / rate
    }
}
