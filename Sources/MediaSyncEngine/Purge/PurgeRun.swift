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
/// delete script in batches over one call each (for a local source, the listing and each batch's deletions in
/// the process instead, `PurgeHere`), every deletion written to the audit as the source reports it, events all
/// along. Runs on the loop's thread, like `JobRun`.
///
/// ```swift
/// let run = PurgeRun(loop: loop, config: config, manifest: store, cycleID: 7, job: job, dryRun: false,
///                    ingest: door) { body in bus.publish(body) }
/// run.start { result in ... }
/// ```
public final class PurgeRun {
    /// Records per delete call: one connection per batch, never one per file. Inside a call the script works
    /// in chunks of up to `RemotePurgeScript.maxNames` names of one folder (one `stat`, one `rm` each), so a
    /// call's fixed cost (a shell, `stat`, `date`, `xargs`, the intent's fsync) is paid once per 5,000 files.
    public static let batchSize = 5000

    public let job: SyncJob
    private let config: Config
    private let manifest: ManifestStore
    private let cycleID: Int64
    private let dryRun: Bool
    private let ingest: IngestDoor?
    private let emit: (EventBody) -> Void
    private let commands: TransportCommands
    private let eventJob: EventJob
    private let intent: PurgeIntent
    private let children: PurgeChild
    /// For a source on this machine: the listing and the deletions in this process (`PurgeHere`), not children.
    private let here: PurgeHere?
    private let audit: PurgeAudit

    private var onFinished: ((PurgeResult) -> Void)?
    /// Told once, on the loop, when the folder's listing ended (with or without success): the source's shared
    /// connection is up by then, for the next folders' children to share.
    public var onListed: (() -> Void)?
    private var child: Child?
    private var hereWork: PurgeHereWork?
    private var cancelled = false
    private var waitingForIngest = false
    private var plan = PurgePlan()
    private var batches = PurgeBatches([])
    private var error: String?

    /// `ingest`: the door that is asked to verify each file first when `ingest.verify_before_purge` is on
    /// (without one every file stays, `not_committed`), and whose outbox gets each `file_purged`.
    /// `childEnvironment` is added to every child's environment (tests point the docker shim at its containers).
    public init(loop: Loop, config: Config, manifest: ManifestStore, cycleID: Int64, job: SyncJob, dryRun: Bool,
                childEnvironment: [String: String] = [:], ingest: IngestDoor?,
                emit: @escaping (EventBody) -> Void) {
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
        children = PurgeChild(loop: loop, environment: commands.environment(parent: Command.currentEnvironment()),
                              stallTimeout: config.stallTimeout, target: job.source.transport.summary)
        here = job.source.transport.isOnThisMachine
            ? PurgeHere(loop: loop, stallTimeout: config.stallTimeout, target: job.source.transport.summary) : nil
        eventJob = EventJob(source: job.source.name, folder: job.folder)
        intent = PurgeIntent(stateDirectory: config.stateDirectory, job: job)
        audit = PurgeAudit(manifest: manifest, config: config, job: job, cycleID: cycleID, ingest: ingest, emit: emit)
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
        // `LocalListing` reads no access or birth times: those take the script's listing.
        if let here, config.purge.ageBy == .modified { return listHere(here) }
        // Parsed as it arrives: a folder of 200,000 files is not held as raw bytes beside its parsed files.
        var reader = RemoteListingReader()
        runChild("listing", commands.listArgv(folder: job.folder),
                 input: commands.listStdin(folder: job.folder, ageBy: config.purge.ageBy),
                 vanishedIsFine: true, onStdout: { reader.feed($0) }) { [unowned self] error in
            let listed = onListed
            onListed = nil
            listed?()
            if let error { return fail(error) }
            do {
                makePlan(try reader.finish())
            } catch let noise as RemoteShellNoise {
                fail(NoisyShell.line(target: job.source.transport.summary, firstLine: noise.firstLine))
            } catch {
                fail("the listing from the source could not be read: \(error)")
            }
        }
    }

    /// The listing of a folder on this machine, made in this process.
    private func listHere(_ here: PurgeHere) {
        guard !cancelled else { return fail("cancelled") }
        withExtendedLifetime(self) {
            hereWork = here.list(root: job.source.root, folder: job.folder, cancelled: { [unowned self] in cancelled }) {
                [unowned self] outcome, listing in
                hereWork = nil
                let listed = onListed
                onListed = nil
                listed?()
                if let line = ended(outcome) { return fail(line) }
                // `PurgeHere` hands a listing with every success.
                guard let listing else { return fail("the listing ended without a result") }
                makePlan(listing)
            }
        }
    }

    /// Stops the running child; files already reported deleted stay in the audit. A purge waiting for the
    /// ingest's answers ends at once (nothing was deleted yet).
    public func cancel() {
        cancelled = true
        child?.stop(grace: 2_000)
        hereWork?.cancel()
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
        // Each library folder opened once, each file one fstatat (a path walk per file was most of the check's cost).
        let lookup = LibraryLookup(root: Array(config.library.utf8))
        plan = PurgePlan.make(
            listing: listing, manifest: rows, hostNow: Int64(Date().timeIntervalSince1970),
            minAgeSeconds: Int64(config.purge.minAge.components.seconds), ageBy: config.purge.ageBy,
            protect: config.purge.protect,
            libraryFile: { path, _ in
                lookup.fact(path).map { PurgeLibraryFact(size: $0.size) }
            }, isCommitted: nil)
        if let warning = plan.clockWarning { audit.log("warning", warning) }
        if let warning = plan.ageWarning { audit.log("warning", warning) }
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
        for kept in plan.kept { audit.report(kept.path, kept.reason, kept.detail) }
        if dryRun {
            audit.dryRun(plan.deletions)
            return finish()
        }
        // Moved, not copied: the plan's list is not needed any more.
        batches = PurgeBatches(plan.deletions)
        plan.deletions = []
        nextBatch()
    }

    // MARK: - Deleting

    /// A purge killed mid-batch (or whose connection broke) left its intent: the files of that batch that
    /// are gone now were deleted by it, so they go into the audit if they are not there yet.
    private func recoverInterrupted(_ listing: RemoteListing) {
        let planned = intent.read()
        guard !planned.isEmpty else { return intent.remove() }
        let audited: Set<PurgeRecovery.AuditedFile>
        do {
            audited = Set(try manifest.purgeHistory(since: 0, sources: [job.source.name])
                .filter { $0.folder == job.folder }.map { PurgeRecovery.AuditedFile(path: $0.path, size: $0.size, mtime: $0.mtime) })
        } catch {
            return audit.log("error", "cannot read the audit to complete an interrupted purge: \(error); will try again next time")
        }
        let gone = PurgeRecovery.unrecorded(intent: planned, listing: listing, audited: audited)
        // Audited, told to the ingest and announced as the deletions of this run would be, but not counted in it.
        guard audit.record(gone, counted: false) else {
            return audit.log("error", "cannot complete the audit of an interrupted purge; will try again next time")
        }
        intent.remove()
        if !gone.isEmpty {
            audit.log("warning", "an earlier purge was interrupted after deleting \(gone.count) file\(gone.count == 1 ? "" : "s") "
                      + "it had not recorded yet; they are in the audit now (mediasync purge --history)")
        }
    }

    private func nextBatch() {
        // Stopped between two batches is stopped all the same: not a purge that ran to its end.
        guard !cancelled else { return fail("cancelled") }
        guard let deletions = batches.next(size: Self.batchSize) else { return finish() }
        var batch = PurgeBatch(deletions)
        var parser = RemotePurgeOutput()
        let records = deletions.map { RemotePurgeScript.Record(path: $0.path, size: $0.size, mtime: $0.mtime) }
        do {
            try intent.write(deletions)
        } catch {
            return fail("\(error); nothing was deleted (check the state directory \(config.stateDirectory))")
        }
        // The answers of one output chunk go to the audit in one transaction, not one per file.
        let take = { [unowned self] (feed: ((RemotePurgeResult) -> Void) -> Void) in
            var gone: [PurgePlan.Deletion] = []
            defer { audit.record(gone, counted: true) }
            feed { line in
                switch batch.take(line) {
                case let .deleted(deletion): gone.append(deletion)
                case let .kept(path, reason, detail): audit.report(path, reason, detail)
                case let .removedFolder(path): audit.log("info", "removed the emptied folder \(String(decoding: path, as: UTF8.self))")
                case .nothing: break
                }
            }
        }
        let answered = { [unowned self] (error: String?) in
            for deletion in batch.unanswered { audit.report(deletion.path, .error, "the source gave no answer for it") }
            // The intent stays when the batch was not answered to its end: the next purge completes the audit.
            if let failure = batch.failure(childError: error) { return fail(failure) }
            intent.remove()
            nextBatch()
        }
        if let here {
            return withExtendedLifetime(self) {
                hereWork = here.delete(folder: job.source.path(of: job.folder), minAgeSeconds: Int64(config.purge.minAge.components.seconds),
                                       records: records, onAnswers: { answers in take { answers.forEach($0) } }) {
                    [unowned self] outcome in
                    hereWork = nil
                    answered(ended(outcome))
                }
            }
        }
        let input = commands.purgeStdin(folder: job.folder, minAgeSeconds: Int64(config.purge.minAge.components.seconds),
                                        records: records)
        runChild("purge", commands.purgeArgv(), input: input, onStdout: { bytes in take { parser.feed(bytes, $0) } },
                 then: answered)
    }

    // MARK: - Endings and children

    /// Nil when the child (or the work done here) succeeded, else the line that says what failed.
    private func ended(_ outcome: PurgeChildReport.Outcome) -> String? {
        switch outcome {
        case .succeeded:
            return nil
        case let .succeededDespiteVanished(count):
            audit.log("info", "\(ViewFormat.count(count, "file")) vanished while the folder was listed (deleted at the source)")
            return nil
        case let .failed(line):
            return line
        }
    }

    private func fail(_ line: String) {
        let text = cancelled ? "cancelled" : line
        error = "\(job.id): purge: \(text)"
        audit.log("error", text)
        finish()
    }

    private func finish() {
        guard let callback = onFinished else { return }
        onFinished = nil
        emit(.purgeFinished(cycle: cycleID, job: eventJob, deleted: audit.deleted, kept: audit.kept,
                            bytesFreed: audit.bytesFreed, dryRun: dryRun))
        callback(PurgeResult(job: job.id, deleted: audit.deleted, kept: audit.kept, bytesFreed: audit.bytesFreed,
                             dryRun: dryRun, error: error))
    }

    /// Runs one child to its end; `then` gets nil on success, else one line naming what failed. With
    /// `vanishedIsFine` (the listing), an exit whose only complaints are files that vanished meanwhile (a
    /// generator, a person or an interrupted purge deleting) counts as a success.
    private func runChild(_ what: String, _ argv: [String], input: [UInt8], vanishedIsFine: Bool = false,
                          onStdout: @escaping (UnsafeRawBufferPointer) -> Void,
                          then: @escaping (String?) -> Void) {
        guard !cancelled else { return then("cancelled") }
        let ended = { [unowned self] (outcome: PurgeChildReport.Outcome) in
            child = nil
            then(self.ended(outcome))
        }
        // A child that cannot start tells `ended` at once, which may end the purge and let its owner drop it.
        withExtendedLifetime(self) {
            child = children.run(what, argv, input: input, vanishedIsFine: vanishedIsFine,
                                 cancelled: { [unowned self] in cancelled }, log: { [unowned self] in audit.log($0, $1) },
                                 onStdout: onStdout, then: ended)
        }
    }
}
