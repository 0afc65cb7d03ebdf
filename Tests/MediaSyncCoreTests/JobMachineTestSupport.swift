import MediaSyncCore

/// Shared pieces of the job machine's tests: a job, its settings, listings and plans, and an executor on
/// manual time that answers the machine's file questions from a table, the way the engine's `JobRun`
/// answers them from the staging folder.

let machineJob = JobID(source: "gpu", folder: "outputs")

func machineSettings(stall: Duration = .seconds(300), attempts: Int = 3, backoff: Duration = .seconds(10),
                     maxBackoff: Duration = .seconds(600), purge: Bool = false) -> JobMachine.Settings {
    JobMachine.Settings(job: machineJob, cycle: 7, stallTimeout: stall,
                        retry: RetryPolicy(attempts: attempts, backoff: backoff, maxBackoff: maxBackoff),
                        purgeAfterSync: purge, library: "/srv/media", sourceFolder: "/workspace/outputs",
                        transport: "ssh gpu@box:22", sourceRoot: "/workspace")
}

/// What the list script prints for these files (`find` records), or for a folder that does not exist yet.
func listingOutput(_ names: [String], absent: Bool = false) -> [UInt8] {
    var out = Array("mediasync-listing-begin\n1800000000\n".utf8)
    if absent { return out + Array("absent\n".utf8) }
    out += Array("find\n".utf8)
    for name in names { out += Array("1700000000.0000000000 100 \(name)".utf8) + [0] }
    return out
}

func transfer(_ name: String, size: Int64 = 100) -> SyncPlan.Transfer {
    SyncPlan.Transfer(remotePath: Array(name.utf8), libraryPath: Array("gpu/outputs/\(name)".utf8), size: size,
                      mtime: 1_700_000_000, reason: .new)
}

func plan(_ transfers: [SyncPlan.Transfer], deferred: [SyncPlan.Deferred] = [], adopted: [SyncPlan.Transfer] = []) -> SyncPlan {
    var plan = SyncPlan()
    plan.transfers = transfers
    plan.deferred = deferred
    plan.adopted = adopted
    plan.totalBytes = transfers.reduce(0) { $0 + $1.size }
    return plan
}

let exitedOK = ChildExit(code: 0, signal: 0, description: "exited with status 0")
let killedByUs = ChildExit(code: 0, signal: 15, description: "killed by signal 15 (Terminated)")

func exitCode(_ code: Int32) -> ChildExit {
    ChildExit(code: code, signal: 0, description: "exited with status \(code)")
}

func rsyncError(_ text: String, origin: RsyncMessage.Origin = .rsync) -> RsyncRecord {
    .message(RsyncMessage(severity: .error, origin: origin, text: text))
}

/// rsync's `--out-format` line for a file it starts sending.
func started(_ name: String, size: Int64 = 100) -> RsyncRecord {
    .file(RsyncFileRecord(itemize: ">f+++++++++", name: Array(name.utf8), size: size))
}

/// rsync's progress record that says its `number`th file finished.
func finishedFile(_ number: Int, bytes: Int64) -> RsyncRecord {
    .progress(RsyncProgress(bytes: bytes, percent: 50, bytesPerSecond: 1000, seconds: 0, transferNumber: number,
                            checkRemaining: 0, checkTotal: 2))
}

extension JobAction {
    /// One short line per action, for tests to compare whole sequences.
    var summary: String {
        switch self {
        case .spawnListing: "spawn listing"
        case let .claimStreams(count, _): "claim \(count) streams"
        case let .spawnTransfer(child, files, _, _): "spawn \(child): " + files.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ",")
        case let .stop(child): "stop \(child)"
        case let .plan(listing): "plan \(listing.files.count) listed"
        case let .checkStaged(move): "check \(move.name)"
        case let .moveHome(move): (move.final ? "sweep " : "move ") + move.name
        case let .fileHome(transfer, libraryPath):
            "home \(String(decoding: libraryPath, as: UTF8.self))"
                + (transfer.renamedFrom.map { " (renamed from \(String(decoding: $0, as: UTF8.self)))" } ?? "")
        case .flushFilesHome: "flush"
        case let .progress(.state(state)): "state \(state.rawValue)"
        case let .progress(.plan(files, bytes)): "totals \(files) files \(bytes) bytes"
        case .progress(.record): "record"
        case .progress(.publish): "publish"
        case let .emit(body): body.summary
        case let .arm(timer, at): "arm \(timer) at \(at)"
        case let .disarm(timer): "disarm \(timer)"
        case let .slot(change): "slot \(change)"
        case .startPurge: "start purge"
        case .stopPurge: "stop purge"
        case let .illegal(move): "illegal: \(move.event) while \(move.state.rawValue)"
        }
    }
}

extension MoveHome {
    var name: String { String(decoding: transfer.remotePath, as: UTF8.self) }
}

extension EventBody {
    var summary: String {
        switch self {
        case let .log(level, message, _, _): "\(level): \(message)"
        case let .fileDeferred(_, _, path, reason): "deferred \(String(decoding: path, as: UTF8.self)) \(reason)"
        case let .jobFinished(_, f):
            "job_finished \(f.state.rawValue) files \(f.files) attempts \(f.attempts) exit \(f.exitCode.map(String.init) ?? "-")"
        default: type
        }
    }
}

extension Array where Element == JobAction {
    var summary: [String] { map(\.summary) }

    /// The `job_finished` among these actions, if any.
    var jobFinished: JobFinished? {
        for action in self { if case let .emit(.jobFinished(_, finished)) = action { return finished } }
        return nil
    }

    /// The log lines among these actions, as `level: message`.
    var logs: [String] {
        compactMap { if case let .emit(.log(level, message, _, _)) = $0 { "\(level): \(message)" } else { nil } }
    }
}

/// Runs a machine on manual time the way `JobRun` does: actions depth first (an answer's actions before the
/// ones after it), answering `checkStaged` and `moveHome` from `staged` (the files complete in staging) and
/// `outcomes` (what moving a file comes to, when not simply home). Everything else is the test's to answer.
struct ManualJob {
    var machine: JobMachine
    var now: Double = 100
    var staged: Set<String> = []
    var outcomes: [String: MoveOutcome] = [:]
    /// Every action performed, in order.
    var performed: [JobAction] = []

    init(_ settings: JobMachine.Settings = machineSettings()) {
        machine = JobMachine(settings)
    }

    /// Performs the actions of one event (and of the answers they get); returns them all, in order.
    @discardableResult
    mutating func perform(_ actions: [JobAction]) -> [JobAction] {
        var done: [JobAction] = []
        var stack = Array(actions.reversed())
        while let action = stack.popLast() {
            done.append(action)
            var next: [JobAction] = []
            switch action {
            case let .checkStaged(move):
                let fact = staged.contains(move.name) ? LibraryFileFact(size: move.transfer.size, mtime: move.transfer.mtime) : nil
                next = machine.staged(move, fact, at: now)
            case let .moveHome(move):
                let outcome = outcomes[move.name]
                    ?? (staged.contains(move.name) ? .home(libraryPath: move.transfer.libraryPath, asideOf: nil) : .notDelivered)
                if case .home = outcome { staged.remove(move.name) }
                next = machine.moved(move, outcome, at: now)
            default:
                break
            }
            stack.append(contentsOf: next.reversed())
        }
        performed += done
        return done
    }

    mutating func start() -> [JobAction] { perform(machine.start(at: now, library: .posix)) }

    /// Starts the job, lists `names` and plans them all as new transfers: the stream is running after.
    @discardableResult
    mutating func startTransfer(_ names: [String]) -> [JobAction] {
        var all = start()
        _ = machine.spawned(.listing, pid: 100, at: now)
        machine.listingOutput(listingOutput(names), at: now)
        all += perform(machine.exited(.listing, exitedOK, at: now))
        all += perform(machine.planned(plan(names.map { transfer($0) }), at: now))
        _ = machine.spawned(.stream(0), pid: 101, at: now)
        return all
    }

    /// rsync sends these files whole (each announced, then finished), and the cycle's tick looks at them.
    mutating func send(_ names: [String], from stream: JobChild = .stream(0)) -> [JobAction] {
        var all: [JobAction] = []
        for name in names {
            all += perform(machine.record(started(name), from: stream, at: now))
            staged.insert(name)
            all += perform(machine.record(finishedFile(machine.filesHome + 1, bytes: 100), from: stream, at: now))
        }
        all += perform(machine.tick(at: now))
        return all
    }

    mutating func record(_ record: RsyncRecord, from child: JobChild = .stream(0)) -> [JobAction] {
        perform(machine.record(record, from: child, at: now))
    }

    mutating func exit(_ child: JobChild = .stream(0), _ exit: ChildExit = exitedOK) -> [JobAction] {
        perform(machine.exited(child, exit, at: now))
    }

    mutating func tick(at time: Double) -> [JobAction] {
        now = time
        return perform(machine.tick(at: time))
    }
}
