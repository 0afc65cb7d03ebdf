/// Predicts when a cycle's jobs finish, knowing they share `concurrency` slots and run in parallel.
///
/// remaining bytes / overall rate is badly wrong when jobs differ in size: the small ones finish,
/// the overall rate falls, and the last job runs alone (NOTES.md, "ETA with parallel jobs": 1.6 s
/// predicted, 5.0 s true). Instead each running job finishes at remaining / its own rate, and
/// queued jobs are placed, in order, into the slot that frees first, at the running jobs' average
/// per-job rate. The cycle ends when the last slot empties.
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

        public init(phase: Phase, remainingBytes: Int64?, rate: Double? = nil) {
            self.phase = phase
            self.remainingBytes = remainingBytes
            self.rate = rate
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
        let knownRates = jobs.compactMap { job -> Double? in
            guard job.phase == .running, let rate = job.rate, rate > 0 else { return nil }
            return rate
        }
        let averageRate = knownRates.isEmpty
            ? fallbackRate.flatMap { $0 > 0 ? $0 : nil }
            : knownRates.reduce(0, +) / Double(knownRates.count)

        var perJob = [Double?](repeating: nil, count: jobs.count)
        var unknown = false
        var slots: [Double] = []  // times at which occupied slots free up
        for (i, job) in jobs.enumerated() where job.phase != .waiting {
            if job.phase == .finished { perJob[i] = 0; continue }
            // A running job with a measured rate of 0 is stalled: its end cannot be told.
            let rate = job.rate == nil ? averageRate : job.rate.flatMap { $0 > 0 ? $0 : nil }
            if let finish = finishTime(start: 0, remaining: job.remainingBytes, rate: rate) {
                perJob[i] = finish
                slots.append(finish)
            } else {
                unknown = true
                slots.append(.infinity)
            }
        }
        let slotCount = max(concurrency, 1)
        if slots.count < slotCount {
            slots.append(contentsOf: repeatElement(0, count: slotCount - slots.count))
        }
        for (i, job) in jobs.enumerated() where job.phase == .waiting {
            slots.sort()
            let start = slots.removeFirst()
            if start.isFinite, let finish = finishTime(start: start, remaining: job.remainingBytes,
                                                       rate: averageRate) {
                perJob[i] = finish
                slots.append(finish)
            } else {
                unknown = true
                slots.append(.infinity)
            }
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
