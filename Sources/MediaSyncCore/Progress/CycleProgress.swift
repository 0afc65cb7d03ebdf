/// A cycle's jobs and the overall view a user sees: a percent that never falls, a smoothed rate,
/// and an ETA that knows the jobs share `concurrency` slots.
///
/// The overall percent is by bytes (by files when no job has bytes), floored to one decimal and
/// held at its high-water mark: when a job's totals grow (a late listing, rsync's incremental
/// recursion) the bar stands still rather than going back. It reads exactly 100 only once every
/// job is `done`; a cycle with a failed job ends below 100.
///
/// A job not listed yet has no totals, yet its bytes are still to come: it counts as the average job with
/// totals (`unlistedJobEstimate`), in the percent's denominator and in the ETA. Left out, the first jobs'
/// totals would be the whole cycle's and the bar would read 99.9% with 8 of 12 folders done. An average is
/// the least-surprise guess from what is known; when the unlisted folders are bigger than the listed ones
/// the bar runs ahead and then stands still until the truth catches up (it never falls).
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
    /// Each job's figures as of its last change, beside `jobs` (same order): the overall refresh, which runs
    /// once per rsync record, sums these plain numbers instead of reading every job (a JobProgress holds a set,
    /// a dictionary and a rate window, and reading one through the array copied it).
    private var tallies: [JobProgress.Tally] = []
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
        tallies.append(jobs[jobs.count - 1].tally(at: nil))
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

    /// One parsed rsync line of stream `stream` of job `id` (0 for a job of one stream).
    @discardableResult
    public mutating func record(_ record: RsyncRecord, for id: JobID, stream: Int = 0, at now: Double) -> Bool {
        update(id, at: now) { $0.record(record, stream: stream, at: now) }
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

    /// The bytes a job without totals yet (not listed) is taken to hold: the average total of the jobs
    /// that have one (planned, estimated from rsync, or done); nil while none has.
    public var unlistedJobEstimate: Int64? {
        var sum: Int64 = 0, count: Int64 = 0
        for j in jobs.indices where jobs[j].hasTotals {
            sum += jobs[j].bytesTotal
            count += 1
        }
        return count == 0 ? nil : sum / count
    }

    /// Seconds until each job and the cycle finish, scheduling queued jobs into free slots
    /// (`EtaEstimator`): each job by its own bytes left and its own rate (`JobProgress.outlook`), a job
    /// not listed yet as `unlistedJobEstimate` bytes.
    public func eta(at now: Double) -> EtaEstimator.Estimate {
        let unlisted = unlistedJobEstimate
        let inputs = jobs.map { job -> EtaEstimator.Job in
            let phase: EtaEstimator.Job.Phase = job.state.isFinal ? .finished
                : job.state.holdsSlot ? .running : .waiting
            let outlook = job.outlook(at: now)
            return EtaEstimator.Job(phase: phase, remainingBytes: outlook.remaining ?? unlisted,
                                    rate: outlook.rate, slots: job.streamCount)
        }
        return EtaEstimator.estimate(jobs: inputs, concurrency: concurrency, fallbackRate: lastJobRate)
    }

    // MARK: internals

    private mutating func update(_ id: JobID, at now: Double, _ body: (inout JobProgress) -> Bool) -> Bool {
        guard let i = index[id] else { return false }
        guard Self.apply(body, to: &jobs[i], tally: &tallies[i], at: now) else { return false }
        refresh(at: now)
        return true
    }

    /// `body` on the job, then its tally; the job is read in place (reading `jobs[i]` again copied it).
    private static func apply(_ body: (inout JobProgress) -> Bool, to job: inout JobProgress,
                              tally: inout JobProgress.Tally, at now: Double) -> Bool {
        guard body(&job) else { return false }
        tally = job.tally(at: now)
        return true
    }

    private mutating func refreshPercent() { refresh(at: nil) }

    /// The overall figures in one pass over the jobs' tallies. With `now`, the overall rate and the average
    /// job rate are fed too (each job's rate as of its last change: a running job changes with every record).
    private mutating func refresh(at now: Double?) {
        var allDone = true, bytesDone: Int64 = 0, bytesTotal: Int64 = 0, filesDone = 0, filesTotal = 0
        var listed = 0, unlisted = 0, listedBytes: Int64 = 0, listedFiles = 0
        var rateSum = 0.0, rateCount = 0
        for tally in tallies {
            allDone = allDone && tally.state == .done
            bytesDone += tally.bytesDone
            bytesTotal += tally.bytesTotal
            filesDone += tally.filesDone
            filesTotal += tally.filesTotal
            if tally.hasTotals {
                listed += 1
                listedBytes += tally.bytesTotal
                listedFiles += tally.filesTotal
            } else if tally.state != .failed {
                unlisted += 1   // its bytes are still to come (a failed one's never will)
            }
            if let rate = tally.rate, rate > 0 {
                rateSum += rate
                rateCount += 1
            }
        }
        if let now {
            overallRate.add(bytes: bytesDone, at: now)
            if rateCount > 0 { lastJobRate = rateSum / Double(rateCount) }
        }
        if allDone {
            percent = 100
            return
        }
        // Each job without totals counts as the average job with them (see the type's comment).
        if listed > 0, unlisted > 0 {
            bytesTotal += listedBytes / Int64(listed) * Int64(unlisted)
            filesTotal += listedFiles / listed * unlisted
        }
        let raw = ProgressPercent.raw(bytesDone: bytesDone, bytesTotal: bytesTotal, filesDone: filesDone,
                                      filesTotal: filesTotal)
        // min: a job added after all others were done takes the cycle back below 100.
        percent = min(max(percent, ProgressPercent.displayed(raw, complete: false)), 99.9)
    }
}
