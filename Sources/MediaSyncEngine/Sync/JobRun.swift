import Foundation
import MediaSyncCore
import UV

/// One job, one (source, folder) in one cycle: list the folder, plan, run rsync into the staging
/// folder, move finished files home, retry what failed for a reason that may pass.
final class JobRun {
    let job: SyncJob
    let id: JobID
    let eventJob: EventJob
    var source: String { job.source.name }
    private unowned let cycle: SyncCycle

    private enum Phase { case queued, listing, transferring, waiting, purging, finished }

    private var phase: Phase = .queued
    private(set) var hasListed = false
    private(set) var attempts = 0
    private(set) var filesHome = 0
    private(set) var bytesHome: Int64 = 0
    private(set) var errorLine: String?
    private(set) var succeeded = false
    /// Said in `job_finished` and by `status` about a job that succeeded, e.g. "not created yet".
    private(set) var note: String?
    /// The purge after this job's sync, when one ran: its result counts in the cycle's summary.
    private(set) var purgeResult: PurgeResult?
    private var purge: PurgeRun?
    private var startedAt: Double = 0
    private var lastActivity: Double = 0
    private var child: Child?
    private var retryTimer: UV.Timer?
    private var stopReason: JobFailure.Stop?
    private var messages: [RsyncMessage] = []
    private var harmlessMessages = 0
    private var stdoutParser = RsyncOutputParser(stream: .stdout)
    private var stderrParser = RsyncOutputParser(stream: .stderr)
    private var listingOutput: [UInt8] = []
    /// The manifest rows being read while the listing runs.
    private var prefetch: ManifestPrefetch?
    /// Library-relative: `<dest>/<folder>`.
    private lazy var libraryPrefix = Array(ConfigPath.join(job.source.dest, job.folder).utf8)
    /// Planned files not home yet, by their path inside the folder.
    private var pending: [PathKey: Int] = [:]
    /// The planned transfers, by the index `pending` holds (a dictionary of whole transfers cost twice the
    /// memory: its buckets hold every value inline, at a load factor of at most 3/4).
    private var planned: [SyncPlan.Transfer] = []
    /// Files rsync announced, in order, not moved home yet, with how often a move found them not ready.
    private var announced: [(name: [UInt8], misses: Int)] = []
    private var lastTransferNumber = 0
    private var lastExitCode: Int32?
    /// The library folder the last file went into, kept open for the next file of the same folder.
    private let libraryFolder = OpenFolder()
    /// `<staging folder>/` as bytes, made once: every finished file's staged path starts with it.
    private lazy var stagingPrefix: [UInt8] = Array(cycle.stagingFolder(for: job).utf8) + [UInt8(ascii: "/")]

    init(job: SyncJob, cycle: SyncCycle) {
        self.job = job
        self.cycle = cycle
        id = JobID(source: job.source.name, folder: job.folder)
        eventJob = EventJob(source: job.source.name, folder: job.folder)
    }

    var isFinished: Bool { phase == .finished }
    var holdsSlot: Bool { phase == .listing || phase == .transferring || phase == .purging }

    /// Starts (or, after a wait, resumes) the job: lists when it has no plan yet, else transfers.
    func run() {
        if attempts == 0 {
            startedAt = cycle.now
            cycle.emit(.jobStarted(cycle: cycle.cycleID, job: eventJob))
        }
        attempts += 1
        if hasListed { startTransfer() } else { startListing() }
    }

    /// Ends the job before it starts, e.g. when the library is not the library: `reason` is its error.
    func refuse(_ reason: String) {
        startedAt = cycle.now
        attempts = 1
        cycle.emit(.jobStarted(cycle: cycle.cycleID, job: eventJob))
        finish(failedWith: "\(job.id): \(reason)", exitCode: nil)
    }

    func cancel() {
        stopReason = .cancelled
        retryTimer?.close()
        retryTimer = nil
        if let purge {
            purge.cancel()
        } else if let child {
            child.stop(grace: cycle.options.stopGraceMs)
        } else if phase != .finished {
            finish(failedWith: "\(job.id): cancelled", exitCode: lastExitCode)
        }
    }

    /// Stops a child that has shown no progress for `stall_timeout`; the exit then retries it.
    func checkStall(at now: Double) {
        guard phase == .listing || phase == .transferring, let child, stopReason == nil else { return }
        let limit = Double(cycle.config.stallTimeout.components.seconds)
        guard now - lastActivity > limit else { return }
        stopReason = .stalled
        cycle.log("warning", "\(job.id): no progress for \(Int(limit))s, stopping rsync (pid \(child.pid)) to retry",
                  job: self)
        child.stop(grace: cycle.options.stopGraceMs)
    }

    // MARK: - Listing

    private func startListing() {
        phase = .listing
        prefetch = ManifestPrefetch(store: cycle.manifest, source: source, folder: job.folder, prefix: libraryPrefix)
        _ = cycle.progress.transition(id, to: .listing, at: cycle.now)
        cycle.markProgress()
        let commands = cycle.transportCommands(for: job.source)
        let argv = commands.listArgv(folder: job.folder)
        listingOutput = []
        spawn(argv, environment: cycle.childEnvironment(commands), input: commands.listStdin(folder: job.folder), onStdout: { [unowned self] bytes in
            listingOutput.append(contentsOf: bytes)
            lastActivity = cycle.now
        }, onFinished: { [unowned self] status in listingFinished(status) })
    }

    private func listingFinished(_ status: TerminationStatus) {
        // find exits 1 when files vanish while it lists them; what it printed is complete for the rest.
        let vanished = stopReason == nil
            ? VanishedFiles.completeDespite(code: Int32(truncatingIfNeeded: status.code), signal: status.signal, messages: messages)
            : nil
        hasListed = vanished != nil
        cycle.listingEnded(self)
        if stopReason != .cancelled, let noise = RemoteListingParser.shellNoise(in: listingOutput) {
            // Only the box's owner can silence the shell: no retry. Named first even when the listing failed
            // too, since the noise would break rsync anyway.
            hasListed = false
            return finish(failedWith: "\(job.id): " + NoisyShell.line(target: job.source.transport.summary,
                                                                      firstLine: noise.firstLine), exitCode: nil)
        }
        guard let vanished else {
            return failedAttempt(status: status, what: "listing")
        }
        if vanished > 0 {
            cycle.log("info", "\(job.id): \(ViewFormat.count(vanished, "file")) vanished while the folder was listed (deleted at the source)",
                      job: self)
        }
        let listing: RemoteListing
        do {
            listing = try RemoteListingParser.parseScriptOutput(listingOutput)
        } catch {
            hasListed = false
            return finish(failedWith: "\(job.id): the listing from the source could not be read: \(error)", exitCode: nil)
        }
        listingOutput = []
        if listing.format == .absent {
            // Forge creates a folder only when its tab is first used: an empty folder, not an error.
            note = "not created yet"
            cycle.log("info", "\(job.id): \(job.source.path(of: job.folder)) is not created yet on the source; nothing to sync", job: self)
            _ = cycle.progress.plan(id, files: 0, bytes: 0, at: cycle.now)
            return finishDone(exitCode: nil, mayPurge: false)
        }
        makePlan(listing)
    }

    private func makePlan(_ listing: RemoteListing) {
        let prefix = libraryPrefix
        let rows: ManifestIndex
        do {
            rows = try (prefetch ?? ManifestPrefetch(store: cycle.manifest, source: source, folder: job.folder, prefix: prefix)).index()
            prefetch = nil
        } catch {
            return finish(failedWith: "\(job.id): cannot read the manifest: \(error)", exitCode: nil)
        }
        // Every name another job recorded under this job's folder, in one query (the planner has this job's
        // own rows, and only hands out names under `prefix`, so names elsewhere cannot collide).
        let reserved: Set<[UInt8]>
        do {
            reserved = try cycle.manifest.libraryPaths(under: prefix, exceptJob: (source, job.folder))
        } catch {
            return finish(failedWith: "\(job.id): cannot read the manifest: \(error)", exitCode: nil)
        }
        let library = Array(cycle.config.library.utf8)
        var plan = SyncPlan.make(
            listing: listing, settleSeconds: Int64(job.source.settle.components.seconds), manifest: rows,
            refetch: cycle.options.refetch,
            libraryFile: { LibraryPaths.fact(LibraryPaths.join(library, $0)) },
            isReserved: { reserved.contains($0) }, traits: cycle.writer.traits)
        for deferred in plan.deferred {
            if let detail = deferred.detail {
                cycle.log("warning", "\(job.id): \(String(decoding: deferred.remotePath, as: UTF8.self)) stays at the source: \(detail)",
                          job: self)
            }
            cycle.emit(.fileDeferred(cycle: cycle.cycleID, job: eventJob, path: deferred.remotePath,
                                     reason: deferred.reason.rawValue))
        }
        for adopted in plan.adopted {
            // Already at its library name with the same size and mtime (a crash between move and record).
            filesHome += 1
            bytesHome += adopted.size
            cycle.fileHome(self, adopted, libraryPath: adopted.libraryPath)
        }
        planned = plan.transfers
        plan.transfers = []
        pending = [:]
        pending.reserveCapacity(planned.count)
        for (index, transfer) in planned.enumerated() { pending[PathKey(transfer.remotePath)] = index }
        _ = cycle.progress.plan(id, files: planned.count, bytes: plan.totalBytes, at: cycle.now)
        cycle.markProgress()
        if pending.isEmpty {
            return finishDone(exitCode: nil)
        }
        startTransfer()
    }

    // MARK: - Transfer

    private func startTransfer() {
        if phase == .waiting || phase == .listing || phase == .queued {
            _ = cycle.progress.transition(id, to: .transferring, at: cycle.now)
        }
        phase = .transferring
        cycle.markProgress()
        let staging = cycle.stagingFolder(for: job)
        do {
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        } catch {
            return finish(failedWith: "\(job.id): cannot create the staging folder \(staging): \(error)", exitCode: nil)
        }
        stdoutParser = RsyncOutputParser(stream: .stdout)
        announced = []
        lastTransferNumber = 0
        let list = TransportCommands.filesFromStdin(pendingPaths())
        let commands = cycle.transportCommands(for: job.source)
        let argv = commands.rsyncArgv(folder: job.folder, destination: staging)
        spawn(argv, environment: cycle.childEnvironment(commands), input: list, onStdout: { [unowned self] bytes in
            stdoutParser.feed(bytes) { record in self.handle(record) }
        }, onFinished: { [unowned self] status in transferFinished(status) })
    }

    private func handle(_ record: RsyncRecord) {
        let now = cycle.now
        switch record {
        case .progress(let p):
            lastActivity = now
            if let n = p.transferNumber, n > lastTransferNumber {
                lastTransferNumber = n
                // A file finished: the one announced last, or one before it.
                moveAnnounced(includingLast: true)
            }
        case .file(let f):
            lastActivity = now
            if f.isFile, pending[PathKey(f.name)] != nil {
                announced.append((f.name, 0))
                // rsync announces a file as it starts on it, so those announced before are done (or failed).
                moveAnnounced(includingLast: false)
            }
        case .message(let m):
            take(m)
        }
        if cycle.progress.record(record, for: id, at: now) { cycle.markProgress() }
    }

    private func transferFinished(_ status: TerminationStatus) {
        stdoutParser.finish { record in self.handle(record) }
        // Every planned file that rsync completed is in staging under its own name: move them all.
        for path in pendingPaths() { moveHome(path, final: true) }
        let code = Int32(truncatingIfNeeded: status.code)
        if pending.isEmpty && status.signal == 0 && stopReason == nil {
            return finishDone(exitCode: code, mayPurge: code == 0 || (code == 23 && onlyHarmlessComplaints))
        }
        if stopReason == nil, let vanished = VanishedFiles.completeDespite(code: code, signal: status.signal, messages: messages),
           vanished > 0 {
            // Deleted at the source after the listing: not in the manifest, so nothing is lost; if they come
            // back, a later cycle lists them again.
            let gone = pendingPaths()
            pending.removeAll()
            for path in gone {
                cycle.emit(.fileDeferred(cycle: cycle.cycleID, job: eventJob, path: path, reason: "vanished"))
            }
            cycle.log("info", "\(job.id): \(ViewFormat.count(gone.count, "file")) vanished at the source during the transfer; the rest is home",
                      job: self)
            return finishDone(exitCode: code)
        }
        failedAttempt(status: status, what: "rsync")
    }

    /// Moves home every announced file that is complete in staging, as the transfer goes, so that files
    /// reach the library (and their events the clients) steadily instead of in one burst at the end.
    /// A file found not ready three times is left to the sweep after rsync exits.
    private func moveAnnounced(includingLast: Bool) {
        var kept: [(name: [UInt8], misses: Int)] = []
        for (index, entry) in announced.enumerated() {
            if index == announced.count - 1 && !includingLast {
                kept.append(entry)
                continue
            }
            guard let transfer = pending[PathKey(entry.name)].map({ planned[$0] }) else { continue }
            let staged = stagingPrefix + entry.name.drop(while: { $0 == UInt8(ascii: "/") })
            if let fact = LibraryPaths.fact(staged), fact.size == transfer.size,
               cycle.writer.traits.sameMTime(fact.mtime, transfer.mtime) {
                moveHome(entry.name, final: false)
                if pending[PathKey(entry.name)] == nil { continue }
            }
            if entry.misses < 2 { kept.append((entry.name, entry.misses + 1)) }
        }
        announced = kept
    }

    /// Moves one staged file to its library name; `final` is the sweep after rsync exited, where a
    /// file that is not right is no longer "not finished yet" but changed at the source.
    private func moveHome(_ remotePath: [UInt8], final: Bool) {
        guard let transfer = pending[PathKey(remotePath)].map({ planned[$0] }) else { return }
        let staged = stagingPrefix + remotePath.drop(while: { $0 == UInt8(ascii: "/") })
        do {
            let outcome = try cycle.writer.move(staged: staged, to: transfer.libraryPath, size: transfer.size,
                                                mtime: transfer.mtime, folders: libraryFolder)
            pending[PathKey(remotePath)] = nil
            filesHome += 1
            bytesHome += transfer.size
            var home = transfer
            if case let .movedAside(path, planned) = outcome {
                // Someone put another file at the planned name meanwhile: ours went beside it.
                home.renamedFrom = home.renamedFrom ?? planned
                home.libraryPath = path
            }
            cycle.fileHome(self, home, libraryPath: outcome.libraryPath)
        } catch let error {
            guard final else { return }
            if case .stagedFileNotAsPlanned = error, LibraryPaths.exists(staged) {
                // rsync sent what the file is now: it changed after the listing. A later cycle takes it.
                pending[PathKey(remotePath)] = nil
                cycle.emit(.fileDeferred(cycle: cycle.cycleID, job: eventJob, path: remotePath, reason: "changed"))
                cycle.log("info", "\(job.id): \(String(decoding: remotePath, as: UTF8.self)) changed during the sync; a later cycle takes it", job: self)
            } else if case .stagedFileNotAsPlanned = error {
                return  // not delivered: the retry fetches it
            } else {
                messages.append(RsyncMessage(severity: .error, origin: .rsync, text: JobFailure.libraryPrefix + error.description))
            }
        }
    }

    /// The planned paths not home yet, sorted (rsync's list and the sweep after it go in name order).
    private func pendingPaths() -> [[UInt8]] {
        pending.keys.map(\.bytes).sorted(by: { $0.lexicographicallyPrecedes($1) })
    }

    // MARK: - Endings

    private func failedAttempt(status: TerminationStatus, what: String) {
        child = nil
        let code = status.signal != 0 ? Int32(20) : Int32(truncatingIfNeeded: status.code)
        lastExitCode = status.signal != 0 ? nil : code
        let failure = JobFailure.classify(JobFailure.Attempt(
            job: job.id, what: what, code: code, signal: status.signal, status: status.description, messages: messages,
            stop: stopReason, pendingFiles: pending.count, stallTimeout: cycle.config.stallTimeout,
            library: cycle.config.library, sourceFolder: job.source.path(of: job.folder),
            transport: job.source.transport.summary, sourceRoot: job.source.root))
        let line = failure.line
        if stopReason == .cancelled {
            return finish(failedWith: line, exitCode: lastExitCode)
        }
        stopReason = nil
        messages = []
        stderrParser = RsyncOutputParser(stream: .stderr)
        guard failure.retryable, attempts < cycle.config.retry.attempts else {
            return finish(failedWith: line, exitCode: lastExitCode)
        }
        let delay = cycle.config.retry.delay(beforeAttempt: attempts + 1)
        let ms = UInt64(delay.components.seconds) * 1000 + UInt64(delay.components.attoseconds / 1_000_000_000_000_000)
        cycle.log("warning", "\(line); retrying in \(DurationSyntax.format(delay)) (attempt \(attempts + 1) of \(cycle.config.retry.attempts))", job: self)
        phase = .waiting
        _ = cycle.progress.transition(id, to: .waitingToRetry, at: cycle.now)
        cycle.markProgress()
        do {
            let timer = try UV.Timer(loop: cycle.loop)
            timer.start(after: ms) { [unowned self] in
                retryTimer?.close()
                retryTimer = nil
                cycle.requeue(self)
            }
            retryTimer = timer
        } catch {
            return finish(failedWith: line, exitCode: lastExitCode)
        }
        cycle.schedule()
    }

    private func finishDone(exitCode: Int32?, mayPurge: Bool = true) {
        child = nil
        succeeded = true
        // Only a whole sync may purge: every planned file is home or was deferred (settling, changed, vanished
        // at the source: none of those is in the manifest as it is now, so the purge plan keeps it) and
        // nothing was stopped.
        if mayPurge, cycle.purgeEnabled(for: job), stopReason == nil {
            return startPurge(exitCode: exitCode)
        }
        _ = cycle.progress.transition(id, to: .done, at: cycle.now)
        end(state: .done, exitCode: exitCode, error: nil)
    }

    /// Purges the folder in this job's slot; the job ends `done` whatever the purge says (its sync is
    /// done), the purge's own error goes out as a log event and in the cycle's result.
    private func startPurge(exitCode: Int32?) {
        phase = .purging
        _ = cycle.progress.transition(id, to: .purging, at: cycle.now)
        cycle.markProgress()
        // The manifest must hold every file this job brought home before the purge reads it,
        // and `file_synced` goes out before `purge_started`.
        cycle.flushBatch()
        let run = cycle.makePurge(for: job)
        purge = run
        run.start { [unowned self] result in
            purge = nil
            purgeResult = result
            _ = cycle.progress.transition(id, to: .done, at: cycle.now)
            end(state: .done, exitCode: exitCode, error: nil)
        }
    }

    private func finish(failedWith line: String, exitCode: Int32?) {
        child = nil
        errorLine = line
        _ = cycle.progress.transition(id, to: .failed, at: cycle.now)
        cycle.log("error", line, job: self)
        end(state: .failed, exitCode: exitCode, error: line)
    }

    private func end(state: JobFinished.State, exitCode: Int32?, error: String?) {
        guard phase != .finished else { return }
        phase = .finished
        libraryFolder.close()
        cycle.markProgress()
        cycle.flushBatch()
        cycle.emit(.jobFinished(cycle: cycle.cycleID, JobFinished(
            job: eventJob, state: state, files: filesHome, bytes: bytesHome, seconds: cycle.now - startedAt,
            exitCode: exitCode, attempts: attempts, error: error, note: note)))
        cycle.jobEnded(self)
    }

    // MARK: - Children

    /// Keeps a message of rsync's for the failure's description, unless it only says what the library's file
    /// system cannot do (fusefat: no permissions), which is counted instead.
    private func take(_ message: RsyncMessage) {
        if cycle.writer.traits.isHarmless(message.text) {
            harmlessMessages += 1
        } else {
            messages.append(message)
        }
    }

    /// rsync's 23 said nothing but what the library cannot take: the files are whole.
    private var onlyHarmlessComplaints: Bool {
        harmlessMessages > 0 && !messages.contains {
            $0.severity == .error && !$0.text.hasPrefix("rsync error: some files/attrs were not transferred")
        }
    }

    private func spawn(_ argv: [String], environment: [String: String], input: [UInt8], onStdout: @escaping (UnsafeRawBufferPointer) -> Void,
                       onFinished: @escaping (TerminationStatus) -> Void) {
        lastActivity = cycle.now
        messages = []
        harmlessMessages = 0
        stderrParser = RsyncOutputParser(stream: .stderr)
        var command = Command(argv[0], Array(argv.dropFirst()), environment: environment,
                              stdin: .pipe, stdout: .pipe, stderr: .pipe)
        command.diesWithParent = true
        do {
            let started = try Child(loop: cycle.loop, command: command, onStdout: onStdout, onStderr: { [unowned self] bytes in
                stderrParser.feed(bytes) { record in
                    if case .message(let m) = record { self.take(m) }
                }
            }, outputGraceAfterExit: 2_000, onFinished: { [unowned self] status, _ in
                stderrParser.finish { record in
                    if case .message(let m) = record { self.take(m) }
                }
                child = nil
                onFinished(status)
            })
            child = started
            // Fed as the child reads (a first sync can plan 100,000 names, far more than one write may
            // queue). A child that stops reading ends with its own exit and messages; any other failure to
            // feed it is told and the child stopped, so the job never waits on a child that waits on us.
            started.feedStdin(input) { [unowned self] error in
                guard let error, error.name != "EPIPE", error.name != "ECANCELED", child === started else { return }
                messages.append(RsyncMessage(severity: .error, origin: .rsync,
                                             text: "cannot hand \(argv[0]) its input: \(error)"))
                started.stop(grace: cycle.options.stopGraceMs)
            }
        } catch {
            finish(failedWith: "\(job.id): cannot start \(argv[0]): \(error)", exitCode: nil)
        }
    }
}
