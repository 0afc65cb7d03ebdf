/// One job's counters, fed by its state changes, its plan and its streams' rsync records (pure, manual time).
///
/// A job runs one or more rsync children at once (streams, numbered from 0), each with its own share of the
/// planned names; each stream's `--info=progress2` records carry that stream's own byte counter, which
/// restarts at 0 when the stream is started again. The job's bytes done are the sizes of every file
/// finished so far (by any stream, in any run, counted once) plus, for each stream, the part of its
/// counter that is not yet a finished file (the file in flight), held at their high-water mark: a stream
/// that fails and restarts, or a whole retry, never makes them fall, and the resent part of a half-done
/// file does not count twice. A stream's new run is told apart by its counter (or its `xfr#`) going
/// down; entering `transferring` starts every stream afresh.
///
/// rsync prints a file's `--out-format` line when the file *starts*, and a progress record with
/// `xfr#` when it finishes; a file counts as done only then.
///
/// Without a plan the totals are estimates from rsync's own records (its percent is truncated to
/// an integer and its totals grow under incremental recursion), summed over the streams; with a plan
/// the plan's exact totals are the job's. The displayed percent is held at its high-water mark either way.
public struct JobProgress: Sendable {
    public let id: JobID
    public private(set) var state: JobState = .queued
    /// Number of rsync runs started for this job (1 on the first transfer, 2 on the first retry...).
    public private(set) var attempt = 0
    /// The plan's totals, when the sync engine gave one (`plan(files:bytes:)`).
    public private(set) var plannedFiles: Int?
    public private(set) var plannedBytes: Int64?
    /// The file rsync is working on, or the last one it worked on in this run (its path in the folder).
    public var currentFile: String? { currentName.map { String(decoding: $0, as: UTF8.self) } }
    /// `currentFile`'s bytes: a String is made only when a snapshot asks, not for each file.
    private var currentName: [UInt8]?
    /// The displayed percent (0...100, one decimal, floored): never falls, 100 only once transferred.
    public private(set) var percent: Double = 0

    /// By `PathKey`, which hashes a path's bytes in one go (a `[UInt8]` hashes them one at a time).
    private var finishedPaths: Set<PathKey> = []
    private var finishedBytes: Int64 = 0    // sizes of finished files, over all streams and runs
    private var streams: [Int: StreamRun] = [:]   // the current run of each stream of this attempt
    private var bytesHigh: Int64 = 0
    private var transferComplete = false
    private var rate: RateEstimator

    /// The current rsync run of one stream.
    private struct StreamRun {
        var bytes: Int64 = 0              // its progress2 counter
        var finishedInRun: Int64 = 0      // sizes of the files it transferred to the end (in its counter)
        var lastTransferNumber = 0
        var inFlight: RsyncFileRecord?
        var estimatedBytes: Int64?        // from rsync's percent, without a plan
        var estimatedFiles: Int?          // from rsync's to-chk/ir-chk, without a plan
        var foldersSeen = 0

        /// The part of its counter that is not a finished file yet.
        var unfinished: Int64 { max(bytes - finishedInRun, 0) }
    }

    /// How many streams reported in this attempt (1 before any did): the slots the job holds.
    public var streamCount: Int { max(streams.count, 1) }

    // Without a plan: the streams' estimates summed, else those of the last runs (kept over a retry).
    private var heldEstimatedBytes: Int64?
    private var heldEstimatedFiles: Int?

    private var estimatedBytes: Int64? {
        var sum: Int64 = 0, any = false
        for run in streams.values { if let bytes = run.estimatedBytes { sum += bytes; any = true } }
        return any ? sum : heldEstimatedBytes
    }

    private var estimatedFiles: Int? {
        var sum = 0, any = false
        for run in streams.values { if let files = run.estimatedFiles { sum += files; any = true } }
        return any ? sum : heldEstimatedFiles
    }

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

    /// The figures the cycle's overall view sums (`CycleProgress`), read in one go.
    struct Tally: Sendable {
        var state: JobState
        var bytesDone: Int64
        var bytesTotal: Int64
        var filesDone: Int
        var filesTotal: Int
        var hasTotals: Bool
        /// The rate at the instant asked (nil without one).
        var rate: Double?
    }

    /// This job's figures; its rate at `now` (none without).
    func tally(at now: Double?) -> Tally {
        Tally(state: state, bytesDone: bytesDone, bytesTotal: bytesTotal, filesDone: filesDone, filesTotal: filesTotal,
              hasTotals: hasTotals, rate: now.flatMap { rate(at: $0) })
    }

    /// How long after its last record a job's bytes are taken to keep coming at its rate (rsync writes a
    /// progress record at least about once a second while a file is in flight, and one per file).
    public static let extrapolationLimit: Double = 2

    /// What the ETA goes by at `now`: the bytes left and the rate they leave at; nil where unknown.
    ///
    /// rsync's records come in bursts (a file's end, about once a second), and its counter stands still
    /// in between. Reading the rate at `now` would count each gap as a slowdown and the ETA would jump up
    /// between records (a sawtooth up to 20% high around the halfway point of real runs). Instead the rate is the one measured up to the
    /// last record, and the bytes left shrink at that rate for up to `extrapolationLimit` seconds after it;
    /// past that the estimate holds still, and once a whole rate window passes without a record the rate
    /// is 0: the job is stalled and its end cannot be told.
    public func outlook(at now: Double) -> (remaining: Int64?, rate: Double?) {
        let remaining = hasTotals ? max(bytesTotal - bytesDone, 0) : nil
        guard state == .transferring, let last = rate.lastSampleTime, let measured = rate.rate(at: last) else {
            return (remaining, nil)
        }
        let gap = max(now - last, 0)
        if gap >= rate.window { return (remaining, 0) }
        guard let remaining else { return (nil, measured) }
        let flowed = measured * min(gap, Self.extrapolationLimit)
        return (max(remaining - Int64(flowed), 0), measured)
    }

    // MARK: inputs

    /// Exact totals from the remote listing, known before rsync starts (`--files-from`).
    public mutating func plan(files: Int, bytes: Int64) {
        plannedFiles = max(files, 0)
        plannedBytes = max(bytes, 0)
        finishedPaths.reserveCapacity(finishedPaths.count + max(files, 0))
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
            endRuns()
            // The rate starts at the first record, not here: rsync's start-up (an ssh login, its file
            // list) is over by then and would only make the rate of what is left look slow.
            rate.reset()
        case .purging, .done:
            transferComplete = true
            endRuns()
            currentName = nil
        case .failed, .waitingToRetry, .queued, .listing:
            endRuns()
            currentName = nil
        }
        refreshPercent()
        return true
    }

    /// Applies one parsed rsync line of stream `stream` (0 for a job of one stream). Returns false when it
    /// was ignored: records count only while the job transfers (feed a run's last output before its exit
    /// transition).
    @discardableResult
    public mutating func record(_ record: RsyncRecord, stream: Int = 0, at now: Double) -> Bool {
        switch record {
        case .progress(let progress): return self.record(progress, stream: stream, at: now)
        case .file(let file): return self.record(file, stream: stream, at: now)
        case .message: return false
        }
    }

    /// A `--info=progress2` record: the stream's byte counter, and a finished file when it has `xfr#`.
    @discardableResult
    public mutating func record(_ progress: RsyncProgress, stream: Int = 0, at now: Double) -> Bool {
        guard state == .transferring else { return false }
        var run = streams[stream] ?? StreamRun()
        // A counter (or a file number) that went down is a new rsync run of this stream: its retry. The file
        // announced last stays in flight: the new run names each file before it finishes it.
        if progress.bytes < run.bytes || (progress.transferNumber ?? .max) < run.lastTransferNumber {
            run = StreamRun(inFlight: run.inFlight, foldersSeen: run.foldersSeen)
        }
        run.bytes = max(run.bytes, progress.bytes)
        if let number = progress.transferNumber { run.lastTransferNumber = max(run.lastTransferNumber, number) }
        if progress.finishesFile, let file = run.inFlight {
            finish(file)
            run.finishedInRun += file.size
            run.inFlight = nil
        }
        if plannedBytes == nil { Self.estimateTotals(of: &run, from: progress) }
        streams[stream] = run
        raiseBytes(at: now)
        refreshPercent()
        return true
    }

    /// A `--out-format` line: a file starts (transferred) or is settled without data (skipped).
    @discardableResult
    public mutating func record(_ file: RsyncFileRecord, stream: Int = 0, at now: Double) -> Bool {
        guard state == .transferring else { return false }
        var run = streams[stream] ?? StreamRun()
        defer { streams[stream] = run }
        guard file.isFile else {
            if file.itemize.utf8.dropFirst().first == UInt8(ascii: "d") { run.foldersSeen += 1 }
            return true
        }
        currentName = file.name
        if file.transferred {
            run.inFlight = file
        } else {
            // Attribute-only changes and hard links carry no data in rsync's counter.
            finish(file)
            streams[stream] = run
            raiseBytes(at: now)
        }
        refreshPercent()
        return true
    }

    // MARK: internals

    /// Counts a file done once, however many runs report it. Returns whether it was new.
    @discardableResult
    private mutating func finish(_ file: RsyncFileRecord) -> Bool {
        guard finishedPaths.insert(PathKey(file.name)).inserted else { return false }
        finishedBytes += file.size
        return true
    }

    /// Forgets the streams' runs (their children are gone), keeping what they estimated of the totals.
    private mutating func endRuns() {
        heldEstimatedBytes = estimatedBytes
        heldEstimatedFiles = estimatedFiles
        streams = [:]
    }

    /// Finished files plus each stream's file in flight, held at the high-water mark.
    private mutating func raiseBytes(at now: Double) {
        var bytes = finishedBytes
        for run in streams.values { bytes += run.unfinished }
        bytesHigh = max(bytesHigh, bytes)
        rate.add(bytes: bytesHigh, at: now)
    }

    private static func estimateTotals(of run: inout StreamRun, from progress: RsyncProgress) {
        // rsync truncates its percent; the middle of the 1% bucket is the best guess. Its total
        // covers the stream's whole list, files already in place included, so it is the stream's total.
        if progress.percent >= 100, progress.bytes > 0 {
            run.estimatedBytes = progress.bytes
        } else if progress.percent >= 1 {
            run.estimatedBytes = Int64(Double(progress.bytes) * 100 / (Double(progress.percent) + 0.5))
        }
        if let listed = progress.checkTotal {
            run.estimatedFiles = max(listed - run.foldersSeen, 0)
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
