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
    /// The config in force (a reload replaces it, keeping the socket and the state dir).
    public var config: Config { machine.config }
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
    /// True once every bus event goes through the log bridge (`routeLogs(to:)`): warnings then need
    /// not be repeated to `log`.
    var busIsLogged = false

    /// Every decision: when cycles run, who waits for them, shutdown's steps, what a reload changes. It
    /// changes only through `feed` and `ask`.
    private(set) var machine: SupervisorMachine
    /// The control socket's connections and the live lines they share.
    let clients: ControlClients
    private(set) var loop: Loop!
    private(set) var manifest: ManifestStore!
    /// The ingest door while `ingest` is configured.
    private(set) var ingest: IngestDoor?
    /// The running cycle.
    private(set) var cycle: SyncCycle?
    /// Per source, how many connections its last cycle's big streams held at once: the next cycle opens as
    /// many ahead while it lists (`SyncOptions.laneHints`).
    private var laneHints: [String: Int]?
    /// The running purge cycle of its own (Supervisor+Purge.swift).
    var purgeCycle: PurgeCycle?
    /// What `mediasync metrics` and `metrics_file` show (Supervisor+Metrics.swift).
    var metrics = ServeMetrics()
    var metricsFileFailing = false
    /// The socket while it accepts, and the group allowed in besides our uid.
    private(set) var server: (socket: UnixServer, group: gid_t?)?
    /// The interval and shutdown-deadline timers, the watchdog's, and the signal watchers.
    var timers = Timers()

    struct Timers {
        var interval: UV.Timer?
        var deadline: UV.Timer?
        var watchdog: UV.Timer?
        /// When the machine next looks at the wall clock for a scheduled purge.
        var purge: UV.Timer?
        var signals: [UV.Signal] = []

        mutating func closeAll() {
            for timer in [interval, deadline, watchdog, purge] { timer?.close() }
            for watcher in signals { watcher.close() }
            self = Timers()
        }
    }

    public init(config: Config, options: Options = .fromEnvironment(),
                loadConfig: @escaping () -> Result<Config, ConfigLoadFailure>) {
        self.options = options
        self.loadConfig = loadConfig
        bus = EventBus(capacity: options.ringCapacity)
        clients = ControlClients(maxLagBytes: options.clientQueueBytes, maxLagCount: options.clientQueueCount)
        machine = SupervisorMachine(config: config, shutdownDeadlineMs: options.shutdownDeadlineMs)
    }

    static func wallMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
    var now: Double { Double(loop.now) / 1000 }
    /// Both clocks, for the machine.
    var time: SupervisorTime { SupervisorTime(monotonic: now, wallMs: Self.wallMs()) }

    /// Runs until SIGTERM or SIGINT; returns the exit status (0 after a clean stop). Throws when it
    /// cannot start (library missing, socket taken by a running supervisor...).
    public func run() throws -> Int32 {
        manifest = try SyncRunner.openState(config)
        Loop.prepareProcess()
        loop = try Loop()
        do {
            let group = try config.socketGroup.map(ControlSocket.groupID)
            let server = try ControlSocket.open(loop: loop, path: config.socket, group: config.socketGroup)
            try server.listen(onError: { [unowned self] error in log("warning", "accepting a client failed: \(error)") },
                              onConnection: { [unowned self] pipe in accept(pipe) })
            self.server = (server, group)
        } catch let failure as ControlSocket.Failure {
            loop.closeAll()
            try? loop.close()
            throw SyncRunner.Failure(description: failure.description)
        }
        _ = bus.subscribe { [unowned self] event, line in fanOut(event, line) }
        startMetrics()
        for signum in [SIGTERM, SIGINT, SIGHUP] {
            let watcher = try UV.Signal(loop: loop)
            try watcher.start(signum) { [unowned self] signum in
                if signum == SIGHUP { _ = reload() } else { shutdown(reason: signum == SIGTERM ? "SIGTERM" : "SIGINT") }
            }
            timers.signals.append(watcher)
        }
        timers.interval = try UV.Timer(loop: loop)
        startIngest()
        machine.sendsStatus = systemd != nil
        let started = "supervisor started (pid \(getpid())) on \(config.socket), a cycle every \(DurationSyntax.format(config.interval))"
        if !busIsLogged { log("info", started) }
        publish(.log(level: "info", message: started, cycle: nil, job: nil))
        publish(.log(level: "info", message: "library \(config.library) on \(LibraryProbe.probe(library: config.library).summary)",
                     cycle: nil, job: nil))
        if let note = config.purge.ageBy.note { publish(.log(level: "warning", message: note, cycle: nil, job: nil)) }
        feed { $0.start(at: $1) }
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
        feed { $0.observed(event, at: $1) }
        if case let .log(level, message, _, _) = event.body, level == "error" || level == "warning", !busIsLogged {
            log(level, message)
        }
        clients.publish(event, line)
    }

    // MARK: - Performing the machine's actions

    /// Hands an event to the machine and performs what it returns: the only way the machine changes.
    func feed(_ event: (inout SupervisorMachine, SupervisorTime) -> [SupervisorAction]) {
        let time = self.time
        perform(event(&machine, time))
    }

    /// `feed` for an event that also answers.
    func ask<Answer>(_ event: (inout SupervisorMachine, SupervisorTime) -> (Answer, [SupervisorAction])) -> Answer {
        let time = self.time
        let (answer, actions) = event(&machine, time)
        perform(actions)
        return answer
    }

    private func perform(_ actions: [SupervisorAction]) {
        for action in actions { perform(action) }
    }

    private func perform(_ action: SupervisorAction) {
        switch action {
        case let .startCycle(plan):
            startCycle(plan)
        case let .armInterval(after):
            timers.interval?.start(after: after) { [unowned self] in feed { $0.intervalFired(at: $1) } }
        case .stopInterval:
            timers.interval?.stop()
        case let .publish(level, message, cycle, job):
            publish(.log(level: level, message: message, cycle: cycle, job: job))
        case let .log(level, message):
            log(level, message)
        case let .replyCycleFinished(waiters, id, totals):
            let reply = ControlProtocol.okLine { o in
                o.field("type", "cycle_finished")
                o.field("cycle", id)
                o.field("jobs_done", totals.jobsDone)
                o.field("jobs_failed", totals.jobsFailed)
                o.field("files", totals.files)
                o.field("bytes", totals.bytes)
                o.field("seconds", totals.seconds, decimals: 3)
            }
            for id in waiters { clients[id]?.sendReply(reply) }
        case let .systemdStatus(text):
            systemd?.status(text)
        case let .announceStopping(reason):
            systemd?.send("STOPPING=1\nSTATUS=stopping (\(reason))")
            onStopping?()
            if !busIsLogged { log("info", "stopping (\(reason))") }
        case .stopAccepting:
            server?.socket.close()
            server = nil
            timers.interval?.close()
            timers.interval = nil
            timers.purge?.close()
            timers.purge = nil
        case .cancelCycle:
            cycle?.cancel()
            purgeCycle?.cancel()
        case let .armShutdownDeadline(after):
            if let timer = try? UV.Timer(loop: loop) {
                timer.start(after: after) { [unowned self] in feed { machine, _ in machine.shutdownDeadlinePassed() } }
                timers.deadline = timer
            }
        case .finishShutdown:
            finishShutdown()
        case .replaceIngest:
            let old = ingest
            ingest = nil
            old?.shutdown()
            startIngest()
            cycle?.ingest = ingest
        case let .startPurgeCycle(plan):
            startPurgeCycle(plan)
        case let .armPurgeTimer(after):
            armPurgeTimer(afterMs: after)
        case let .replyPurgeFinished(waiters, id, totals):
            replyPurgeFinished(waiters, cycle: id, totals: totals)
        }
    }

    // MARK: - Cycles

    private func startCycle(_ plan: CycleScheduler.Plan) {
        let id = (try? manifest.startCycle(at: Self.wallMs() / 1000)) ?? machine.cycleID + 1
        feed { $0.cycleStarted(id: id, plan: plan, at: $1) }
        var syncOptions = SyncOptions(sources: plan.sources, childEnvironment: options.childEnvironment,
                                      stopGraceMs: options.stopGraceMs)
        syncOptions.refetch = false
        syncOptions.laneHints = laneHints
        let cycle = SyncCycle(loop: loop, config: config, manifest: manifest, cycleID: id, options: syncOptions) { [unowned self] body in
            publish(body)
        }
        cycle.ingest = ingest
        self.cycle = cycle
        cycle.start { [unowned self] result in cycleEnded(result) }
        feed { $0.refreshStatus(at: $1) }
    }

    private func cycleEnded(_ result: CycleResult) {
        cycle = nil
        laneHints = (laneHints ?? [:]).merging(result.lanesUsed) { _, used in used }
        try? manifest.finishCycle(machine.cycleID, at: Self.wallMs() / 1000, jobsDone: result.jobsDone, jobsFailed: result.jobsFailed,
                                  files: result.files, bytes: result.bytes)
        let totals = CycleTotals(jobsDone: result.jobsDone, jobsFailed: result.jobsFailed, files: result.files,
                                 bytes: result.bytes, seconds: result.seconds)
        feed { $0.cycleEnded(totals, at: $1) }
    }

    // MARK: - Shutdown

    func shutdown(reason: String) {
        feed { machine, _ in machine.shutdown(reason: reason) }
    }

    /// Everything closes; `loop.run()` returns once the last handle is gone.
    private func finishShutdown() {
        timers.closeAll()
        clients.closeAll()
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
