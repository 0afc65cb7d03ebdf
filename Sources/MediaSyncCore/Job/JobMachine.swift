/// One job's decisions, one (source, folder) in one cycle: list, plan, transfer, move home, retry, purge.
/// Pure: events come in with the time, actions go out, and the engine's `JobRun` performs them and feeds
/// the results back. It owns the job's one state (`JobState`), and an event that does not fit that state is
/// refused with an `.illegal` action, changing nothing.
///
/// ```
/// queued ─start─> listing ─exited─> (plan) ─planned─> transferring ─exited, swept─> done | purging ─> done
///                    │                                      │
///                    └──── a failure that may pass ─────────┴─> waiting_retry ─retry due, start─> ...
/// ```
///
/// ```swift
/// var machine = JobMachine(JobMachine.Settings(job: id, cycle: 7, stallTimeout: .seconds(300), ...))
/// perform(machine.start(at: now, library: traits))      // [.progress(.state(.listing)), ..., .spawnListing]
/// perform(machine.exited(.listing, exit, at: now))       // [.slot(.listed), .plan(listing)]
/// perform(machine.tick(at: now))                         // [.emit(warning), .stop(.stream(0))] after stall_timeout
/// ```
///
/// Children are named (`JobChild`): the listing, and rsync streams. A job runs one stream today; every
/// child-related event and action carries the child, each child has its own stall watchdog and messages,
/// so that one job can run several streams, each with its share of the plan.
public struct JobMachine: Sendable {
    /// What the machine knows of its job and the config, fixed for the cycle.
    public struct Settings: Sendable {
        public var job: JobID
        public var cycle: Int64
        public var stallTimeout: Duration
        public var retry: RetryPolicy
        /// The folder is purged after a whole sync: its source has `purge` on, `purge.schedule` is
        /// `after_sync`, and the run did not say `--no-purge`.
        public var purgeAfterSync: Bool
        /// For failure lines: the library, the folder's path on the source, how the source is reached
        /// (`ssh gpu@box`), and the source's root.
        public var library: String
        public var sourceFolder: String
        public var transport: String
        public var sourceRoot: String
        /// The source's `streams:` setting, and whether its transport gives big streams connections of their
        /// own (`StreamSplit`).
        public var streams: StreamCount
        public var multiConnection: Bool

        public init(job: JobID, cycle: Int64, stallTimeout: Duration, retry: RetryPolicy, purgeAfterSync: Bool,
                    library: String, sourceFolder: String, transport: String, sourceRoot: String,
                    streams: StreamCount = .fixed(1), multiConnection: Bool = false) {
            self.job = job
            self.cycle = cycle
            self.stallTimeout = stallTimeout
            self.retry = retry
            self.purgeAfterSync = purgeAfterSync
            self.library = library
            self.sourceFolder = sourceFolder
            self.transport = transport
            self.sourceRoot = sourceRoot
            self.streams = streams
            self.multiConnection = multiConnection
        }

        /// The most streams the job may run at once.
        public var mostStreams: Int { StreamSplit.most(streams, multiConnection: multiConnection) }
    }

    /// One running child: its watchdog, how mediasync stopped it, what it complained about.
    struct ChildRun: Sendable {
        let id: JobChild
        var pid: Int32?
        var watchdog: StallWatchdog
        var stalled = false
        /// Its complaints, for the failure's line; those that only say what the library's file system cannot
        /// do (fusefat: no permissions) are counted instead.
        var messages: [RsyncMessage] = []
        var harmless = 0
        /// Set once it exited; a stream then sweeps its files home before the exit is judged.
        var exit: ChildExit?
        var sweep: [Int] = []
        var swept = 0
        /// Files the stream announced (plan indexes), in order, not found home yet (`Announced`).
        var announced: [Announced] = []
        var lastTransferNumber = 0
        /// A stream's share of the plan: the plan's indexes of its files, in name order.
        var share: [Int] = []
        /// Where in `share` the next file rsync names is expected (`plannedIndex(of:child:)`).
        var cursor = 0

        init(id: JobChild, watchdog: StallWatchdog) {
            self.id = id
            self.watchdog = watchdog
        }

        var isRunning: Bool { pid != nil && exit == nil }
    }

    /// A file a stream announced: `finished` once rsync moved on from it (announced the next one, or counted
    /// it with `xfr#`), and how many ticks found it not ready since.
    struct Announced: Sendable {
        var index: Int
        var finished = false
        var misses = 0
    }

    /// Ticks a finished file is looked at before it is left to the sweep: rsync's receiver renames a file a
    /// moment after its sender counts it, later on a busy disk.
    static let looksBeforeSweep = 10

    public let settings: Settings
    public internal(set) var state: JobState = .queued
    /// Attempts started (1 on the first, 2 on the first retry...).
    public internal(set) var attempts = 0
    /// The listing is in and planned: a retry goes straight to the transfer.
    public internal(set) var hasListed = false
    public internal(set) var filesHome = 0
    public internal(set) var bytesHome: Int64 = 0
    /// The line that says why the job failed.
    public internal(set) var errorLine: String?
    /// Said in `job_finished` and by `status` about a job that succeeded, e.g. "not created yet".
    public internal(set) var note: String?

    var traits = LibraryTraits.posix
    /// Where the job's streams write, chosen with the plan (`Placement.choose`).
    public internal(set) var placement = Placement.staging
    var startedAt: Double = 0
    var cancelled = false
    var lastExitCode: Int32?
    /// The last failed attempt's line, said again when the retry cannot be armed.
    var lastFailure: String?
    /// The sync's exit code, said in `job_finished` once the purge after it is over.
    var syncExitCode: Int32?
    var children: [ChildRun] = []
    var listingOutput = RemoteListingReader()
    /// Planned files not home yet (`PendingFiles`: by their index in `planned`).
    var pending = PendingFiles()
    /// The planned transfers, by the index `pending` holds (a dictionary of whole transfers cost twice the
    /// memory: its buckets hold every value inline, at a load factor of at most 3/4).
    var planned: [SyncPlan.Transfer] = []
    /// The most rsync streams the job ran at once (`job_finished`'s `streams`).
    var mostStreamsRun = 0
    /// Set when a stream of several could not start: the others are stopped, and the job fails with it.
    var abortLine: String?
    /// How the attempt's streams that ended so far ended (a job's attempt is judged when its last one ends).
    var streamEnds = StreamEnds()

    public init(_ settings: Settings) {
        self.settings = settings
    }

    /// The job ended well (its purge, if any, is over too).
    public var succeeded: Bool { state == .done }
    /// Planned files not home yet.
    public var pendingCount: Int { pending.count }
    /// The children started and not exited yet.
    public var runningChildren: [JobChild] { children.filter(\.isRunning).map(\.id) }
    /// The rsync streams of this attempt that have not exited: each counts against `concurrency`.
    public var streamsRunning: Int { children.filter { $0.id != .listing && $0.exit == nil }.count }

    // MARK: - The job's life

    /// The cycle gave the job a slot: it lists when it has no plan yet, else transfers. `traits` is the
    /// library's file system as probed for this cycle.
    public mutating func start(at now: Double, library traits: LibraryTraits) -> [JobAction] {
        var out: [JobAction] = []
        guard state == .queued || state == .waitingToRetry else {
            out.append(illegal("start"))
            return out
        }
        self.traits = traits
        if attempts == 0 {
            startedAt = now
            out.append(.emit(.jobStarted(cycle: settings.cycle, job: eventJob, streams: settings.mostStreams)))
        }
        attempts += 1
        if hasListed {
            startTransfer(at: now, &out)
        } else {
            startListing(at: now, &out)
        }
        return out
    }

    /// Ends the job before it starts, e.g. when the library is not the library: `reason` is its error.
    public mutating func refuseToStart(_ reason: String, at now: Double) -> [JobAction] {
        var out: [JobAction] = []
        guard state == .queued, attempts == 0 else {
            out.append(illegal("refuse to start"))
            return out
        }
        startedAt = now
        attempts = 1
        out.append(.emit(.jobStarted(cycle: settings.cycle, job: eventJob, streams: settings.mostStreams)))
        finish(failedWith: "\(settings.job): \(reason)", exitCode: nil, at: now, &out)
        return out
    }

    /// Stops the job: a running child or purge is stopped (its end then ends the job), a job with nothing
    /// running ends at once. A finished job stays as it is.
    public mutating func cancel(at now: Double) -> [JobAction] {
        var out: [JobAction] = []
        guard !state.isFinal else { return out }
        cancelled = true
        if state == .purging {
            out.append(.stopPurge)
            return out
        }
        let running = runningChildren
        if running.isEmpty {
            if state == .waitingToRetry { out.append(.disarm(.retry)) }
            finish(failedWith: "\(settings.job): cancelled", exitCode: lastExitCode, at: now, &out)
        } else {
            for child in running { out.append(.stop(child)) }
        }
        return out
    }

    /// The cycle's tick (every 100 ms): the files streams finished since the last one are looked at
    /// (`lookAtFinished`), and the watchdog stops a child that showed no progress for `stall_timeout` (from
    /// exactly then on); its exit then retries the job.
    public mutating func tick(at now: Double) -> [JobAction] {
        var out: [JobAction] = []
        guard state == .listing || state == .transferring, !cancelled else { return out }
        for index in children.indices where children[index].isRunning && !children[index].announced.isEmpty {
            lookAtFinished(index, &out)
        }
        for index in children.indices where children[index].isRunning && !children[index].stalled {
            guard children[index].watchdog.isStalled(at: now) else { continue }
            children[index].stalled = true
            let limit = Int(settings.stallTimeout.components.seconds)
            log("warning", "\(settings.job): no progress for \(limit)s, stopping rsync (pid \(children[index].pid ?? 0)) to retry",
                &out)
            out.append(.stop(children[index].id))
        }
        return out
    }

    /// The wait before a retry is over: the job wants a slot again.
    public mutating func retryDue(at now: Double) -> [JobAction] {
        guard state == .waitingToRetry, !cancelled else { return [illegal("retry due")] }
        return [.slot(.wanted)]
    }

    /// The executor could not arm a timer: the wait it was for cannot end, so the job fails with the line
    /// that made it wait.
    public mutating func armFailed(_ timer: JobTimer, at now: Double) -> [JobAction] {
        var out: [JobAction] = []
        guard state == .waitingToRetry else { return [illegal("timer failure")] }
        finish(failedWith: lastFailure ?? "\(settings.job): cannot wait for the retry", exitCode: lastExitCode, at: now, &out)
        return out
    }

    /// The purge after the sync ended (whatever it says: the sync is done; its own result is told apart).
    public mutating func purgeFinished(at now: Double) -> [JobAction] {
        var out: [JobAction] = []
        guard state == .purging else { return [illegal("purge finished")] }
        guard move(to: .done, &out) else { return out }
        end(.done, exitCode: syncExitCode, error: nil, at: now, &out)
        return out
    }

    /// Something the executor was asked to do could not be done (start a child, make the staging folder, read
    /// the manifest): the job fails with `problem` (prefixed with the job's name).
    public mutating func failed(_ problem: String, at now: Double) -> [JobAction] {
        var out: [JobAction] = []
        guard !state.isFinal else { return [illegal("failure (\(problem))")] }
        if let index = children.firstIndex(where: { $0.id == .listing && $0.exit == nil }) {
            // A listing that never ran ended too: its source's other jobs must not wait for it.
            children.remove(at: index)
            hasListed = false
            out.append(.slot(.listed))
        }
        finish(failedWith: "\(settings.job): \(problem)", exitCode: nil, at: now, &out)
        return out
    }

    /// A child started.
    public mutating func spawned(_ child: JobChild, pid: Int32, at now: Double) -> [JobAction] {
        guard let index = childIndex(child), children[index].pid == nil else { return [illegal("\(child) started")] }
        children[index].pid = pid
        // Another stream of this attempt could not start: this one is stopped too, and the job then fails.
        return abortLine == nil ? [] : [.stop(child)]
    }

    /// A child could not be started (or its staging folder made). The listing's, or a job's only stream's,
    /// failure ends the job (`failed`); when other streams of the attempt run, they are stopped first and the
    /// job fails with this line once they ended.
    public mutating func spawnFailed(_ child: JobChild, _ problem: String, at now: Double) -> [JobAction] {
        guard child != .listing, let index = childIndex(child), children[index].pid == nil else { return failed(problem, at: now) }
        children.remove(at: index)
        let others = children.filter { $0.id != .listing }
        guard !others.isEmpty, !state.isFinal else { return failed(problem, at: now) }
        var out: [JobAction] = []
        if abortLine == nil { abortLine = "\(settings.job): \(problem)" }
        for other in others where other.isRunning { out.append(.stop(other.id)) }
        return out
    }

    /// The executor could not hand a child its input: kept as its complaint, and the child is stopped (a
    /// child that waits for input would otherwise hold the job).
    public mutating func inputFailed(_ child: JobChild, _ text: String, at now: Double) -> [JobAction] {
        guard let index = childIndex(child), children[index].isRunning else { return [] }
        children[index].messages.append(RsyncMessage(severity: .error, origin: .rsync, text: text))
        return [.stop(child)]
    }

    /// A child exited (after its last output was fed as records). The listing's exit decides the plan; a
    /// stream's first sweeps its files home (one `moveHome` at a time), then decides.
    public mutating func exited(_ child: JobChild, _ exit: ChildExit, at now: Double) -> [JobAction] {
        var out: [JobAction] = []
        guard let index = childIndex(child), children[index].exit == nil else {
            out.append(illegal("\(child) exited"))
            return out
        }
        children[index].exit = exit
        switch child {
        case .listing:
            listingExited(children.remove(at: index), at: now, &out)
        case .stream:
            // Every file of its share rsync completed is in staging under its own name: move them all, in name
            // order. Only its own share: another stream's files may still be on their way.
            children[index].sweep = children[index].share.filter { pending.contains($0) }
            if streamsRunning > 0 { out.append(.slot(.streamEnded)) }
            sweepNext(index, at: now, &out)
        }
        return out
    }

    // MARK: - Helpers

    /// Moves the job along `JobState`'s graph and tells the progress model; an illegal move is refused.
    mutating func move(to next: JobState, _ out: inout [JobAction]) -> Bool {
        guard state.canMove(to: next) else {
            out.append(illegal("move to \(next.rawValue)"))
            return false
        }
        state = next
        out.append(.progress(.state(next)))
        return true
    }

    func illegal(_ event: String) -> JobAction {
        .illegal(IllegalMove(job: settings.job, event: event, state: state))
    }

    func log(_ level: String, _ message: String, _ out: inout [JobAction]) {
        out.append(.emit(.log(level: level, message: message, cycle: settings.cycle, job: settings.job.description)))
    }

    var eventJob: EventJob { EventJob(source: settings.job.source, folder: settings.job.folder) }

    func childIndex(_ child: JobChild) -> Int? {
        children.firstIndex { $0.id == child }
    }

    /// How mediasync itself ended the child's attempt, when it did.
    func stopReason(_ run: ChildRun) -> JobFailure.Stop? {
        cancelled ? .cancelled : run.stalled ? .stalled : nil
    }

    /// The plan's indexes of the files not home yet, in name order (rsync's list and the sweep go in it).
    func pendingIndices() -> [Int] {
        pending.indices.sorted { PathBytes.precedes(planned[$0].remotePath, planned[$1].remotePath) }
    }

    /// A fresh child with its watchdog started now.
    func newChild(_ id: JobChild, at now: Double) -> ChildRun {
        ChildRun(id: id, watchdog: StallWatchdog(limit: settings.stallTimeout, startedAt: now))
    }
}
