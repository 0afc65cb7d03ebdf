import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MediaSyncCore
import UV

/// One job, one (source, folder) in one cycle, on the loop: it performs what its `JobMachine` decides
/// (children, the plan's manifest reads, moves home, the retry timer, the purge) and feeds what happened
/// back. It decides nothing itself, and asks its cycle only through `JobHost`. Its files on disk (the looks,
/// the moves home, a placing stream's leftovers) are in JobRun+Files.swift.
///
/// ```
/// cycle ──run/cancel/tick──> JobRun ──events──> JobMachine
///   ^                          │  <──actions──────┘
///   └───── JobHost ────────────┘  (emit, progress, file home, flush, slot)
/// ```
final class JobRun {
    let job: SyncJob
    let id: JobID
    let eventJob: EventJob
    var source: String { job.source.name }
    unowned let host: any JobHost
    let context: SyncContext
    private var machine: JobMachine
    /// The children running, with their output parsers.
    private var children: [JobChild: ChildIO] = [:]
    private var retryTimer: UV.Timer?
    private var purge: PurgeRun?
    /// The purge after this job's sync, when one ran: its result counts in the cycle's summary.
    private(set) var purgeResult: PurgeResult?
    /// The manifest rows being read while the listing runs.
    private var prefetch: ManifestPrefetch?
    /// Where a listing made on another thread comes back (`listHere`).
    private var hereListing: Mailbox<LocalListingNews>?
    /// Actions not performed yet, the next one last: an answer's actions run before the ones after it,
    /// as nested calls would, without nesting (a sweep of 200,000 files is 200,000 answers).
    private var pending: [JobAction] = []
    private var performing = false
    /// The library folder the last file went into, kept open for the next file of the same folder.
    let libraryFolder = OpenFolder()
    /// The staging folder the last finished file was in, kept open likewise: a staged file is looked at and
    /// renamed by its name in it, not by its whole path.
    let stagingSubfolder = OpenFolder()
    /// The move whose staged file was looked at last (`checkStaged`), and found as planned: the `moveHome`
    /// the machine answers with comes in the same turn and need not look again.
    var checkedMove: (index: Int, child: JobChild, staged: StagedFile)?
    /// Library-relative: `<dest>/<folder>`.
    lazy var libraryPrefix = Array(ConfigPath.join(job.source.dest, job.folder).utf8)
    /// `<staging folder>/` as bytes, made once: every finished file's staged path starts with it.
    lazy var stagingPrefix: [UInt8] = Array(context.stagingFolder(for: job).utf8) + [UInt8(ascii: "/")]
    /// The staging folder's path as bytes, without the trailing slash.
    lazy var stagingRoot: [UInt8] = Array(stagingPrefix.dropLast())
    /// `<library>/`, for messages naming a file in the library.
    lazy var libraryPrefixShown: [UInt8] = Array((context.config.library + "/").utf8)

    init(job: SyncJob, host: any JobHost, context: SyncContext) {
        self.job = job
        self.host = host
        self.context = context
        id = JobID(source: job.source.name, folder: job.folder)
        eventJob = EventJob(source: job.source.name, folder: job.folder)
        machine = JobMachine(context.machineSettings(for: job))
    }

    // MARK: - What the cycle reads

    var isFinished: Bool { machine.state.isFinal }
    var holdsSlot: Bool { machine.state.holdsSlot }
    var hasListed: Bool { machine.hasListed }
    /// Its listing runs, or ended and the plan is not made yet: a claim for streams may still come from it (its
    /// `.listed` comes before its plan, so claims settled then wait for the plan's claim or the next tick).
    var isListing: Bool { machine.state == .listing }
    var attempts: Int { machine.attempts }
    var filesHome: Int { machine.filesHome }
    var bytesHome: Int64 { machine.bytesHome }
    var errorLine: String? { machine.errorLine }
    var succeeded: Bool { machine.succeeded }
    /// The slots of `concurrency` the job holds: one while it lists, waits for its plan or sweeps, one per
    /// rsync stream while they run.
    var slotsHeld: Int { machine.state.holdsSlot ? max(1, machine.streamsRunning) : 0 }
    /// The most streams it may run (`job_started`'s `streams`).
    var mostStreams: Int { machine.settings.mostStreams }
    /// What its listing tells of the link: how long the login took, the round trip (`ListingTimer`).
    private(set) var listingTimer: ListingTimer?
    /// Streams waiting for their lane's connection to open (`JobHost.whenLaneOpen`), each with its wait's number.
    private var waitingForLane: [JobChild: Int] = [:]
    /// Streams writing straight into the library that have not ended (`Placement.library`).
    var placingStreams = 0
    /// A placing run of this job did not end (mediasync killed, a power cut): rsync's temporary files of its
    /// names may be in the library. Its marker stays from the first placing stream's start to the last one's
    /// end; read once, at the first stream, before this run makes its own (a staging run removes it).
    lazy var leftoversPossible = FileManager.default.fileExists(atPath: context.placingFolder(for: job) + "/unfinished")
    private var waits = 0

    // MARK: - What the cycle says

    /// The job got a slot: it starts (or, after a wait, resumes).
    func run() { perform(machine.start(at: host.now, library: context.writer.traits)) }

    /// Ends the job before it starts, e.g. when the library is not the library: `reason` is its error.
    func refuse(_ reason: String) { perform(machine.refuseToStart(reason, at: host.now)) }

    func cancel() { perform(machine.cancel(at: host.now)) }

    /// The cycle's tick: the machine looks at the files its streams finished and its stall watchdog at the
    /// children (`JobMachine.tick`); a listing's input held for its round trip
    /// is handed over after a while whatever came (a shell that printed no marker).
    func tick(at now: Double) {
        if let input = listingTimer?.tick(at: now) { handListingInput(input) }
        perform(machine.tick(at: now))
    }

    private func handListingInput(_ input: [UInt8]) {
        guard let process = children[.listing]?.process else { return }
        feed(input, to: process, .listing, name: "the listing")
    }

    // MARK: - Performing

    private func perform(_ actions: [JobAction]) {
        guard !actions.isEmpty else { return }
        pending.append(contentsOf: actions.reversed())
        guard !performing else { return }
        performing = true
        // The last action (`finished`) may end the cycle, and its owner drop it and this job meanwhile.
        withExtendedLifetime(self) {
            while let action = pending.popLast() { execute(action) }
            performing = false
        }
    }

    private func execute(_ action: JobAction) {
        switch action {
        case .spawnListing:
            startListing()
        case let .claimStreams(wanted, bytes):
            // Answered now, or once the cycle's other jobs have listed (`StreamClaims`); never after the job
            // finished (the cycle drops its claim then).
            host.claimStreams(self, wanted: wanted, bytes: bytes) { [weak self] count in
                guard let self else { return }
                perform(machine.streamsGranted(count, at: host.now))
            }
        case let .spawnTransfer(child, files, bytes, placement):
            startTransfer(child, files: files, bytes: bytes, into: placement)
        case let .stop(child):
            stop(child)
        case let .plan(listing):
            makePlan(listing)
        case let .checkStaged(move):
            var staged = move.placement == .library ? placedFile(move) : stagedFile(move)
            var fact = staged?.fact()
            if fact == nil, move.placement == .staging, let again = stagedFileAgain(move) {
                staged = again
                fact = again.fact()
            }
            let planned = fact.map { $0.size == move.transfer.size && context.writer.traits.sameMTime($0.mtime, move.transfer.mtime) } ?? false
            checkedMove = planned ? staged.map { (move.index, move.child, $0) } : nil
            perform(machine.staged(move, fact, at: host.now))
        case let .moveHome(move):
            perform(machine.moved(move, moveHome(move), at: host.now))
        case let .fileHome(transfer, libraryPath):
            host.fileHome(self, transfer, libraryPath: libraryPath)
        case .flushFilesHome:
            host.flushFilesHome()
        case let .progress(change):
            host.progressed(self, change)
        case let .emit(body):
            host.emit(body)
        case let .arm(.retry, at):
            armRetry(at: at)
        case .disarm(.retry):
            retryTimer?.close()
            retryTimer = nil
        case let .slot(change):
            if change == .finished {
                libraryFolder.close()
                stagingSubfolder.close()
            }
            host.slot(self, change)
        case .startPurge:
            startPurge()
        case .stopPurge:
            purge?.cancel()
        case let .illegal(move):
            host.emit(.log(level: "error", message: move.description, cycle: context.cycleID, job: id.description))
        }
    }

    // MARK: - Listing and plan

    private func startListing() {
        prefetch = ManifestPrefetch(store: context.manifest, source: source, folder: job.folder, prefix: libraryPrefix)
        if job.source.transport.isOnThisMachine { return listHere() }
        let commands = context.transportCommands(for: job.source)
        // On ssh the input waits for the script's start marker, so that the answer times the round trip.
        let timer = ListingTimer(startedAt: host.now, input: commands.listStdin(folder: job.folder),
                                 holdInput: job.source.transport.hasLanes)
        listingTimer = timer
        spawn(.listing, commands.listArgv(folder: job.folder), environment: context.childEnvironment(commands),
              input: timer.initialInput)
    }

    /// A folder on this machine is listed on another thread (`LocalListing`), as the script would list it; the
    /// walk's signs of life and its result come back to the loop through a mailbox. Stopping it (a cancel, the
    /// watchdog) cannot cut the walk short: the machine, which asked for the stop, judges its end as a stopped
    /// child's whatever it returns.
    private func listHere() {
        let root = job.source.root, folder = job.folder
        let mailbox: Mailbox<LocalListingNews>
        do {
            mailbox = try Mailbox(loop: context.loop) { [weak self] news in
                guard let self else { return }
                for item in news {
                    switch item {
                    case .alive:
                        machine.listingAlive(at: host.now)
                    case let .done(result):
                        hereListing?.close()
                        hereListing = nil
                        let exit = ChildExit(code: result.code, signal: 0, description: "exited with status \(result.code)")
                        perform(machine.listedHere(result.listing, complaints: result.complaints, exit: exit, at: host.now))
                    }
                }
            }
        } catch {
            return perform(machine.spawnFailed(.listing, "cannot list \(folder): \(error)", at: host.now))
        }
        hereListing = mailbox
        let poster = mailbox.poster
        perform(machine.spawned(.listing, pid: getpid(), at: host.now))
        DispatchQueue.global(qos: .userInitiated).async {
            poster.post(.done(LocalListing.list(root: root, folder: folder) { poster.post(.alive) }))
        }
    }

    private func makePlan(_ listing: RemoteListing) {
        let prefix = libraryPrefix
        let rows: ManifestIndex
        let reserved: Set<[UInt8]>
        do {
            (rows, reserved) = try (prefetch ?? ManifestPrefetch(store: context.manifest, source: source, folder: job.folder, prefix: prefix)).read()
            prefetch = nil
        } catch {
            return perform(machine.failed("cannot read the manifest: \(error)", at: host.now))
        }
        let lookup = LibraryLookup(root: Array(context.config.library.utf8))
        var plan = SyncPlan.make(
            listing: listing, settleSeconds: Int64(job.source.settle.components.seconds), manifest: rows,
            refetch: context.options.refetch,
            libraryFile: { lookup.fact($0) },
            isReserved: reserved.isEmpty ? { _ in false } : { reserved.contains($0) }, traits: context.writer.traits)
        plan.libraryPlain = lookup.plain
        perform(machine.planned(plan, at: host.now))
    }

    // MARK: - Transfer and moves home

    private func startTransfer(_ child: JobChild, files: [[UInt8]], bytes: Int64, into placement: Placement) {
        let staging = context.stagingFolder(for: job)
        var destination = staging
        var placing: String?
        do {
            if placement == .library {
                // rsync writes into the library folder itself; what it displaces goes to mediasync's folder.
                let folder = context.placingFolder(for: job)
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                let fd = try context.writer.openFolder(libraryPrefix)
                close(fd)
                if leftoversPossible { removeLeftovers(of: files) }
                destination = context.config.library + "/" + String(decoding: libraryPrefix, as: UTF8.self)
                // By its real path: rsync's `--backup-dir` then meets no symlink on the way.
                placing = LibraryPaths.real(folder)
            } else {
                try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
                if leftoversPossible {
                    // The run that did not end placed files; this one stages (a name got taken since), and the
                    // files it left unfinished are among this one's (each stream's share): their temporary files
                    // go now, and no placing stream of this run will remove the marker.
                    removeLeftovers(of: files)
                    unlink(context.placingFolder(for: job) + "/unfinished")
                }
            }
        } catch {
            let what = placement == .library ? "the library folder \(String(decoding: libraryPrefix, as: UTF8.self))"
                : "the staging folder \(staging)"
            return perform(machine.spawnFailed(child, "cannot create \(what): \(error)", at: host.now))
        }
        let commands = context.transportCommands(for: job.source)
        let lane = host.claimLane(self, bytes: bytes)
        // A lane being opened ahead is waited for: its login has the head start.
        waits += 1
        let token = waits
        waitingForLane[child] = token
        host.whenLaneOpen(self, lane) { [weak self] in
            guard let self else { return }
            guard waitingForLane[child] == token else { return host.releaseLane(self, lane) }  // stopped meanwhile
            waitingForLane[child] = nil
            let environment = context.childEnvironment(commands)
            let names = commands.namesAsArguments(folder: job.folder, files: files, room: SyncContext.argumentRoom(environment))
            spawn(child, commands.rsyncArgv(folder: job.folder, destination: destination, lane: lane.number, placing: placing,
                                            names: names),
                  environment: environment, input: names == nil ? TransportCommands.filesFromStdin(files) : [],
                  lane: lane, placing: placing != nil ? files : nil)
        }
    }

    /// Stops a child; one still waiting for its lane is not started, and its end told as a stop.
    private func stop(_ child: JobChild) {
        if waitingForLane.removeValue(forKey: child) != nil {
            return perform(machine.exited(child, ChildExit(code: 0, signal: SIGTERM, description: "stopped before it started"),
                                          at: host.now))
        }
        children[child]?.process?.stop(grace: context.options.stopGraceMs)
    }

    // MARK: - Timers and the purge

    private func armRetry(at time: Double) {
        let ms = UInt64(max(0, ((time - host.now) * 1000).rounded()))
        do {
            let timer = try UV.Timer(loop: context.loop)
            timer.start(after: ms) { [unowned self] in
                retryTimer?.close()
                retryTimer = nil
                perform(machine.retryDue(at: host.now))
            }
            retryTimer = timer
        } catch {
            perform(machine.armFailed(.retry, at: host.now))
        }
    }

    /// Purges the folder in this job's slot; the job ends `done` whatever the purge says (its sync is
    /// done), the purge's own error goes out as a log event and in the cycle's result.
    private func startPurge() {
        let run = context.makePurge(for: job)
        purge = run
        run.start { [unowned self] result in
            purge = nil
            purgeResult = result
            perform(machine.purgeFinished(at: host.now))
        }
    }

    // MARK: - Children

    /// Fed as the child reads (a first sync can plan 100,000 names, far more than one write may queue). A
    /// child that stops reading ends with its own exit and messages; any other failure to feed it is told and
    /// the child stopped, so the job never waits on a child that waits on us.
    private func feed(_ input: [UInt8], to started: Child, _ id: JobChild, name: String) {
        started.feedStdin(input) { [unowned self] error in
            guard let error, error.name != "EPIPE", error.name != "ECANCELED", children[id]?.process === started else { return }
            perform(machine.inputFailed(id, "cannot hand \(name) its input: \(error)", at: host.now))
        }
    }

    /// A child's output parsers: rsync's stdout (a stream's records) and stderr (every child's complaints).
    private final class ChildIO {
        var process: Child?
        /// The connection a stream rides, given back when it ends.
        var lane: ConnectionLanes.Lane?
        /// The stream's files when it writes straight into the library (`Placement.library`).
        var placing: [[UInt8]]?
        var stdout = RsyncOutputParser(stream: .stdout)
        var stderr = RsyncOutputParser(stream: .stderr)
    }

    /// `input` nil: handed over later (`feed`).
    private func spawn(_ id: JobChild, _ argv: [String], environment: [String: String], input: [UInt8]?,
                       lane: ConnectionLanes.Lane? = nil, placing: [[UInt8]]? = nil) {
        var command = Command(argv[0], Array(argv.dropFirst()), environment: environment,
                              stdin: .pipe, stdout: .pipe, stderr: .pipe)
        command.diesWithParent = true
        let io = ChildIO()
        io.lane = lane
        io.placing = placing
        let record = { [unowned self] (record: RsyncRecord) in perform(machine.record(record, from: id, at: host.now)) }
        do {
            let started = try Child(loop: context.loop, command: command, onStdout: { [unowned self, unowned io] bytes in
                if case .listing = id {
                    if let input = listingTimer?.printed(bytes, at: host.now) { handListingInput(input) }
                    machine.listingOutput(bytes, at: host.now)
                } else {
                    io.stdout.feed(bytes, record)
                    host.outputRead(self)
                }
            }, onStderr: { [unowned self, unowned io] bytes in
                io.stderr.feed(bytes, record)
                host.outputRead(self)
            }, outputGraceAfterExit: 2_000, onFinished: { [unowned self, unowned io] status, _ in
                io.stderr.finish(record)
                io.stdout.finish(record)
                host.outputRead(self)
                let lane = io.lane, placing = io.placing
                children[id] = nil
                if let lane { host.releaseLane(self, lane) }
                let exit = ChildExit(code: Int32(truncatingIfNeeded: status.code), signal: status.signal,
                                     description: status.description)
                if let placing { placingEnded(placing, status: exit) }
                perform(machine.exited(id, exit, at: host.now))
            })
            io.process = started
            children[id] = io
            if placing != nil {
                if placingStreams == 0 { _ = FileManager.default.createFile(atPath: context.placingFolder(for: job) + "/unfinished", contents: Data()) }
                placingStreams += 1
            }
            perform(machine.spawned(id, pid: started.pid, at: host.now))
            if let input { feed(input, to: started, id, name: argv[0]) }
        } catch {
            if let lane { host.releaseLane(self, lane) }
            perform(machine.spawnFailed(id, "cannot start \(argv[0]): \(error)", at: host.now))
        }
    }
}
