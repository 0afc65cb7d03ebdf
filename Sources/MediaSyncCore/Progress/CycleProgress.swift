/// A cycle's jobs and the overall view a user sees: a percent that never falls, a smoothed rate,
/// and an ETA that knows the jobs share `concurrency` slots.
///
/// The overall percent is by bytes (by files when no job has bytes), floored to one decimal and
/// held at its high-water mark: when a job's totals grow (a late listing, rsync's incremental
/// recursion) the bar stands still rather than going back. It reads exactly 100 only once every
/// job is `done`; a cycle with a failed job ends below 100.
///
/// The rate is a `RateEstimator` (5-second sliding window by default) over the sum of the jobs'
/// bytes done, read at the instant asked, so a stall decays it instead of freezing it.
public struct CycleProgress: Sendable {
    public private(set) var jobs: [JobProgress] = []
    /// How many jobs may hold a slot at once; the ETA schedules queued jobs into these.
    public var concurrency: Int
    /// The displayed overall percent (see above).
    public private(set) var percent: Double = 0

    private var index: [JobID: Int] = [:]
    private var overallRate: RateEstimator
    private var lastJobRate: Double?
    private let rateWindow: Double

    public init(jobs ids: [JobID] = [], concurrency: Int, rateWindow: Double = RateEstimator.defaultWindow) {
        self.concurrency = max(concurrency, 1)
        self.rateWindow = rateWindow
        self.overallRate = RateEstimator(window: rateWindow)
        for id in ids { addJob(id) }
        refreshPercent()
    }

    /// Adds a queued job at the end of the queue; false when a job with that id exists already.
    @discardableResult
    public mutating func addJob(_ id: JobID) -> Bool {
        guard index[id] == nil else { return false }
        index[id] = jobs.count
        jobs.append(JobProgress(id: id, rateWindow: rateWindow))
        refreshPercent()
        return true
    }

    public subscript(id: JobID) -> JobProgress? {
        index[id].map { jobs[$0] }
    }

    // MARK: inputs (each returns whether it applied; an unknown job id is refused, not a crash)

    @discardableResult
    public mutating func plan(_ id: JobID, files: Int, bytes: Int64, at now: Double) -> Bool {
        update(id, at: now) { $0.plan(files: files, bytes: bytes); return true }
    }

    @discardableResult
    public mutating func transition(_ id: JobID, to state: JobState, at now: Double) -> Bool {
        update(id, at: now) { $0.transition(to: state, at: now) }
    }

    @discardableResult
    public mutating func record(_ record: RsyncRecord, for id: JobID, at now: Double) -> Bool {
        update(id, at: now) { $0.record(record, at: now) }
    }

    // MARK: the overall view

    public var filesDone: Int { jobs.reduce(0) { $0 + $1.filesDone } }
    public var filesTotal: Int { jobs.reduce(0) { $0 + $1.filesTotal } }
    public var bytesDone: Int64 { jobs.reduce(0) { $0 + $1.bytesDone } }
    public var bytesTotal: Int64 { jobs.reduce(0) { $0 + $1.bytesTotal } }

    /// True when every job is done (none failed, none still going).
    public var allDone: Bool { jobs.allSatisfy { $0.state == .done } }
    /// True when every job is done or failed.
    public var isFinished: Bool { jobs.allSatisfy { $0.state.isFinal } }

    /// The cycle's smoothed rate in bytes/s at `now`; nil while unknown.
    public func rate(at now: Double) -> Double? { overallRate.rate(at: now) }

    /// Seconds until each job and the cycle finish, scheduling queued jobs into free slots.
    public func eta(at now: Double) -> EtaEstimator.Estimate {
        let inputs = jobs.map { job -> EtaEstimator.Job in
            let phase: EtaEstimator.Job.Phase = job.state.isFinal ? .finished
                : job.state.holdsSlot ? .running : .waiting
            return EtaEstimator.Job(phase: phase,
                                    remainingBytes: job.hasTotals ? job.bytesTotal - job.bytesDone : nil,
                                    rate: job.rate(at: now))
        }
        return EtaEstimator.estimate(jobs: inputs, concurrency: concurrency, fallbackRate: lastJobRate)
    }

    // MARK: internals

    private mutating func update(_ id: JobID, at now: Double, _ body: (inout JobProgress) -> Bool) -> Bool {
        guard let i = index[id] else { return false }
        let applied = body(&jobs[i])
        guard applied else { return false }
        // Runs once per rsync record: index the jobs in place rather than map over copies of them
        // (a JobProgress holds a set and a rate window, so each copy costs retains and releases).
        var bytes: Int64 = 0, rateSum = 0.0, rateCount = 0
        for j in jobs.indices {
            bytes += jobs[j].bytesDone
            if let rate = jobs[j].rate(at: now), rate > 0 {
                rateSum += rate
                rateCount += 1
            }
        }
        overallRate.add(bytes: bytes, at: now)
        if rateCount > 0 { lastJobRate = rateSum / Double(rateCount) }
        refreshPercent()
        return true
    }

    private mutating func refreshPercent() {
        var allDone = true, bytesDone: Int64 = 0, bytesTotal: Int64 = 0, filesDone = 0, filesTotal = 0
        for j in jobs.indices {
            allDone = allDone && jobs[j].state == .done
            bytesDone += jobs[j].bytesDone
            bytesTotal += jobs[j].bytesTotal
            filesDone += jobs[j].filesDone
            filesTotal += jobs[j].filesTotal
        }
        if allDone {
            percent = 100
            return
        }
        let raw = ProgressPercent.raw(bytesDone: bytesDone, bytesTotal: bytesTotal, filesDone: filesDone,
                                      filesTotal: filesTotal)
        // min: a job added after all others were done takes the cycle back below 100.
        percent = min(max(percent, ProgressPercent.displayed(raw, complete: false)), 99.9)
    }
}
