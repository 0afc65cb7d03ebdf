import Foundation
import MediaSyncCore
import UV

/// How one folder's purge ended.
public struct PurgeResult: Sendable, Equatable {
    /// `source/folder`.
    public var job: String
    public var deleted: Int
    public var kept: Int
    public var bytesFreed: Int64
    public var dryRun: Bool
    /// Set when the purge could not run to its end (listing failed, the source broke off...).
    public var error: String?
}

/// One folder's purge on a loop: a fresh listing, the plan, the checksums when `verify: checksum`, then the
/// delete script in batches over one call each, every deletion written to the audit as the source reports
/// it, events all along. Runs on the loop's thread, like `JobRun`.
///
/// ```swift
/// let run = PurgeRun(loop: loop, config: config, manifest: store, cycleID: 7, job: job, dryRun: false,
///                    ingest: door) { body in bus.publish(body) }
/// run.start { result in ... }
/// ```
public final class PurgeRun {
    /// Records per delete call: one connection per batch, never one per file.
    public static let batchSize = 1000

    public let job: SyncJob
    private let loop: Loop
    private let config: Config
    private let manifest: ManifestStore
    private let cycleID: Int64
    private let dryRun: Bool
    private let ingest: IngestDoor?
    private let emit: (EventBody) -> Void
    private let commands: TransportCommands
    private let environment: [String: String]
    private let eventJob: EventJob
    private let intent: PurgeIntent

    private var onFinished: ((PurgeResult) -> Void)?
    private var child: Child?
    private var cancelled = false
    private var waitingForIngest = false
    private var plan = PurgePlan()
    private var remaining: [PurgePlan.Deletion] = []
    private var nextDeletion = 0
    private var result: PurgeResult

    /// `ingest`: the door that is asked to verify each file first when `ingest.verify_before_purge` is on
    /// (without one every file stays, `not_committed`), and whose outbox gets each `file_purged`.
    /// `childEnvironment` is added to every child's environment (tests point the docker shim at its containers).
    public init(loop: Loop, config: Config, manifest: ManifestStore, cycleID: Int64, job: SyncJob, dryRun: Bool,
                childEnvironment: [String: String] = [:], ingest: IngestDoor?,
                emit: @escaping (EventBody) -> Void) {
        self.loop = loop
        self.config = config
        self.manifest = manifest
        self.cycleID = cycleID
        self.job = job
        self.dryRun = dryRun
        self.ingest = ingest
        self.emit = emit
        commands = TransportCommands(
            source: job.source, controlFolder: config.stateDirectory + "/ssh",
            fallbackControlFolder: TransportCommands.fallbackControlFolder(uid: getuid()),
            ioTimeoutSeconds: Int(config.ioTimeout.components.seconds), extraEnvironment: childEnvironment)
        environment = commands.environment(parent: Command.currentEnvironment())
        eventJob = EventJob(source: job.source.name, folder: job.folder)
        intent = PurgeIntent(stateDirectory: config.stateDirectory, job: job)
        result = PurgeResult(job: job.id, deleted: 0, kept: 0, bytesFreed: 0, dryRun: dryRun, error: nil)
    }

    /// Lists the folder afresh and carries the purge out; `onFinished` runs once, on the loop.
    public func start(onFinished: @escaping (PurgeResult) -> Void) {
        self.onFinished = onFinished
        emit(.purgeStarted(cycle: cycleID, job: eventJob, dryRun: dryRun))
        if let folder = commands.controlFolder {
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                     attributes: [.posixPermissions: 0o700])
        }
        if let problem = RemotePurgeScript.folderProblem(Array(job.source.path(of: job.folder).utf8)) {
            return fail("the folder path \(problem); rename the folder to purge it")
        }
        var output: [UInt8] = []
        runChild("listing", commands.listArgv(folder: job.folder),
                 input: commands.listStdin(folder: job.folder, ageBy: config.purge.ageBy),
                 vanishedIsFine: true, onStdout: { output.append(contentsOf: $0) }) { [unowned self] error in
            if let error { return fail(error) }
            do {
                makePlan(try RemoteListingParser.parseScriptOutput(output))
            } catch let noise as RemoteShellNoise {
                fail(NoisyShell.line(target: job.source.transport.summary, firstLine: noise.firstLine))
            } catch {
                fail("the listing from the source could not be read: \(error)")
            }
        }
    }

    /// Stops the running child; files already reported deleted stay in the audit. A purge waiting for the
    /// ingest's answers ends at once (nothing was deleted yet).
    public func cancel() {
        cancelled = true
        child?.stop(grace: 2_000)
        if waitingForIngest { fail("cancelled") }
    }

    // MARK: - Deciding

    private func makePlan(_ listing: RemoteListing) {
        recoverInterrupted(listing)
        let rows: ManifestIndex
        do {
            rows = try manifest.index(source: job.source.name, folder: job.folder,
                                      prefix: Array(ConfigPath.join(job.source.dest, job.folder).utf8))
        } catch {
            return fail("cannot read the manifest: \(error)")
        }
        let library = Array(config.library.utf8)
        plan = PurgePlan.make(
            listing: listing, manifest: rows, hostNow: Int64(Date().timeIntervalSince1970),
            minAgeSeconds: Int64(config.purge.minAge.components.seconds), ageBy: config.purge.ageBy,
            protect: config.purge.protect,
            libraryFile: { path, _ in
                LibraryPaths.fact(LibraryPaths.join(library, path)).map { PurgeLibraryFact(size: $0.size) }
            }, isCommitted: nil)
        if let warning = plan.clockWarning { log("warning", warning) }
        if let warning = plan.ageWarning { log("warning", warning) }
        guard config.purge.verify == .checksum, !plan.deletions.isEmpty else { return decided() }
        compareChecksums()
    }

    /// Both sides hash with the same fixed script: the source in one call, the library in one local call.
    private func compareChecksums() {
        var remote: [[UInt8]: String] = [:]
        var parser = RemotePurgeOutput(checksums: true)
        let paths = plan.deletions.map { $0.path }
        runChild("checksum", commands.checksumArgv(), input: commands.checksumStdin(folder: job.folder, paths: paths),
                 onStdout: { bytes in
                     parser.feed(bytes) { if case let .checksum(path, sum?) = $0 { remote[path] = sum } }
                 }) { [unowned self] error in
            if let error { return fail(error) }
            var local: [[UInt8]: String] = [:]
            var localParser = RemotePurgeOutput(checksums: true)
            let libraryPaths = plan.deletions.map { $0.libraryPath }
            let argv = ["/bin/sh", "-c", RemoteChecksumScript.text]
            let input = RemoteChecksumScript.stdin(folder: Array(config.library.utf8), paths: libraryPaths)
            runChild("library checksum", argv, input: input, onStdout: { bytes in
                localParser.feed(bytes) { if case let .checksum(path, sum?) = $0 { local[path] = sum } }
            }) { [unowned self] error in
                if let error { return fail(error) }
                plan.applyChecksums(remote: remote, library: { local[$0] })
                decided()
            }
        }
    }

    /// `ingest.verify_before_purge`: the ingest confirms each file about to go, or it stays.
    private func decided() {
        guard config.ingest?.verifyBeforePurge == true, !plan.deletions.isEmpty else { return carryOut() }
        guard let ingest else {
            plan.applyCommitted({ _ in nil }, noAnswer: "no ingest is running to confirm it")
            return carryOut()
        }
        let library = Array(config.library.utf8)
        let files = plan.deletions.map { IngestVerifyFile(libraryPath: LibraryPaths.join(library, $0.libraryPath), size: $0.size) }
        waitingForIngest = true
        ingest.verify(files) { [weak self] answers, note in
            guard let self, waitingForIngest else { return }
            waitingForIngest = false
            guard !cancelled else { return }
            plan.applyCommitted({ answers[LibraryPaths.join(library, $0)] }, noAnswer: note ?? "the ingest gave no answer")
            carryOut()
        }
    }

    private func carryOut() {
        for kept in plan.kept { report(kept.path, kept.reason, kept.detail) }
        if dryRun {
            for deletion in plan.deletions {
                result.deleted += 1
                result.bytesFreed += deletion.size
                emit(.filePurged(cycle: cycleID, job: eventJob, path: deletion.path, size: deletion.size,
                                 ageS: deletion.ageSeconds, dryRun: true))
            }
            return finish()
        }
        // Moved, not copied (the plan's list is not needed any more), and walked by index: removing each
        // batch from the front copied and shifted a list of 200,000 deletions 200 times.
        remaining = plan.deletions
        plan.deletions = []
        nextDeletion = 0
        nextBatch()
    }

    // MARK: - Deleting

    /// A purge killed mid-batch (or whose connection broke) left its intent: the files of that batch that
    /// are gone now were deleted by it, so they go into the audit if they are not there yet.
    private func recoverInterrupted(_ listing: RemoteListing) {
        let planned = intent.read()
        guard !planned.isEmpty else { return intent.remove() }
        let present = Set(listing.files.map(\.path))
        struct Key: Hashable { var path: [UInt8]; var size: Int64; var mtime: Int64 }
        let audited: Set<Key>
        do {
            audited = Set(try manifest.purgeHistory(since: 0, sources: [job.source.name])
                .filter { $0.folder == job.folder }.map { Key(path: $0.path, size: $0.size, mtime: $0.mtime) })
        } catch {
            return log("error", "cannot read the audit to complete an interrupted purge: \(error); will try again next time")
        }
        var gone = planned.filter { d in
            !present.contains(d.path) && !audited.contains(Key(path: d.path, size: d.size, mtime: d.mtime))
        }
        for index in gone.indices { gone[index].ageSeconds = max(0, listing.now - gone[index].mtime) }
        let recorded = gone.count
        // Audited, told to the ingest and announced as the deletions of this run would be, but not counted in it.
        guard record(gone, counted: false) else {
            return log("error", "cannot complete the audit of an interrupted purge; will try again next time")
        }
        intent.remove()
        if recorded > 0 {
            log("warning", "an earlier purge was interrupted after deleting \(recorded) file\(recorded == 1 ? "" : "s") "
                + "it had not recorded yet; they are in the audit now (mediasync purge --history)")
        }
    }

    private func nextBatch() {
        guard nextDeletion < remaining.count, !cancelled else { return finish() }
        let batch = Array(remaining[nextDeletion..<min(remaining.count, nextDeletion + Self.batchSize)])
        nextDeletion += batch.count
        var waiting: [[UInt8]: PurgePlan.Deletion] = [:]
        for deletion in batch { waiting[deletion.path] = deletion }
        var parser = RemotePurgeOutput()
        var sawDone = false
        let records = batch.map { RemotePurgeScript.Record(path: $0.path, size: $0.size, mtime: $0.mtime) }
        let input = commands.purgeStdin(folder: job.folder, minAgeSeconds: Int64(config.purge.minAge.components.seconds),
                                        records: records)
        do {
            try intent.write(batch)
        } catch {
            return fail("\(error); nothing was deleted (check the state directory \(config.stateDirectory))")
        }
        runChild("purge", commands.purgeArgv(), input: input, onStdout: { [unowned self] bytes in
            // The deletions of one output chunk go to the audit in one transaction, not one per file.
            var gone: [PurgePlan.Deletion] = []
            defer { deleted(gone) }
            parser.feed(bytes) { line in
                switch line {
                case let .deleted(path):
                    guard let deletion = waiting.removeValue(forKey: path) else { return }
                    gone.append(deletion)
                case let .kept(reason, path):
                    guard waiting.removeValue(forKey: path) != nil else { return }
                    report(path, RemotePurgeResult.keepReason(forScriptReason: reason),
                           "the source kept it: \(reason.replacingOccurrences(of: "_", with: " "))")
                case let .removedFolder(path):
                    log("info", "removed the emptied folder \(String(decoding: path, as: UTF8.self))")
                case .done:
                    sawDone = true
                case .checksum:
                    break
                }
            }
        }) { [unowned self] error in
            for deletion in waiting.values.sorted(by: { $0.path.lexicographicallyPrecedes($1.path) }) {
                report(deletion.path, .error, "the source gave no answer for it")
            }
            // The intent stays when the batch was not answered to its end: the next purge completes the audit.
            if let error { return fail(error) }
            if !sawDone { return fail("the purge script on the source ended early (output cut short)") }
            intent.remove()
            nextBatch()
        }
    }

    private func deleted(_ deletions: [PurgePlan.Deletion]) {
        record(deletions, counted: true)
    }

    /// The audit rows (and the ingest's events, in the same transaction) are committed before the events go
    /// out: what is gone is on record first. False when the audit could not be written.
    @discardableResult
    private func record(_ deletions: [PurgePlan.Deletion], counted: Bool) -> Bool {
        guard !deletions.isEmpty else { return true }
        var recorded = true
        let nowMs = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        let entries = deletions.map { deletion in
            PurgeAuditEntry(time: nowMs / 1000, source: job.source.name, folder: job.folder, path: deletion.path,
                            size: deletion.size, mtime: deletion.mtime, libraryPath: deletion.libraryPath,
                            cycle: cycleID)
        }
        let bodies = deletions.map { deletion in
            EventBody.filePurged(cycle: cycleID, job: eventJob, path: deletion.path, size: deletion.size,
                                 ageS: deletion.ageSeconds, dryRun: false)
        }
        var outbox: [OutboxEntry] = []
        if ingest != nil {
            let library = Array(config.library.utf8)
            for (deletion, body) in zip(deletions, bodies) {
                if let entry = OutboxEntry.make(body, timeMs: nowMs, libraryPath: LibraryPaths.join(library, deletion.libraryPath)) {
                    outbox.append(entry)
                }
            }
        }
        do {
            // Recorded first, told second (`ingest?.appended(try ...)` would skip the write without an ingest).
            let appended = try manifest.recordPurges(entries, outbox: outbox, outboxLimit: config.ingest?.outboxLimit ?? 0)
            ingest?.appended(appended)
        } catch {
            recorded = false
            for deletion in deletions {
                log("error", "deleted \(String(decoding: deletion.path, as: UTF8.self)) but could not write the audit: \(error)")
            }
        }
        for (deletion, body) in zip(deletions, bodies) {
            if counted {
                result.deleted += 1
                result.bytesFreed += deletion.size
            }
            emit(body)
        }
        return recorded
    }

    private func report(_ path: [UInt8], _ reason: PurgeKeepReason, _ detail: String) {
        result.kept += 1
        emit(.fileKept(cycle: cycleID, job: eventJob, path: path, reason: reason.rawValue))
        if reason.isWarning {
            log("warning", "\(String(decoding: path, as: UTF8.self)) stays on the source: \(detail); "
                + "check the library (a later sync does not bring it again while the manifest has it; use sync --refetch)")
        }
    }

    // MARK: - Endings and children

    private func log(_ level: String, _ message: String) {
        emit(.log(level: level, message: "\(job.id): purge: \(message)", cycle: cycleID, job: job.id))
    }

    private func fail(_ line: String) {
        let text = cancelled ? "cancelled" : line
        result.error = "\(job.id): purge: \(text)"
        log("error", text)
        finish()
    }

    private func finish() {
        guard let callback = onFinished else { return }
        onFinished = nil
        emit(.purgeFinished(cycle: cycleID, job: eventJob, deleted: result.deleted, kept: result.kept,
                            bytesFreed: result.bytesFreed, dryRun: dryRun))
        callback(result)
    }

    /// Runs one child to its end; `then` gets nil on success, else one line naming what failed. With
    /// `vanishedIsFine` (the listing), an exit whose only complaints are files that vanished meanwhile (a
    /// generator, a person or an interrupted purge deleting) counts as a success.
    private func runChild(_ what: String, _ argv: [String], input: [UInt8], vanishedIsFine: Bool = false,
                          onStdout: @escaping (UnsafeRawBufferPointer) -> Void,
                          then: @escaping (String?) -> Void) {
        guard !cancelled else { return then("cancelled") }
        var stderrLines = RsyncOutputParser(stream: .stderr)
        var vanished = VanishedFiles()
        var lastComplaint: String?
        // The first lines that are not about vanished files, for ssh's diagnosis (bounded: a listing of a
        // busy folder can print thousands of vanished lines).
        var complaints: [String] = []
        let take: (RsyncRecord) -> Void = { record in
            guard case .message(let message) = record else { return }
            vanished.add(message)
            guard !VanishedFiles.isAboutVanishedFiles(message.text) else { return }
            lastComplaint = message.text
            if complaints.count < 50 { complaints.append(message.text) }
        }
        var command = Command(argv[0], Array(argv.dropFirst()), environment: environment,
                              stdin: .pipe, stdout: .pipe, stderr: .pipe)
        command.diesWithParent = true
        // The stall watchdog covers the purge's children too: a source frozen mid-listing or mid-delete
        // (a paused container) would otherwise hold the job, and a one-shot purge, for ever.
        let loop = self.loop
        var lastOutput = loop.now
        var stalled = false
        let stallMs = UInt64(config.stallTimeout.components.seconds) * 1000
        let watchdog = try? UV.Timer(loop: loop)
        do {
            let started = try Child(loop: loop, command: command, onStdout: { bytes in
                lastOutput = loop.now
                onStdout(bytes)
            }, onStderr: { bytes in
                lastOutput = loop.now
                stderrLines.feed(bytes, take)
            }, outputGraceAfterExit: 2_000, onFinished: { [unowned self] status, _ in
                child = nil
                watchdog?.close()
                stderrLines.finish(take)
                if stalled {
                    return then("no progress for \(DurationSyntax.format(config.stallTimeout)); the \(what) on "
                                + "\(job.source.transport.summary) was stopped (is the source frozen or paused?)")
                }
                if status.succeeded { return then(nil) }
                if vanishedIsFine, !cancelled,
                   let count = vanished.completeDespite(code: Int32(truncatingIfNeeded: status.code), signal: status.signal) {
                    log("info", "\(ViewFormat.count(count, "file")) vanished while the folder was listed (deleted at the source)")
                    return then(nil)
                }
                if let ssh = SSHDiagnosis.diagnose(complaints, target: job.source.transport.summary) { return then(ssh.line) }
                then("the \(what) on \(job.source.transport.summary) failed (\(status))"
                     + (lastComplaint.map { ": \($0)" } ?? ""))
            })
            child = started
            watchdog?.start(after: 1_000, repeat: 1_000) {
                guard !stalled, loop.now - lastOutput > stallMs else { return }
                stalled = true
                started.stop(grace: 2_000)
            }
            // Fed as the child reads: a checksum list or a batch can be larger than one write may queue.
            started.feedStdin(input) { [unowned self] error in
                guard let error, error.name != "EPIPE", error.name != "ECANCELED" else { return }
                lastComplaint = "cannot hand \(argv[0]) its input: \(error)"
                log("error", lastComplaint!)
                started.stop(grace: 2_000)
            }
        } catch {
            watchdog?.close()
            then("cannot start \(argv[0]) for the \(what): \(error)")
        }
    }
}
