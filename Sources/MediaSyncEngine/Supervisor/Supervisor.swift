import Foundation
import MediaSyncCore
import UV

/// `mediasync serve`: runs cycles on one loop (at start, then every `interval`, or when triggered),
/// publishes every event on one bus, and serves the control socket (attach, status, trigger, pause,
/// resume, reload). SIGTERM/SIGINT stop it cleanly; SIGHUP reloads the config.
///
/// ```swift
/// let supervisor = Supervisor(config: config, loadConfig: { reread() })
/// supervisor.log = { level, message in logger.log(level, message) }   // the logging hook
/// exit(try supervisor.run())
/// ```
public final class Supervisor {
    /// Knobs a person rarely needs; tests shrink the queues and the ring through the environment.
    public struct Options: Sendable {
        public var stopGraceMs: UInt64 = 3_000
        /// How far an attached client may fall behind the live events (bytes and lines, progress not
        /// counted) before it is cut off. A 20,000-file cycle publishes about 20,000 lines in a few seconds.
        public var clientQueueBytes = 4 << 20
        public var clientQueueCount = 20_000
        public var ringCapacity = 10_000
        /// Past this, shutdown stops waiting for the cycle (children are killed by the loop's teardown).
        public var shutdownDeadlineMs: UInt64 = 8_000
        public var childEnvironment: [String: String] = [:]
        public var ingestTimings = IngestDoor.Timings()

        public init() {}

        /// Defaults, with `MEDIASYNC_CLIENT_QUEUE_BYTES` and `MEDIASYNC_EVENT_RING` (hidden test knobs) applied.
        public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> Options {
            var options = Options()
            if let bytes = env["MEDIASYNC_CLIENT_QUEUE_BYTES"].flatMap(Int.init), bytes > 0 { options.clientQueueBytes = bytes }
            if let ring = env["MEDIASYNC_EVENT_RING"].flatMap(Int.init), ring > 0 { options.ringCapacity = ring }
            return options
        }
    }

    /// Why the config could not be (re)loaded: every problem, one per line.
    public struct ConfigLoadFailure: Error, Sendable {
        public var errors: [String]
        public init(errors: [String]) { self.errors = errors }
    }

    public let bus: EventBus
    /// Live lines for the attached clients, held once for all of them.
    let clientLog: ClientLog
    private var appendsSinceTrim = 0
    public internal(set) var config: Config
    let options: Options
    let loadConfig: () -> Result<Config, ConfigLoadFailure>

    /// Logging hook: the supervisor's own messages (started, stopping, client refused...). The
    /// default writes `mediasync serve: <message>` to stderr; serve plugs its logger in here.
    public var log: (_ level: String, _ message: String) -> Void = { _, message in
        FileHandle.standardError.write(Data("mediasync serve: \(message)\n".utf8))
    }
    /// Called once the socket listens and the first cycle started (sd_notify READY=1 goes here).
    public var onReady: (() -> Void)?
    /// Called when shutdown begins (sd_notify STOPPING=1 goes here).
    public var onStopping: (() -> Void)?
    /// systemd's notification socket (`Type=notify`): READY, STATUS, RELOADING, STOPPING go there; nil when
    /// systemd did not start us. Set before `run()`.
    public var systemd: SystemdNotifier?
    /// How often to send `WATCHDOG=1`; nil when systemd's watchdog is off. Set before `run()`.
    public var watchdogPeriod: Duration?
    var watchdogTimer: UV.Timer?
    /// True once every bus event goes through the log bridge (`routeLogs(to:)`): warnings then need
    /// not be repeated to `log`.
    var busIsLogged = false
    /// What the STATUS line counts: jobs finished and jobs in the running cycle.
    var statusJobs = (finished: 0, total: 0)
    var lastStatus: String?

    var loop: Loop!
    var manifest: ManifestStore!
    /// The ingest door while `ingest` is configured.
    var ingest: IngestDoor?
    var server: UnixServer?
    var socketGroupID: gid_t?
    var scheduler: CycleScheduler
    var intervalTimer: UV.Timer?
    var deadlineTimer: UV.Timer?
    var signals: [UV.Signal] = []
    var clients: [Int: ControlConnection] = [:]
    var nextClientID = 0
    var stopping = false

    // The running cycle.
    var cycle: SyncCycle?
    var cycleID: Int64 = 0
    var cycleSources: Set<String> = []
    var failedSources: Set<String> = []
    var cycleWaiters: [ControlConnection] = []
    var pendingWaiters: [ControlConnection] = []

    // What status and snapshot show.
    var jobRecords: [String: JobRecord] = [:]
    var lastCycle: (id: Int64, result: CycleResult, finishedAtMs: Int64)?

    public init(config: Config, options: Options = .fromEnvironment(),
                loadConfig: @escaping () -> Result<Config, ConfigLoadFailure>) {
        self.config = config
        self.options = options
        self.loadConfig = loadConfig
        bus = EventBus(capacity: options.ringCapacity)
        clientLog = ClientLog(maxLagBytes: options.clientQueueBytes, maxLagCount: options.clientQueueCount)
        scheduler = CycleScheduler(sources: config.sources.map(\.name), interval: config.interval.seconds,
                                   backoff: config.retry.backoff.seconds, maxBackoff: config.retry.maxBackoff.seconds)
    }

    static func wallMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
    var now: Double { Double(loop.now) / 1000 }

    /// Runs until SIGTERM or SIGINT; returns the exit status (0 after a clean stop). Throws when it
    /// cannot start (library missing, socket taken by a running supervisor...).
    public func run() throws -> Int32 {
        manifest = try SyncRunner.openState(config)
        Loop.prepareProcess()
        loop = try Loop()
        do {
            socketGroupID = try config.socketGroup.map(ControlSocket.groupID)
            let server = try ControlSocket.open(loop: loop, path: config.socket, group: config.socketGroup)
            try server.listen(onError: { [unowned self] error in log("warning", "accepting a client failed: \(error)") },
                              onConnection: { [unowned self] pipe in accept(pipe) })
            self.server = server
        } catch let failure as ControlSocket.Failure {
            loop.closeAll()
            try? loop.close()
            throw SyncRunner.Failure(description: failure.description)
        }
        _ = bus.subscribe { [unowned self] event, line in fanOut(event, line) }
        for signum in [SIGTERM, SIGINT, SIGHUP] {
            let watcher = try UV.Signal(loop: loop)
            try watcher.start(signum) { [unowned self] signum in
                if signum == SIGHUP { _ = reload() } else { shutdown(reason: signum == SIGTERM ? "SIGTERM" : "SIGINT") }
            }
            signals.append(watcher)
        }
        intervalTimer = try UV.Timer(loop: loop)
        startIngest()
        scheduler = CycleScheduler(sources: config.sources.map(\.name), interval: config.interval.seconds,
                                   backoff: config.retry.backoff.seconds, maxBackoff: config.retry.maxBackoff.seconds,
                                   now: now)
        let started = "supervisor started (pid \(getpid())) on \(config.socket), a cycle every \(DurationSyntax.format(config.interval))"
        if !busIsLogged { log("info", started) }
        publish(.log(level: "info", message: started, cycle: nil, job: nil))
        publish(.log(level: "info", message: "library \(config.library) on \(LibraryProbe.probe(library: config.library).summary)",
                     cycle: nil, job: nil))
        if let plan = scheduler.due(at: now) { startCycle(plan) }
        armIntervalTimer()
        notifyReady()
        startWatchdog()
        onReady?()
        loop.run()
        loop.closeAll()
        try? loop.close()
        log("info", "stopped")
        return 0
    }

    // MARK: - Events

    func publish(_ body: EventBody) {
        bus.publish(body, timeMs: Self.wallMs())
    }

    private func fanOut(_ event: Event, _ line: [UInt8]) {
        track(event)
        // Nobody attached: nothing to hold (a client attaching later starts from its snapshot).
        guard clients.values.contains(where: \.attached) else {
            if clientLog.heldCount > 0 { clientLog.trim(before: nil) }
            return
        }
        clientLog.append(EventLine(seq: event.seq, type: event.type, line: line))
        for client in clients.values where client.attached { client.logGrew() }
        appendsSinceTrim += 1
        if appendsSinceTrim >= 64 { trimClientLog() }
    }

    /// Drops the live lines every attached client has been sent.
    func trimClientLog() {
        appendsSinceTrim = 0
        clientLog.trim(before: clients.values.filter { $0.attached && !$0.isClosed }.map(\.cursor).min())
    }

    private func track(_ event: Event) {
        switch event.body {
        case let .jobFinished(cycle, finished):
            var record = jobRecords[finished.job.job] ?? JobRecord(source: finished.job.source, folder: finished.job.folder)
            record.last = finished
            record.cycle = cycle
            record.finishedAtMs = event.timeMs
            record.skipped = nil
            jobRecords[finished.job.job] = record
            if finished.state == .failed { failedSources.insert(finished.job.source) }
        case let .log(level, message, _, _) where (level == "error" || level == "warning") && !busIsLogged:
            log(level, message)
        default:
            break
        }
        trackStatus(event)
    }

    // MARK: - Cycles

    func startCycle(_ plan: CycleScheduler.Plan) {
        let wall = Self.wallMs()
        cycleID = (try? manifest.startCycle(at: wall / 1000)) ?? cycleID + 1
        for skip in plan.skipped {
            let at = Timestamp.rfc3339(milliseconds: wall + Int64((skip.until - now) * 1000))
            let reason = "skipped: backing off after \(skip.failedCycles) failed cycle\(skip.failedCycles == 1 ? "" : "s"); next try at \(at)"
            for job in config.jobs where job.source.name == skip.source {
                var record = jobRecords[job.id] ?? JobRecord(source: job.source.name, folder: job.folder)
                record.skipped = reason
                record.cycle = cycleID
                jobRecords[job.id] = record
                publish(.log(level: "warning", message: "\(job.id): \(reason)", cycle: cycleID, job: job.id))
            }
        }
        var syncOptions = SyncOptions(sources: plan.sources, childEnvironment: options.childEnvironment,
                                      stopGraceMs: options.stopGraceMs)
        syncOptions.refetch = false
        let names = Set(plan.sources ?? config.sources.map(\.name))
        cycleSources = names.intersection(config.sources.map(\.name))
        failedSources = []
        cycleWaiters = pendingWaiters
        pendingWaiters = []
        let cycle = SyncCycle(loop: loop, config: config, manifest: manifest, cycleID: cycleID, options: syncOptions) { [unowned self] body in
            publish(body)
        }
        cycle.ingest = ingest
        self.cycle = cycle
        cycle.start { [unowned self] result in cycleEnded(result) }
        updateStatus()
    }

    private func cycleEnded(_ result: CycleResult) {
        let id = cycleID
        cycle = nil
        try? manifest.finishCycle(id, at: Self.wallMs() / 1000, jobsDone: result.jobsDone, jobsFailed: result.jobsFailed,
                                  files: result.files, bytes: result.bytes)
        lastCycle = (id, result, Self.wallMs())
        let reply = ControlProtocol.okLine { o in
            o.field("type", "cycle_finished")
            o.field("cycle", id)
            o.field("jobs_done", result.jobsDone)
            o.field("jobs_failed", result.jobsFailed)
            o.field("files", result.files)
            o.field("bytes", result.bytes)
            o.field("seconds", result.seconds, decimals: 3)
        }
        for waiter in cycleWaiters where !waiter.isClosed { waiter.sendReply(reply) }
        cycleWaiters = []
        if stopping {
            finishShutdown()
            return
        }
        if let next = scheduler.cycleFinished(failedSources: failedSources, ranSources: cycleSources, at: now) {
            startCycle(next)
        }
        armIntervalTimer()
        updateStatus()
    }

    func armIntervalTimer() {
        guard !stopping, let timer = intervalTimer else { return }
        // While a cycle runs its end decides what follows, and while paused `resume` does: a timer
        // armed then would find the due time passed and fire again at once, spinning the loop.
        guard scheduler.state == .idle else { timer.stop(); return }
        let wait = max(0.001, scheduler.nextDue - now)
        timer.start(after: UInt64((wait * 1000).rounded(.up))) { [unowned self] in
            if let plan = scheduler.due(at: now) { startCycle(plan) }
            armIntervalTimer()
        }
    }

    // MARK: - Shutdown

    func shutdown(reason: String) {
        guard !stopping else { return }
        stopping = true
        systemd?.send("STOPPING=1\nSTATUS=stopping (\(reason))")
        onStopping?()
        if !busIsLogged { log("info", "stopping (\(reason))") }
        publish(.log(level: "info", message: "supervisor stopping (\(reason))", cycle: nil, job: nil))
        server?.close()
        server = nil
        intervalTimer?.close()
        intervalTimer = nil
        if let cycle {
            if let timer = try? UV.Timer(loop: loop) {
                timer.start(after: options.shutdownDeadlineMs) { [unowned self] in
                    log("warning", "the cycle did not stop in time; killing its children")
                    finishShutdown()
                }
                deadlineTimer = timer
            }
            cycle.cancel()
        } else {
            finishShutdown()
        }
    }

    /// Everything closes; `loop.run()` returns once the last handle is gone.
    private func finishShutdown() {
        deadlineTimer?.close()
        deadlineTimer = nil
        watchdogTimer?.close()
        watchdogTimer = nil
        for watcher in signals { watcher.close() }
        signals.removeAll()
        for client in Array(clients.values) { client.close() }
        clients.removeAll()
        // The ingest commits and acks what it holds (EOF, then SIGTERM after 10 s); children still running past
        // the deadline get SIGKILL from the loop's teardown.
        if let door = ingest {
            ingest = nil
            door.shutdown { [unowned self] in loop.stop() }
        } else {
            loop.stop()
        }
    }

    /// Starts the door for the config's `ingest`, if any.
    func startIngest() {
        ingest = IngestDoor.start(loop: loop, store: manifest, config: config, timings: options.ingestTimings,
                                  environment: options.childEnvironment) { [unowned self] level, message in
            publish(.log(level: level, message: message, cycle: nil, job: nil))
        }
    }
}

/// The last thing known about one (source, folder) job, for status and snapshot.
struct JobRecord {
    var source: String
    var folder: String
    var last: JobFinished?
    var cycle: Int64?
    var finishedAtMs: Int64?
    /// Why it did not run in the latest cycle (backing off), nil when it ran.
    var skipped: String?
}

extension Duration {
    /// Whole and fractional seconds.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
