import Foundation
import MediaSyncCore
import UV

/// One sync cycle on the loop: every (source, folder) job listed, planned, transferred by its own
/// rsync child (at most `concurrency` at once), recorded in the manifest, and told as events.
///
/// ```swift
/// let cycle = SyncCycle(loop: loop, config: config, manifest: store, cycleID: 1, options: .init()) { body in
///     bus.publish(body)
/// }
/// cycle.start { result in print(result.jobsFailed) }
/// loop.run()
/// ```
public final class SyncCycle {
    let loop: Loop
    let config: Config
    let manifest: ManifestStore
    let cycleID: Int64
    let options: SyncOptions
    private let emitter: (EventBody) -> Void
    /// What the jobs share and only read: the loop, the config, the manifest, the writer, the transports.
    let context: SyncContext
    /// The cycle's progress model; jobs' changes come in through `JobHost.progressed`, the tick reads it.
    private(set) var progress: CycleProgress

    private var jobs: [JobRun] = []
    private var ready: [JobRun] = []
    /// ssh sources whose first connection is being made: their other jobs wait for it, so that
    /// they share its connection instead of each paying a handshake.
    private var warming: Set<String> = []
    /// Jobs waiting for their share of rsync streams (by index in `jobs`), and where each answer goes.
    private var claims = StreamClaims()
    private var claimAnswers: [Int: (Int) -> Void] = [:]
    private var tick: UV.Timer?
    /// Sends a `progress` at an instant: a held-back change's (`ProgressFeed.changed`), or the cycle's last
    /// (`ProgressFeed.finalAt`); and the instant it is armed for.
    private var progressTimer: UV.Timer?
    private var progressTimerDue: Double?
    /// The connections to the sources: lanes of big streams, opened ahead, closed at the end.
    private lazy var connections = SourceConnections(loop: loop, context: context)
    /// When a `progress` event goes out and which jobs it carries (MediaSyncCore/Progress/ProgressFeed).
    private var feed = ProgressFeed()
    /// A record of the read being handled changed the progress: told when the read is in.
    private var recordNews = false
    /// Files home whose flush has not started; `flusher` makes them durable off the loop.
    private var batch: [(JobRun, SyncPlan.Transfer, [UInt8])] = []
    private lazy var flusher = LibraryFlusher(loop: loop)
    private var onFinished: ((CycleResult) -> Void)?
    private var startedAt: Double = 0
    private var closing = false
    private var cancelled = false
    /// The ingest door: when set, every `file_synced`, `file_purged` and `cycle_finished` is stored in its
    /// outbox in the transaction that records it, and the purge asks it to verify (`verify_before_purge`).
    public var ingest: IngestDoor? {
        get { context.ingest }
        set { context.ingest = newValue }
    }

    public init(loop: Loop, config: Config, manifest: ManifestStore, cycleID: Int64, options: SyncOptions,
                emit: @escaping (EventBody) -> Void) {
        self.loop = loop
        self.config = config
        self.manifest = manifest
        self.cycleID = cycleID
        self.options = options
        self.emitter = emit
        context = SyncContext(loop: loop, config: config, manifest: manifest, cycleID: cycleID, options: options, emit: emit)
        let selected = config.jobs.filter { options.sources?.contains($0.source.name) ?? true }
        progress = CycleProgress(jobs: selected.map { JobID(source: $0.source.name, folder: $0.folder) },
                                 concurrency: config.concurrency)
        jobs = selected.map { JobRun(job: $0, host: self, context: context) }
    }

    /// Seconds on the loop's monotonic clock.
    var now: Double { Double(loop.now) / 1000 }

    /// Starts every job; `onFinished` runs once all of them are done or failed.
    public func start(onFinished: @escaping (CycleResult) -> Void) {
        self.onFinished = onFinished
        startedAt = now
        emit(.cycleStarted(cycle: cycleID, jobs: jobs.map(\.eventJob)))
        do {
            let timer = try UV.Timer(loop: loop)
            timer.start(after: 100, repeat: 100) { [unowned self] in onTick() }
            tick = timer
        } catch {
            emit(.log(level: "error", message: "cannot start the cycle's timer: \(error)", cycle: cycleID, job: nil))
        }
        switch LibraryIdentity.check(library: config.library, stateDirectory: config.stateDirectory, manifest: manifest) {
        case let .ready(note):
            if let note { log("info", note) }
        case let .refused(reason):
            // Not a byte is written to a library that is not the library; every job says why. On the next
            // turn of the loop, not inside start(): whoever started the cycle (a trigger's reply) speaks first.
            log("error", reason)
            guard let timer = try? UV.Timer(loop: loop) else {
                for job in jobs { job.refuse(reason) }
                return finishIfDone()
            }
            // Strong: the last job's end can end the cycle and let its owner drop it inside this callback.
            timer.start(after: 0) { [self] in
                timer.close()
                for job in jobs { job.refuse(reason) }
                finishIfDone()
            }
            return
        }
        context.writer = LibraryWriter(libraryRoot: config.library, traits: LibraryProbe.probe(library: config.library))
        stopOrphanedTransfers()
        ready = jobs
        schedule()
        finishIfDone()
    }

    /// Kills what an earlier mediasync left writing into this library (`OrphanedTransfers`) before a job
    /// plans against it.
    private func stopOrphanedTransfers() {
        let orphans = OrphanedTransfers.find(markers: OrphanedTransfers.markers(library: config.library))
        guard !orphans.isEmpty else { return }
        let left = OrphanedTransfers.stop(orphans)
        let pids = orphans.map(String.init).joined(separator: ", ")
        log("warning", "stopped \(ViewFormat.count(orphans.count, "rsync process", plural: "rsync processes")) an earlier mediasync left writing into the library (pid \(pids))")
        if !left.isEmpty {
            log("error", "pid \(left.map(String.init).joined(separator: ", ")) did not stop; files it still writes may appear beside this cycle's as name~2")
        }
    }

    /// Stops every child (SIGTERM to its group, SIGKILL after the grace period); jobs end as failed.
    public func cancel() {
        guard !cancelled else { return }
        cancelled = true
        ready.removeAll()
        for job in jobs { job.cancel() }
        finishIfDone()
    }

    // MARK: - Scheduling

    /// The slots of `concurrency` taken: one per job listing or sweeping, one per running rsync stream.
    private var runningCount: Int { jobs.reduce(0) { $0 + $1.slotsHeld } }

    private func schedule() {
        guard !cancelled else { return }
        var index = 0
        while runningCount < config.concurrency && index < ready.count {
            let job = ready[index]
            let source = job.job.source
            if source.transport.sharesConnection, warming.contains(source.name) {
                index += 1
                continue
            }
            ready.remove(at: index)
            if source.transport.sharesConnection, !job.hasListed, !jobs.contains(where: { $0.source == source.name && $0.hasListed }) {
                warming.insert(source.name)
                connections.firstListing(of: source, hint: options.laneHints?[source.name])
            }
            job.run()
        }
    }

    /// Something a user sees changed: published when the feed says (a few ms later, to gather the rest of
    /// the moment's records, or at the end of the throttle's spacing), by a timer armed for that instant.
    private func markProgress() {
        let t = now
        guard !closing else { return }
        let due = feed.changed(at: t)
        if due <= t { return emitProgress(at: t) }
        guard progressTimerDue != due else { return }
        // Without a timer the tick sends it.
        _ = armProgress(at: due) { [unowned self] in
            let t = now
            if !closing, feed.isDue(at: t) { emitProgress(at: t) }
        }
    }

    /// Runs `send` at `due` on the cycle's one progress timer (made on first use), replacing what it was armed
    /// for; false when no timer could be made.
    private func armProgress(at due: Double, _ send: @escaping () -> Void) -> Bool {
        if progressTimer == nil { progressTimer = try? UV.Timer(loop: loop) }
        guard let timer = progressTimer else { return false }
        progressTimerDue = due
        timer.start(after: UInt64(((due - now) * 1000).rounded(.up))) { [unowned self] in
            progressTimerDue = nil
            send()
        }
        return true
    }

    func log(_ level: String, _ message: String) {
        emit(.log(level: level, message: message, cycle: cycleID, job: nil))
    }

    // MARK: - Batches, ticks, the end

    /// Makes every file home so far durable, recorded and told before it returns: where order matters (a job's
    /// `file_synced` before its `job_finished`, the manifest whole before a purge reads it). A flush running on
    /// the flusher's thread is waited for and recorded first.
    private func flushBatch() {
        flusher.join()
        guard !batch.isEmpty else { return }
        let items = batch
        batch.removeAll()
        do {
            try context.writer.flush()
        } catch {
            log("error", "cannot flush the library to disk: \(error)")
        }
        record(items)
    }

    /// The tick's flush: the batch's `syncfs` runs on the flusher's thread while the loop goes on reading the
    /// children; the batch is recorded and told when it returns. While one runs, files home wait for the next.
    private func flushBatchOffLoop() {
        guard !batch.isEmpty, !flusher.isFlushing else { return }
        let items = batch
        batch.removeAll()
        let started = flusher.start(context.writer) { [unowned self] error in
            if let error { log("error", "cannot flush the library to disk: \(error)") }
            record(items)
        }
        if !started {
            batch = items + batch
            flushBatch()
        }
    }

    /// Records a durable batch in one manifest transaction, then tells it.
    private func record(_ items: [(JobRun, SyncPlan.Transfer, [UInt8])]) {
        let nowMs = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        let syncedAt = nowMs / 1000
        let rows = items.map { job, transfer, path in
            ManifestRow(source: job.source, folder: job.job.folder, remotePath: transfer.remotePath,
                        size: transfer.size, mtime: transfer.mtime, libraryPath: path, syncedAt: syncedAt)
        }
        let library = Array(config.library.utf8)
        let bodies = items.map { job, transfer, path in
            EventBody.fileSynced(cycle: cycleID, FileSynced(
                job: job.eventJob, path: transfer.remotePath, libraryPath: LibraryPaths.join(library, path),
                size: transfer.size, mtime: transfer.mtime, renamedFrom: transfer.renamedFrom.map { LibraryPaths.join(library, $0) }))
        }
        let outbox = ingest == nil ? [] : bodies.compactMap { OutboxEntry.make($0, timeMs: nowMs) }
        do {
            let appended = try manifest.record(rows, outbox: outbox, outboxLimit: config.ingest?.outboxLimit ?? 0)
            ingest?.appended(appended)
        } catch {
            // The files are in the library; the next cycle adopts them (same name, size and mtime).
            log("error", "cannot record \(rows.count) files in the manifest: \(error)")
        }
        for body in bodies { emit(body) }
    }

    private func onTick() {
        let t = now
        connections.tick(at: t, jobs: jobs)
        settleClaims()
        // The jobs look at the files their streams finished (JobMachine.tick); those home start their flush at once.
        for job in jobs { job.tick(at: t) }
        flushBatchOffLoop()
        // Once closing, the last progress is finishIfDone's to send.
        if !closing, feed.isDue(at: t) { emitProgress(at: t) }
    }

    private func emitProgress(at t: Double) {
        emit(.progress(cycle: cycleID, feed.event(from: progress.snapshot(at: t), at: t)))
    }

    private func finishIfDone() {
        guard !closing, jobs.allSatisfy(\.isFinished) else { return }
        closing = true
        flushBatch()
        // The last state is always sent, keeping the 10-a-second spacing: at most 100 ms later.
        let due = options.paceLastProgress ? feed.finalAt(now) : now
        // On the same timer as a held-back change: the last event replaces it.
        let paced = due > now && armProgress(at: due) { [unowned self] in
            emitProgress(at: max(now, due))
            closeAndFinish()
        }
        if !paced {
            emitProgress(at: now)
            closeAndFinish()
        }
    }

    private func closeAndFinish() {
        closeSharedConnections { [self] in
            flusher.close()
            tick?.close()
            tick = nil
            progressTimer?.close()
            progressTimer = nil
            let done = jobs.filter { $0.succeeded }.count
            let purges = jobs.compactMap(\.purgeResult)
            let result = CycleResult(jobsDone: done, jobsFailed: jobs.count - done,
                                     files: jobs.reduce(0) { $0 + $1.filesHome },
                                     bytes: jobs.reduce(0) { $0 + $1.bytesHome },
                                     seconds: now - startedAt,
                                     errors: jobs.compactMap(\.errorLine) + purges.compactMap(\.error),
                                     purgesFailed: purges.filter { $0.error != nil }.count,
                                     filesPurged: purges.reduce(0) { $0 + $1.deleted },
                                     lanesUsed: lanesUsed())
            let finished = EventBody.cycleFinished(cycle: cycleID, CycleFinished(
                jobsDone: result.jobsDone, jobsFailed: result.jobsFailed, files: result.files, bytes: result.bytes,
                seconds: result.seconds))
            if let ingest, let entry = OutboxEntry.make(finished, timeMs: Int64((Date().timeIntervalSince1970 * 1000).rounded())) {
                do {
                    ingest.appended(try manifest.appendOutbox([entry], limit: config.ingest?.outboxLimit ?? 0))
                } catch {
                    log("error", "cannot store cycle_finished for the ingest: \(error)")
                }
            }
            emit(finished)
            let callback = onFinished
            onFinished = nil
            callback?(result)
        }
    }

    /// Per source that ran, the most lanes its big streams held at once (0 when none did).
    private func lanesUsed() -> [String: Int] {
        let most = connections.mostLanes
        var used: [String: Int] = [:]
        for job in jobs where job.attempts > 0 { used[job.source] = most[job.source] ?? 0 }
        return used
    }

    /// Ends the ssh connections this cycle shared or opened, so no ssh process outlives it.
    private func closeSharedConnections(then done: @escaping () -> Void) {
        var sources: [Source] = []
        // Every source a job ever reached for: a listing that failed after ssh connected (a missing
        // folder, an unreadable listing) still left a master behind.
        for job in jobs where job.attempts > 0 && !sources.contains(job.job.source) { sources.append(job.job.source) }
        connections.closeAll(sources, then: done)
    }
}

// MARK: - What jobs ask of the cycle

extension SyncCycle: JobHost {
    func emit(_ body: EventBody) {
        emitter(body)
    }

    func progressed(_ job: JobRun, _ change: JobProgressChange) {
        switch change {
        case let .state(state):
            // The job's machine moved first, along the same graph: a refusal here is a bug, said aloud.
            if !progress.transition(job.id, to: state, at: now) {
                log("error", "\(job.id): the progress model refused the move to \(state.rawValue) (a bug in mediasync)")
            }
        case let .plan(files, bytes):
            progress.plan(job.id, files: files, bytes: bytes, at: now)
        case let .record(record, stream):
            // Told once the whole read is in (`outputRead`): rsync often opens a burst with an out-of-date
            // mid-file line, and an event between two records of one read would show it.
            if progress.record(record, for: job.id, stream: stream, at: now) { recordNews = true }
        case .publish:
            markProgress()
        }
    }

    /// A file is in the library for good once the batch it is in is flushed.
    func fileHome(_ job: JobRun, _ transfer: SyncPlan.Transfer, libraryPath: [UInt8]) {
        batch.append((job, transfer, libraryPath))
        // The 100 ms tick flushes; this cap only bounds a batch when files arrive faster than that
        // (each flush is a syncfs and a transaction, so 500-file batches made small files pay several a tick).
        if batch.count >= 5_000 { flushBatchOffLoop() }
    }

    func flushFilesHome() {
        flushBatch()
    }

    func outputRead(_ job: JobRun) {
        guard recordNews else { return }
        recordNews = false
        markProgress()
    }

    func claimStreams(_ job: JobRun, wanted count: Int, bytes: Int64, granted: @escaping (Int) -> Void) {
        // `auto` runs as many as the link's round trip asks for; where the CPU binds (a near link), two, so
        // that a second ssh connection ciphers on another core (`StreamSplit.cpuBoundStreams`).
        let link = job.job.source.streams == .auto ? StreamSplit.autoMost(roundTrip: connections.roundTrip(of: job.source)) : count
        guard let id = jobs.firstIndex(where: { $0 === job }) else { return granted(1) }
        claims.claim(job: id, cap: min(count, link), bytes: bytes, at: now)
        claimAnswers[id] = granted
        settleClaims()
    }

    /// Answers the waiting stream claims once no other job is listing (or they waited long enough): each job
    /// holds one slot; more only from slots no waiting job could take now, shared by bytes.
    private func settleClaims() {
        guard !claims.pending.isEmpty else { return }
        let listing = jobs.contains { $0.isListing }
        let free = config.concurrency - runningCount - ready.count
        for answer in claims.settle(at: now, othersListing: listing, free: free) {
            claimAnswers.removeValue(forKey: answer.job)?(answer.count)
        }
    }

    func claimLane(_ job: JobRun, bytes: Int64) -> ConnectionLanes.Lane {
        connections.claim(job.job.source, bytes: bytes)
    }

    func releaseLane(_ job: JobRun, _ lane: ConnectionLanes.Lane) {
        connections.release(job.job.source, lane)
    }

    func whenLaneOpen(_ job: JobRun, _ lane: ConnectionLanes.Lane, _ start: @escaping () -> Void) {
        connections.whenOpen(job.job.source, lane: lane.number, start)
    }

    func slot(_ job: JobRun, _ change: JobSlotChange) {
        switch change {
        case .listed:
            // Its source's other jobs may now share the connection.
            if warming.remove(job.source) != nil {
                // The first listing of the source measured its link's round trip: it tells near from far.
                connections.firstListingEnded(job)
                schedule()
            }
            settleClaims()
        case .released, .streamEnded:
            schedule()
        case .wanted:
            guard !cancelled else { return }
            ready.append(job)
            schedule()
        case .finished:
            if let id = jobs.firstIndex(where: { $0 === job }) {
                claims.drop(job: id)
                claimAnswers[id] = nil
            }
            flushBatch()
            schedule()
            settleClaims()
            finishIfDone()
        }
    }
}
