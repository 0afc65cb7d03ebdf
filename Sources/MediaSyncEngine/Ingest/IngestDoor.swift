import Foundation
import MediaSyncCore
import UV

/// The ingest door on the loop (docs/ingest-protocol.md): starts the ingest child from `ingest.command`,
/// shakes hands, sends the outbox's events in id order with at most `window` in flight, removes each on its
/// ack, asks `verify` for the purge, and restarts the child with backoff when it exits, breaks the protocol
/// or stops answering. Syncs never wait for it: they store events in the outbox and go on.
///
/// ```swift
/// let door = IngestDoor(loop: loop, store: manifest, settings: ingest) { level, message in log(level, message) }
/// door.start()
/// cycle.ingest = door                        // the cycle stores events, the door sends them
/// door.shutdown { loop.stop() }              // EOF to the child, SIGTERM after 10 s, SIGKILL 5 s later
/// ```
public final class IngestDoor {
    /// The protocol's timeouts and limits; tests shorten them.
    public struct Timings: Sendable {
        public var handshakeMs: UInt64 = 30_000
        public var ackTimeoutMs: UInt64 = 300_000
        public var verifyTimeoutMs: UInt64 = 10_000
        public var firstBackoffMs: UInt64 = 1_000
        public var maxBackoffMs: UInt64 = 300_000
        /// Up this long after its handshake, a child's next restart starts again at `firstBackoffMs`.
        public var stableMs: UInt64 = 60_000
        /// After EOF on stdin, how long the child gets to exit before SIGTERM (then 5 s before SIGKILL).
        public var exitGraceMs: UInt64 = 10_000
        public var termGraceMs: UInt64 = 5_000
        public var window = 256
        public var maxVerifiesOutstanding = 256
        public init() {}
    }

    enum Phase: Equatable {
        /// Waiting for the backoff before (re)starting.
        case waiting
        case handshaking
        case ready
        /// The child is being stopped (a restart follows unless `closing`).
        case stopping
        /// Not restarted until the config changes: the child said it cannot speak our protocol.
        case halted
        case closed
    }

    public let settings: IngestSettings
    let loop: Loop
    let store: ManifestStore
    let timings: Timings
    let log: (_ level: String, _ message: String) -> Void
    private let extraEnvironment: [String: String]

    var phase: Phase = .waiting
    var child: Child?
    var childPID: Int32 = 0
    var capabilities: Set<String> = []
    var readyAt: UInt64?
    var handshakeDeadline: UInt64 = 0
    var backoffMs: UInt64
    var restartReason: String?
    var haltAfterExit = false
    var stdoutDecoder = RequestLineDecoder(limit: IngestReply.maxLineLength)
    var stderrLine: [UInt8] = []
    var warnedUnknown = false

    // Delivery.
    var worker: OutboxWorker!
    var mailbox: Mailbox<OutboxMessage>?
    /// Bumped at every child start: a load asked for an earlier child is dropped.
    var generation = 0
    var lastSentID: Int64 = 0
    var inFlight: [Int64: UInt64] = [:]
    var loading = false
    var pokedWhileLoading = false
    var pendingDeletes: [Int64] = []
    var deleting = false
    /// Events in the outbox, kept as they are stored and acknowledged.
    public internal(set) var outboxCount = 0
    var outboxLevel = OutboxLevel.normal
    var droppedSinceReport = 0
    var lastDropReport: UInt64?

    // Verify.
    var nextVerifyID: Int64 = 0
    var verifyQueue: [VerifyRequest] = []
    var verifiesOutstanding: [Int64: VerifyRequest] = [:]

    // Timers and the end.
    var housekeeping: UV.Timer?
    var restartTimer: UV.Timer?
    var exitTimer: UV.Timer?
    var onClosed: (() -> Void)?
    var drainWaiter: DrainWaiter?
    /// The door keeps itself alive while its child winds down: an owner (a reload) may let go of it at once.
    private var keepAlive: IngestDoor?

    public init(loop: Loop, store: ManifestStore, settings: IngestSettings, timings: Timings = Timings(),
                environment: [String: String] = [:], log: @escaping (_ level: String, _ message: String) -> Void) {
        self.loop = loop
        self.store = store
        self.settings = settings
        self.timings = timings
        self.extraEnvironment = environment
        self.log = log
        backoffMs = timings.firstBackoffMs
    }

    /// The child's pid while one runs, for `status`.
    public var pid: Int32? { child == nil ? nil : childPID }
    /// `starting`, `ready`, `restarting`, `stopped`: for `status`.
    public var stateName: String {
        switch phase {
        case .waiting: "restarting"
        case .handshaking: "starting"
        case .ready: "ready"
        case .stopping: "restarting"
        case .halted, .closed: "stopped"
        }
    }
    public var eventsInFlight: Int { inFlight.count }
    /// The child refused our protocol: only a reload (or a restart of mediasync) tries again.
    public var isHalted: Bool { phase == .halted }

    /// Opens the outbox worker and starts the first child at once.
    public func start() {
        do {
            let box = try Mailbox<OutboxMessage>(loop: loop) { [unowned self] messages in
                for message in messages { received(message) }
            }
            mailbox = box
            worker = OutboxWorker(store: store, poster: box.poster)
        } catch {
            log("error", "ingest: cannot start the outbox worker: \(error); the ingest is not started")
            phase = .closed
            return
        }
        do {
            outboxCount = try store.outboxCount()
        } catch {
            log("error", "ingest: \(error)")
        }
        if outboxCount > 0 {
            log("info", "ingest: \(outboxCount) event\(outboxCount == 1 ? "" : "s") wait in the outbox from before; they are sent first")
        }
        worker.readMetadata()
        launch()
    }

    /// Events were stored with a file's record (or a cycle's end): read their metadata, send them, and warn
    /// as the outbox fills.
    public func appended(_ result: OutboxAppend) {
        guard phase != .closed, result.stored + result.dropped > 0 else { return }
        outboxCount = result.total
        noteOutboxLevel(dropped: result.dropped)
        if result.stored > 0 {
            worker.readMetadata()
            pump()
        }
    }

    // MARK: - The child

    func launch() {
        guard phase == .waiting else { return }
        restartTimer?.close()
        restartTimer = nil
        generation += 1
        stdoutDecoder = RequestLineDecoder(limit: IngestReply.maxLineLength)
        stderrLine = []
        capabilities = []
        readyAt = nil
        haltAfterExit = false
        restartReason = nil
        warnedUnknown = false
        let argv = settings.command
        var environment = Command.currentEnvironment().merging(extraEnvironment) { $1 }
        // The ingest is not the service: systemd's variables are not for it.
        for name in ["NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID"] {
            environment[name] = nil
        }
        environment["MEDIASYNC_INGEST_PROTOCOL"] = String(IngestLine.protocolVersion)
        let command = Command(argv[0], Array(argv.dropFirst()), environment: environment,
                              stdin: .pipe, stdout: .pipe, stderr: .pipe)
        let started: Child
        do {
            started = try Child(loop: loop, command: command,
                                onStdout: { [unowned self] bytes in stdoutBytes(bytes) },
                                onStderr: { [unowned self] bytes in stderrBytes(bytes) },
                                outputGraceAfterExit: 2_000,
                                onFinished: { [unowned self] status, _ in childFinished(status) })
        } catch {
            log("error", "ingest: cannot start \(argv[0]): \(error); fix `ingest.command` in the config "
                + "(an absolute path to a program, no shell); trying again in \(Self.seconds(backoffMs))")
            scheduleRestart()
            return
        }
        child = started
        childPID = started.pid
        started.stdin?.writeQueueLimit = 1 << 30
        started.stdin?.onDrain = { [unowned self] in pump() }
        phase = .handshaking
        handshakeDeadline = loop.now + timings.handshakeMs
        log("info", "ingest: started \(argv.joined(separator: " ")) (pid \(childPID))")
        write(IngestLine.hello(version: MediaSyncVersion.string, pid: Int(getpid())))
        armHousekeeping()
    }

    func write(_ line: [UInt8]) {
        guard let child, child.stdin?.state == .open else { return }
        do {
            try child.write(line)
        } catch {
            // The child is gone or not reading at all; its exit (or the ack timeout) restarts it.
            log("debug", "ingest: write to pid \(childPID) failed: \(error)")
        }
    }

    /// Stops the child and starts another after the backoff; `reason` is logged once.
    func restart(because reason: String) {
        guard phase == .handshaking || phase == .ready else { return }
        log("error", "ingest: \(settings.command[0]) (pid \(childPID)) \(reason); restarting it")
        restartReason = reason
        phase = .stopping
        // Loads asked for this child are dropped; its in-flight events stay until it is gone, so acks it
        // still writes count.
        generation += 1
        loading = false
        failVerifies(note: "the ingest is being restarted")
        child?.closeStdin()
        child?.stop(grace: timings.termGraceMs)
        armHousekeeping()
    }

    private func childFinished(_ status: TerminationStatus) {
        let wasPhase = phase
        child = nil
        endChildWork()
        exitTimer?.close()
        exitTimer = nil
        if wasPhase == .closed || onClosed != nil {
            phase = .closed
            return closeNow()
        }
        if let up = readyAt, loop.now - up >= timings.stableMs { backoffMs = timings.firstBackoffMs }
        if haltAfterExit || (wasPhase == .handshaking && status.code == 3 && status.signal == 0) {
            phase = .halted
            failVerifies(note: "the ingest is not running", includingQueued: true)
            log("error", "ingest: \(settings.command[0]) (pid \(childPID)) cannot speak protocol \(IngestLine.protocolVersion) "
                + "and \(Self.exited(status)); it is not restarted until the config is reloaded or mediasync restarts")
            return
        }
        if restartReason == nil {
            log("error", "ingest: \(settings.command[0]) (pid \(childPID)) \(Self.exited(status)); restarting it in "
                + "\(Self.seconds(backoffMs)); its unacknowledged events are sent again")
        }
        phase = .waiting
        scheduleRestart()
    }

    /// What a child leaves behind when it goes: events in flight go back to the outbox's queue, verifies
    /// get no answer.
    func endChildWork() {
        generation += 1
        inFlight.removeAll()
        lastSentID = 0
        loading = false
        failVerifies(note: "the ingest stopped before answering")
        armHousekeeping()
        drainWaiter?.check(self)
    }

    private func scheduleRestart() {
        phase = .waiting
        let wait = backoffMs
        backoffMs = min(backoffMs * 2, timings.maxBackoffMs)
        if restartTimer == nil { restartTimer = try? UV.Timer(loop: loop) }
        restartTimer?.start(after: wait) { [unowned self] in launch() }
        // Verify requests queued for the next child still time out while it is not there.
        armHousekeeping()
    }

    // MARK: - The end

    /// Ends the door: EOF to the child (it commits and acks what it holds), SIGTERM after `exitGraceMs`,
    /// SIGKILL `termGraceMs` later; `then` runs once the child is gone and every handle is closed.
    public func shutdown(then: @escaping () -> Void = {}) {
        guard phase != .closed || onClosed != nil else { return then() }
        keepAlive = self
        let previous = onClosed
        let waiting = drainWaiter?.abandon()
        drainWaiter = nil
        onClosed = { previous?(); waiting?(); then() }
        // A purge waiting for answers must end (keeping its files), or its cycle never would.
        failVerifies(note: "mediasync is stopping", includingQueued: true)
        restartTimer?.close()
        restartTimer = nil
        guard let child else {
            phase = .closed
            return closeNow()
        }
        phase = .closed
        child.closeStdin()
        if let timer = try? UV.Timer(loop: loop) {
            timer.start(after: timings.exitGraceMs) { [unowned self] in
                log("warning", "ingest: pid \(childPID) did not exit within \(Self.seconds(timings.exitGraceMs)) of end of input; stopping it")
                self.child?.stop(grace: timings.termGraceMs)
            }
            exitTimer = timer
        } else {
            child.stop(grace: timings.termGraceMs)
        }
    }

    /// For one-shot commands: waits while the ingest keeps acknowledging (at most `idleMs` without an ack),
    /// then shuts down. Events still waiting stay in the outbox for the next run.
    public func finish(idleMs: UInt64 = 10_000, then: @escaping () -> Void) {
        guard phase != .closed else { return then() }
        let waiter = DrainWaiter(idleMs: idleMs, then: then)
        drainWaiter = waiter
        waiter.arm(self)
        waiter.check(self)
    }

    private func closeNow() {
        housekeeping?.close()
        housekeeping = nil
        restartTimer?.close()
        restartTimer = nil
        exitTimer?.close()
        exitTimer = nil
        worker?.waitIdle()
        // Acks that came after the last delete was queued: the outbox must not send them again.
        if !pendingDeletes.isEmpty {
            do {
                try store.deleteOutbox(pendingDeletes)
            } catch {
                log("error", "ingest: cannot remove acknowledged events from the outbox: \(error); they will be sent again")
            }
            pendingDeletes.removeAll()
        }
        mailbox?.close()
        mailbox = nil
        let callback = onClosed
        onClosed = nil
        callback?()
        keepAlive = nil
    }

    /// The door for `config.ingest`, started; nil when no ingest is configured.
    public static func start(loop: Loop, store: ManifestStore, config: Config, timings: Timings = Timings(),
                             environment: [String: String] = [:],
                             log: @escaping (_ level: String, _ message: String) -> Void) -> IngestDoor? {
        guard let settings = config.ingest else { return nil }
        let door = IngestDoor(loop: loop, store: store, settings: settings, timings: timings, environment: environment, log: log)
        door.start()
        return door
    }

    /// "exited with status 1", "exited: killed by signal 9 (Killed)".
    static func exited(_ status: TerminationStatus) -> String {
        status.signal != 0 ? "exited: \(status)" : "\(status)"
    }

    static func seconds(_ ms: UInt64) -> String {
        ms % 1000 == 0 ? "\(ms / 1000) s" : String(format: "%.1f s", Double(ms) / 1000)
    }
}
