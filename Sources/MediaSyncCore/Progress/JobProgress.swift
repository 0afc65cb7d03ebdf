/// One job's counters, fed by its state changes, its plan and its rsync records (pure, manual time).
///
/// Bytes done are counted so that a retry neither drops nor double counts: each rsync run's own
/// counter restarts at 0 and skips files that are already in place, so the job's bytes are the
/// sizes of files finished in earlier runs plus the current run's counter, held at their
/// high-water mark (the resent part of a half-done file does not count twice).
///
/// rsync prints a file's `--out-format` line when the file *starts*, and a progress record with
/// `xfr#` when it finishes; a file counts as done only then.
///
/// Without a plan the totals are estimates from rsync's own records (its percent is truncated to
/// an integer and its totals grow under incremental recursion); the displayed percent is held at
/// its high-water mark either way.
public struct JobProgress: Sendable {
    public let id: JobID
    public private(set) var state: JobState = .queued
    /// Number of rsync runs started for this job (1 on the first transfer, 2 on the first retry...).
    public private(set) var attempt = 0
    /// The plan's totals, when the sync engine gave one (`plan(files:bytes:)`).
    public private(set) var plannedFiles: Int?
    public private(set) var plannedBytes: Int64?
    /// The file rsync is working on, or the last one it worked on in this run.
    public private(set) var currentFile: String?
    /// The displayed percent (0...100, one decimal, floored): never falls, 100 only once transferred.
    public private(set) var percent: Double = 0

    private var finishedPaths: Set<[UInt8]> = []
    private var finishedBytes: Int64 = 0    // sizes of finished files, over all runs
    private var runBase: Int64 = 0          // finishedBytes when this run started
    private var runCredit: Int64 = 0        // files this run skipped as already there (not in its counter)
    private var runBytes: Int64 = 0         // this run's own counter
    private var bytesHigh: Int64 = 0
    private var inFlight: RsyncFileRecord?
    private var estimatedBytes: Int64?      // from rsync's percent, without a plan
    private var estimatedFiles: Int?        // from rsync's to-chk/ir-chk, without a plan
    private var foldersSeen = 0
    private var transferComplete = false
    private var rate: RateEstimator

    public init(id: JobID, rateWindow: Double = RateEstimator.defaultWindow) {
        self.id = id
        self.rate = RateEstimator(window: rateWindow)
    }

    // MARK: counters

    /// Files finished (transferred or found in place), over all attempts.
    public var filesDone: Int { transferComplete ? max(finishedPaths.count, filesTotal) : finishedPaths.count }

    /// Files in the job: the plan's count, else rsync's estimate; never below `filesDone`.
    public var filesTotal: Int {
        let total = plannedFiles ?? (transferComplete ? 0 : estimatedFiles ?? 0)
        return max(total, finishedPaths.count)
    }

    /// Bytes done, over all attempts; never falls.
    public var bytesDone: Int64 { transferComplete ? bytesTotal : bytesHigh }

    /// Bytes in the job: the plan's total, else rsync's estimate; never below the bytes done.
    public var bytesTotal: Int64 {
        let total = plannedBytes ?? (transferComplete ? 0 : estimatedBytes ?? 0)
        return max(total, bytesHigh)
    }

    /// True when the totals come from a plan or the transfer is over (exact), false while estimated.
    public var totalsKnown: Bool { plannedBytes != nil || transferComplete }

    /// True when there is any total to go by, exact or estimated from rsync's records.
    public var hasTotals: Bool { totalsKnown || estimatedBytes != nil }

    /// The job's smoothed transfer rate while it transfers; nil otherwise or while unknown.
    public func rate(at now: Double) -> Double? {
        state == .transferring ? rate.rate(at: now) : nil
    }

    // MARK: inputs

    /// Exact totals from the remote listing, known before rsync starts (`--files-from`).
    public mutating func plan(files: Int, bytes: Int64) {
        plannedFiles = max(files, 0)
        plannedBytes = max(bytes, 0)
        refreshPercent()
    }

    /// Moves the job along the graph in `JobState`; returns false (and changes nothing) when illegal.
    /// Entering `transferring` starts a new rsync run (a new attempt); entering `purging` or `done`
    /// means the transfer succeeded, so the counters snap to the totals.
    @discardableResult
    public mutating func transition(to next: JobState, at now: Double) -> Bool {
        guard state.canMove(to: next) else { return false }
        state = next
        switch next {
        case .transferring:
            attempt += 1
            runBase = finishedBytes
            runCredit = 0
            runBytes = 0
            inFlight = nil
            rate.reset()
            rate.add(bytes: bytesHigh, at: now)
        case .purging, .done:
            transferComplete = true
            inFlight = nil
            currentFile = nil
        case .failed, .waitingToRetry, .queued, .listing:
            inFlight = nil
            currentFile = nil
        }
        refreshPercent()
        return true
    }

    /// Applies one parsed rsync line. Returns false when it was ignored: records count only while
    /// the job transfers (feed a run's last output before its exit transition).
    @discardableResult
    public mutating func record(_ record: RsyncRecord, at now: Double) -> Bool {
        switch record {
        case .progress(let progress): return self.record(progress, at: now)
        case .file(let file): return self.record(file, at: now)
        case .message: return false
        }
    }

    /// A `--info=progress2` record: the run's byte counter, and a finished file when it has `xfr#`.
    @discardableResult
    public mutating func record(_ progress: RsyncProgress, at now: Double) -> Bool {
        guard state == .transferring else { return false }
        runBytes = max(runBytes, progress.bytes)
        if progress.finishesFile, let file = inFlight {
            finish(file)
            inFlight = nil
        }
        if plannedBytes == nil { estimateTotals(from: progress) }
        bytesHigh = max(bytesHigh, runBase + runCredit + runBytes)
        rate.add(bytes: bytesHigh, at: now)
        refreshPercent()
        return true
    }

    /// A `--out-format` line: a file starts (transferred) or is settled without data (skipped).
    @discardableResult
    public mutating func record(_ file: RsyncFileRecord, at now: Double) -> Bool {
        guard state == .transferring else { return false }
        guard file.isFile else {
            if file.itemize.dropFirst().first == "d" { foldersSeen += 1 }
            return true
        }
        currentFile = file.path
        if file.transferred {
            inFlight = file
        } else {
            // Attribute-only changes and hard links carry no data in rsync's counter.
            if finish(file) { runCredit += file.size }
            bytesHigh = max(bytesHigh, runBase + runCredit + runBytes)
            rate.add(bytes: bytesHigh, at: now)
        }
        refreshPercent()
        return true
    }

    // MARK: internals

    /// Counts a file done once, however many runs report it. Returns whether it was new.
    @discardableResult
    private mutating func finish(_ file: RsyncFileRecord) -> Bool {
        guard finishedPaths.insert(file.name).inserted else { return false }
        finishedBytes += file.size
        return true
    }

    private mutating func estimateTotals(from progress: RsyncProgress) {
        // rsync truncates its percent; the middle of the 1% bucket is the best guess. Its total
        // covers the whole list, files already in place included, so it is the job's total.
        if progress.percent >= 100, progress.bytes > 0 {
            estimatedBytes = progress.bytes
        } else if progress.percent >= 1 {
            estimatedBytes = Int64(Double(progress.bytes) * 100 / (Double(progress.percent) + 0.5))
        }
        if let listed = progress.checkTotal {
            estimatedFiles = max(listed - foldersSeen, 0)
        }
    }

    private mutating func refreshPercent() {
        if transferComplete {
            percent = 100
            return
        }
        let raw = ProgressPercent.raw(bytesDone: bytesDone, bytesTotal: bytesTotal, filesDone: filesDone,
                                      filesTotal: filesTotal)
        percent = max(percent, ProgressPercent.displayed(raw, complete: false))
    }
}
