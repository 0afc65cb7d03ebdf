import Foundation
import MediaSyncCore
import UV

/// The ingest door on the loop (docs/ingest-protocol.md): starts the ingest child from `ingest.command`,
/// shakes hands, sends the outbox's events in id order with at most `window` in flight, removes each on its
/// ack, asks `verify` for the purge, and restarts the child with backoff when it exits, breaks the protocol
/// or stops answering. Syncs never wait for it: they store events in the outbox and go on.
///
/// Every decision is `IngestDoorMachine`'s (MediaSyncCore); this class performs its actions (the child,
/// the timers, the outbox worker, the log) and feeds what happened back to it.
///
/// ```swift
/// let door = IngestDoor(loop: loop, store: manifest, settings: ingest) { level, message in log(level, message) }
/// door.start()
/// cycle.ingest = door                        // the cycle stores events, the door sends them
/// door.shutdown { loop.stop() }              // EOF to the child, SIGTERM after 10 s, SIGKILL 5 s later
/// ```
public final class IngestDoor {
    /// The protocol's timeouts and limits; tests shorten them.
    public typealias Timings = IngestTimings

    public let settings: IngestSettings
    let loop: Loop
    let store: ManifestStore
    let log: (_ level: String, _ message: String) -> Void
    private let extraEnvironment: [String: String]

    private var machine: IngestDoorMachine
    private var child: Child?
    private var timers: [IngestDoorTimer: UV.Timer] = [:]
    private var outbox: (worker: OutboxWorker, mailbox: Mailbox<OutboxMessage>)?
    private var completions = Completions()
    /// Actions waiting to be performed: what an action's result leads to runs after the actions before it.
    private var queue: [IngestDoorAction] = []
    private var performing = false
    /// The door keeps itself alive while its child winds down: an owner (a reload) may let go of it at once.
    private var keepAlive: IngestDoor?

    /// The callbacks the machine's actions refer to.
    private struct Completions {
        var verify: [Int: (_ answers: [[UInt8]: Bool], _ note: String?) -> Void] = [:]
        /// `finish`'s, until it ends.
        var drain: (() -> Void)?
        /// Run once the door has closed, in the order they were given.
        var closed: [() -> Void] = []
    }

    public init(loop: Loop, store: ManifestStore, settings: IngestSettings, timings: Timings = Timings(),
                environment: [String: String] = [:], log: @escaping (_ level: String, _ message: String) -> Void) {
        self.loop = loop
        self.store = store
        self.settings = settings
        self.extraEnvironment = environment
        self.log = log
        machine = IngestDoorMachine(settings: settings, timings: timings, ownPID: Int(getpid()))
    }

    /// The child's pid while one runs, for `status`.
    public var pid: Int32? { child == nil ? nil : machine.childPID }
    /// `starting`, `ready`, `restarting`, `stopped`: for `status`.
    public var stateName: String { machine.stateName }
    public var eventsInFlight: Int { machine.inFlight.count }
    /// Events in the outbox, kept as they are stored and acknowledged.
    public var outboxCount: Int { machine.outboxCount }
    /// The child refused our protocol: only a reload (or a restart of mediasync) tries again.
    public var isHalted: Bool { machine.isHalted }

    /// Opens the outbox worker and starts the first child at once.
    public func start() {
        do {
            let box = try Mailbox<OutboxMessage>(loop: loop) { [unowned self] messages in
                for message in messages { received(message) }
            }
            outbox = (OutboxWorker(store: store, poster: box.poster), box)
        } catch {
            return feed { machine, _ in machine.workerFailed("\(error)") }
        }
        var count = 0
        do {
            count = try store.outboxCount()
        } catch {
            log("error", "ingest: \(error)")
        }
        feed { $0.start(outboxCount: count, at: $1) }
    }

    /// Events were stored with a file's record (or a cycle's end): read their metadata, send them, and warn
    /// as the outbox fills.
    public func appended(_ result: OutboxAppend) {
        feed { $0.appended(result, at: $1) }
    }

    /// Asks the ingest whether it committed each file (docs/ingest-protocol.md "Verify"). `done` runs once,
    /// on the loop, with the answers by library path; a file without an answer (no reply within the verify
    /// timeout, no ingest running, no `verify` capability) is absent, and `note` says why, for the log.
    /// Requests wait for a child that is starting, up to the verify timeout.
    public func verify(_ files: [IngestVerifyFile], done: @escaping (_ answers: [[UInt8]: Bool], _ note: String?) -> Void) {
        machine.stdinBacklog = child?.stdin?.queuedBytes ?? 0
        let (batch, actions) = machine.verify(files, at: loop.now)
        completions.verify[batch] = done
        perform(actions)
    }

    /// Ends the door: EOF to the child (it commits and acks what it holds), SIGTERM after `exitGraceMs`,
    /// SIGKILL `termGraceMs` later; `then` runs once the child is gone and every handle is closed.
    public func shutdown(then: @escaping () -> Void = {}) {
        keepAlive = self
        // A `finish` under way ends with this shutdown: its completion runs first.
        if let drain = completions.drain {
            completions.drain = nil
            completions.closed.append(drain)
        }
        completions.closed.append(then)
        feed { $0.shutdown(at: $1) }
    }

    /// For one-shot commands: waits while the ingest keeps acknowledging (at most `idleMs` without an ack),
    /// then shuts down. Events still waiting stay in the outbox for the next run.
    public func finish(idleMs: UInt64 = 10_000, then: @escaping () -> Void) {
        completions.drain = then
        feed { $0.finish(idleMs: idleMs, at: $1) }
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

    // MARK: - Performing the machine's actions

    /// Hands an event to the machine (with the pipe's backlog as it is now) and performs what it returns.
    private func feed(_ event: (inout IngestDoorMachine, _ now: UInt64) -> [IngestDoorAction]) {
        machine.stdinBacklog = child?.stdin?.queuedBytes ?? 0
        perform(event(&machine, loop.now))
    }

    private func perform(_ actions: [IngestDoorAction]) {
        queue += actions
        guard !performing else { return }
        performing = true
        defer { performing = false }
        var checkOutbox = false
        while true {
            while !queue.isEmpty {
                let action = queue.removeFirst()
                if case .checkOutboxEmpty = action { checkOutbox = true } else { perform(action) }
            }
            // After everything else the event led to, so the machine decides on its settled state.
            guard checkOutbox else { return }
            checkOutbox = false
            if (try? store.outboxCount()) == 0 { queue += machine.outboxEmpty(at: loop.now) }
        }
    }

    private func perform(_ action: IngestDoorAction) {
        switch action {
        case .spawnChild:
            spawn()
        case let .write(bytes):
            write(bytes)
        case .closeStdin:
            child?.closeStdin()
        case let .stopChild(grace):
            child?.stop(grace: grace)
        case let .startTimer(which, after, every):
            startTimer(which, after: after, every: every)
        case let .stopTimer(which):
            timers[which]?.stop()
        case .readMetadata:
            outbox?.worker.readMetadata()
        case let .load(after, limit, wantMetadata, generation):
            outbox?.worker.load(after: after, limit: limit, wantMetadata: wantMetadata, generation: generation)
        case let .delete(ids):
            outbox?.worker.delete(ids)
        case let .log(level, message):
            log(level, message)
        case let .verifyDone(batch, answers, note):
            completions.verify.removeValue(forKey: batch)?(answers, note)
        case .checkOutboxEmpty:
            break
        case .drainEnded:
            keepAlive = self
            if let drain = completions.drain {
                completions.drain = nil
                completions.closed.append(drain)
            }
        case .drainRefused:
            let drain = completions.drain
            completions.drain = nil
            drain?()
        case let .close(deletes):
            close(deleting: deletes)
        }
    }

    private func spawn() {
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
                                onStdout: { [unowned self] bytes in feed { $0.stdout(bytes, at: $1) } },
                                onStderr: { [unowned self] bytes in feed { machine, _ in machine.stderr(bytes) } },
                                outputGraceAfterExit: 2_000,
                                onFinished: { [unowned self] status, _ in
                                    child = nil
                                    feed { $0.childExited(code: status.code, signal: status.signal, description: "\(status)", at: $1) }
                                })
        } catch {
            return feed { $0.spawnFailed("\(error)", at: $1) }
        }
        child = started
        started.stdin?.writeQueueLimit = 1 << 30
        started.stdin?.onDrain = { [unowned self] in feed { $0.canSend(at: $1) } }
        feed { $0.spawned(pid: started.pid, at: $1) }
    }

    private func write(_ line: [UInt8]) {
        guard let child, child.stdin?.state == .open else { return }
        do {
            try child.write(line)
        } catch {
            // The child is gone or not reading at all; its exit (or the ack timeout) restarts it.
            log("debug", "ingest: write to pid \(machine.childPID) failed: \(error)")
        }
    }

    private func startTimer(_ which: IngestDoorTimer, after: UInt64, every: UInt64) {
        if timers[which] == nil { timers[which] = try? UV.Timer(loop: loop) }
        guard let timer = timers[which] else {
            log("error", "ingest: cannot start a timer (\(which))")
            // Without its grace timer the child is stopped at once rather than never.
            if which == .exitGrace { child?.stop(grace: machine.timings.termGraceMs) }
            return
        }
        timer.start(after: after, repeat: every) { [unowned self] in
            switch which {
            case .housekeeping: feed { $0.tick(at: $1) }
            case .restart: feed { $0.restartDue(at: $1) }
            case .exitGrace: feed { $0.exitGraceExpired(at: $1) }
            case .drainIdle: feed { $0.drainIdleExpired(at: $1) }
            }
        }
    }

    private func received(_ message: OutboxMessage) {
        switch message {
        case .metadataRead:
            feed { $0.canSend(at: $1) }
        case let .loaded(generation, items):
            feed { $0.loaded(generation: generation, items: items, at: $1) }
        case .deleted:
            let count = try? store.outboxCount()
            feed { $0.deleted(outboxCount: count, at: $1) }
        case let .failed(message):
            log("error", "ingest: \(message)")
        }
    }

    private func close(deleting deletes: [Int64]) {
        for timer in timers.values { timer.close() }
        timers.removeAll()
        outbox?.worker.waitIdle()
        if !deletes.isEmpty {
            do {
                try store.deleteOutbox(deletes)
            } catch {
                log("error", "ingest: cannot remove acknowledged events from the outbox: \(error); they will be sent again")
            }
        }
        outbox?.mailbox.close()
        outbox = nil
        let closed = completions.closed
        completions.closed.removeAll()
        for callback in closed { callback() }
        keepAlive = nil
    }
}
