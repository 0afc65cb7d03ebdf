import Foundation
import MediaSyncCore
import UV

/// A purge cycle of its own under `serve` (`purge.schedule` a cron expression, or `trigger --purge`): every folder
/// of the selected sources whose purge is on, one after the other as `mediasync purge` does, each a `PurgeRun`
/// (listing, plan, checksums, the ingest's word, the deletes). It speaks like a sync cycle: `cycle_started`,
/// `progress` (the folders go `queued` -> `listing` -> `purging` -> `done`/`failed`), the purge events, and
/// `cycle_finished` with `files` and `bytes` 0 (nothing is synced).
///
/// ```swift
/// let cycle = PurgeCycle(loop: loop, config: config, manifest: store, cycleID: 8, sources: nil, named: false,
///                        childEnvironment: [:], ingest: door) { body in bus.publish(body) }
/// cycle.start { result in print(result.filesPurged) }
/// ```
public final class PurgeCycle {
    private let loop: Loop
    private let config: Config
    private let manifest: ManifestStore
    public let cycleID: Int64
    private let childEnvironment: [String: String]
    private let ingest: IngestDoor?
    private let emit: (EventBody) -> Void
    private let jobs: [SyncJob]
    /// The folders' states, for `progress` events and the `status` reply.
    public private(set) var progress: CycleProgress
    private var pending: ArraySlice<SyncJob>
    private var current: PurgeRun?
    private var results: [PurgeResult] = []
    private var cancelled = false
    private var startedAt: Double = 0
    private var onFinished: ((CycleResult) -> Void)?

    /// `sources`: nil for every source; `named` when a person named them (then a source whose purge is off is
    /// said to be skipped; a scheduled purge passes over such sources quietly).
    public init(loop: Loop, config: Config, manifest: ManifestStore, cycleID: Int64, sources: [String]?, named: Bool,
                childEnvironment: [String: String], ingest: IngestDoor?, emit: @escaping (EventBody) -> Void) {
        self.loop = loop
        self.config = config
        self.manifest = manifest
        self.cycleID = cycleID
        self.childEnvironment = childEnvironment
        self.ingest = ingest
        self.emit = emit
        let selected = config.jobs.filter { sources?.contains($0.source.name) ?? true }
        jobs = selected.filter { $0.source.purge || config.purge.dryRun }
        if named {
            for job in selected where !jobs.contains(job) {
                emit(.log(level: "info", message: "\(job.id): purge is off for source \(job.source.name) (set `purge: true` "
                          + "on it or `purge.enabled: true`); skipped", cycle: cycleID, job: job.id))
            }
        }
        progress = CycleProgress(jobs: jobs.map { JobID(source: $0.source.name, folder: $0.folder) },
                                 concurrency: 1)
        pending = jobs[...]
    }

    /// Seconds on the loop's monotonic clock.
    public var now: Double { Double(loop.now) / 1000 }

    /// Purges every folder in turn; `onFinished` runs once, on the loop, after `cycle_finished`.
    public func start(onFinished: @escaping (CycleResult) -> Void) {
        self.onFinished = onFinished
        startedAt = now
        emit(.cycleStarted(cycle: cycleID, jobs: jobs.map { EventJob(source: $0.source.name, folder: $0.folder) }))
        if jobs.isEmpty {
            emit(.log(level: "info", message: "purge cycle \(cycleID): no selected source has purge on; nothing to do",
                      cycle: cycleID, job: nil))
        } else {
            switch LibraryIdentity.check(library: config.library, stateDirectory: config.stateDirectory, manifest: manifest) {
            case let .ready(note):
                if let note { emit(.log(level: "info", message: note, cycle: cycleID, job: nil)) }
            case let .refused(reason):
                // A library that is not the library (its drive not mounted) proves nothing: no file is purged for it.
                emit(.log(level: "error", message: reason, cycle: cycleID, job: nil))
                for job in pending {
                    results.append(PurgeResult(job: job.id, deleted: 0, kept: 0, bytesFreed: 0, dryRun: config.purge.dryRun,
                                               error: "\(job.id): purge: \(reason)"))
                    move(job, to: .failed)
                }
                pending = []
            }
        }
        // On the next turn of the loop: whoever started the cycle (a trigger's reply) speaks first.
        guard let timer = try? UV.Timer(loop: loop) else { return next() }
        timer.start(after: 0) { [self] in
            timer.close()
            next()
        }
    }

    /// Stops the running purge (deletions already reported stay in the audit); the rest do not start.
    public func cancel() {
        cancelled = true
        pending = []
        current?.cancel()
    }

    private func move(_ job: SyncJob, to state: JobState) {
        _ = progress.transition(JobID(source: job.source.name, folder: job.folder), to: state, at: now)
    }

    private func publishProgress() {
        emit(.progress(cycle: cycleID, progress.snapshot(at: now)))
    }

    private func next() {
        guard !cancelled, let job = pending.popFirst() else { return finish() }
        move(job, to: .listing)
        move(job, to: .purging)
        publishProgress()
        let run = PurgeRun(loop: loop, config: config, manifest: manifest, cycleID: cycleID, job: job,
                           dryRun: config.purge.dryRun, childEnvironment: childEnvironment, ingest: ingest, emit: emit)
        current = run
        run.start { [unowned self] result in
            current = nil
            results.append(result)
            if let error = result.error {
                emit(.log(level: "error", message: error, cycle: cycleID, job: job.id))
            }
            move(job, to: result.error == nil ? .done : .failed)
            publishProgress()
            next()
        }
    }

    private func finish() {
        // Folders never reached (a stop) count as failed.
        for job in jobs where !(progress[JobID(source: job.source.name, folder: job.folder)]?.state.isFinal ?? true) {
            move(job, to: .failed)
            results.append(PurgeResult(job: job.id, deleted: 0, kept: 0, bytesFreed: 0, dryRun: config.purge.dryRun,
                                       error: "\(job.id): purge: cancelled"))
        }
        PurgeRunner.closeSharedConnections(loop: loop, config: config, sources: jobs.map(\.source),
                                           childEnvironment: childEnvironment)
        let failed = results.filter { $0.error != nil }.count
        let result = CycleResult(jobsDone: results.count - failed, jobsFailed: failed, files: 0, bytes: 0,
                                 seconds: now - startedAt, errors: results.compactMap(\.error), purgesFailed: failed,
                                 filesPurged: results.reduce(0) { $0 + $1.deleted })
        let finished = EventBody.cycleFinished(cycle: cycleID, CycleFinished(
            jobsDone: result.jobsDone, jobsFailed: result.jobsFailed, files: 0, bytes: 0, seconds: result.seconds))
        if let ingest, let entry = OutboxEntry.make(finished, timeMs: Int64((Date().timeIntervalSince1970 * 1000).rounded())) {
            do {
                ingest.appended(try manifest.appendOutbox([entry], limit: config.ingest?.outboxLimit ?? 0))
            } catch {
                emit(.log(level: "error", message: "cannot store cycle_finished for the ingest: \(error)", cycle: cycleID, job: nil))
            }
        }
        emit(finished)
        let callback = onFinished
        onFinished = nil
        callback?(result)
    }

    /// Results so far, one per folder purged (for the supervisor's `status`).
    public var purgeResults: [PurgeResult] { results }
}
