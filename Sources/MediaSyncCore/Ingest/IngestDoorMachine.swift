import Foundation

/// Every decision of the ingest door (docs/ingest-protocol.md), without I/O: when a child starts and
/// restarts (backoff 1 s, 2 s, 4 s ... back to the first after a stable run), the handshake and its
/// timeout, at most `window` events in flight and the ack timeout, the `verify` questions and their hold,
/// a refusal that halts the door, the outbox's warnings, and shutdown (EOF, SIGTERM after a grace). Each
/// event method takes what happened and the loop's time in milliseconds and returns what to do;
/// `IngestDoor` does it and feeds the results back.
///
/// ```swift
/// var door = IngestDoorMachine(settings: ingest, timings: IngestTimings(), ownPID: 4242)
/// perform(door.start(outboxCount: 0, at: now))         // [.readMetadata, .stopTimer(.restart), .spawnChild]
/// perform(door.spawned(pid: 99, at: now))              // [.log(...), .write(hello), .startTimer(.housekeeping, ...)]
/// perform(door.stdout(Array("{\"type\":\"ready\",\"protocol\":1}\n".utf8), at: now))
/// ```
public struct IngestDoorMachine: Sendable {
    /// Where the door's child is in its life.
    public enum Phase: Sendable, Equatable {
        /// Waiting for the backoff before (re)starting.
        case waiting
        case handshaking
        case ready
        /// The child is being stopped (a restart follows).
        case stopping
        /// Not restarted until the config changes: the child said it cannot speak our protocol.
        case halted
        /// Shut down, or shutting down (`isClosing`) while the child winds down.
        case closed
    }

    public let settings: IngestSettings
    public let timings: IngestTimings
    /// mediasync's own pid, for `hello`.
    let ownPID: Int

    public internal(set) var phase: Phase = .waiting
    /// Shutdown began and the door has not closed yet (the child is winding down).
    public internal(set) var isClosing = false
    /// The current (or last) child's pid, for messages.
    public internal(set) var childPID: Int32 = 0
    /// A child process exists (from `spawned` to `childExited`).
    public internal(set) var childRunning = false
    /// What the ready child offered, of the capabilities we know.
    public internal(set) var capabilities: Set<String> = []
    /// Bytes in the child's stdin not yet taken by it. The executor sets it before each event (the pipe's
    /// count); the machine adds what it writes.
    public var stdinBacklog = 0

    var readyAt: UInt64?
    var handshakeDeadline: UInt64 = 0
    /// The wait before the next restart.
    public internal(set) var backoffMs: UInt64
    var restartReason: String?
    var haltAfterExit = false
    var warnedUnknown = false
    var stdoutDecoder = RequestLineDecoder(limit: IngestReply.maxLineLength)
    var stderrLine: [UInt8] = []
    var housekeepingArmed = false

    // Delivery.
    /// Bumped at every child start and stop: a load asked for an earlier child is dropped.
    public internal(set) var generation = 0
    var lastSentID: Int64 = 0
    /// Events sent and not acknowledged, with when they were sent.
    public internal(set) var inFlight: [Int64: UInt64] = [:]
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
    var nextBatch = 0
    var verifyQueue: [VerifyRequest] = []
    var verifiesOutstanding: [Int64: VerifyRequest] = [:]
    var batches: [Int: VerifyBatch] = [:]

    /// `finish`'s idle limit while the one-shot commands wait for the outbox to empty.
    var drainIdleMs: UInt64?

    /// Actions of the event being handled, returned at its end.
    private var actions: [IngestDoorAction] = []

    public init(settings: IngestSettings, timings: IngestTimings = IngestTimings(), ownPID: Int) {
        self.settings = settings
        self.timings = timings
        self.ownPID = ownPID
        backoffMs = timings.firstBackoffMs
    }

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

    /// The child refused our protocol: only a reload (or a restart of mediasync) tries again.
    public var isHalted: Bool { phase == .halted }

    mutating func emit(_ action: IngestDoorAction) { actions.append(action) }

    mutating func log(_ level: String, _ message: String) { actions.append(.log(level: level, message: message)) }

    mutating func take() -> [IngestDoorAction] {
        defer { actions.removeAll() }
        return actions
    }

    // MARK: - Start

    /// The outbox worker is running and the table holds `outboxCount` events: start the first child at once.
    public mutating func start(outboxCount count: Int, at now: UInt64) -> [IngestDoorAction] {
        outboxCount = count
        if count > 0 {
            log("info", "ingest: \(count) event\(count == 1 ? "" : "s") wait in the outbox from before; they are sent first")
        }
        emit(.readMetadata)
        launch()
        return take()
    }

    /// The outbox worker could not start: the door stays closed.
    public mutating func workerFailed(_ error: String) -> [IngestDoorAction] {
        log("error", "ingest: cannot start the outbox worker: \(error); the ingest is not started")
        phase = .closed
        return take()
    }

    // MARK: - The child

    mutating func launch() {
        guard phase == .waiting else { return }
        emit(.stopTimer(.restart))
        generation += 1
        stdoutDecoder = RequestLineDecoder(limit: IngestReply.maxLineLength)
        stderrLine = []
        capabilities = []
        readyAt = nil
        haltAfterExit = false
        restartReason = nil
        warnedUnknown = false
        emit(.spawnChild)
    }

    /// The backoff is over: the next child starts.
    public mutating func restartDue(at now: UInt64) -> [IngestDoorAction] {
        launch()
        return take()
    }

    /// The child started: say hello and wait for `ready` up to the handshake timeout.
    public mutating func spawned(pid: Int32, at now: UInt64) -> [IngestDoorAction] {
        childPID = pid
        childRunning = true
        phase = .handshaking
        handshakeDeadline = now + timings.handshakeMs
        log("info", "ingest: started \(settings.command.joined(separator: " ")) (pid \(pid))")
        write(IngestLine.hello(version: MediaSyncVersion.string, pid: ownPID))
        armHousekeeping()
        return take()
    }

    /// The child could not be started (`error` says why): try again after the backoff.
    public mutating func spawnFailed(_ error: String, at now: UInt64) -> [IngestDoorAction] {
        log("error", "ingest: cannot start \(settings.command[0]): \(error); fix `ingest.command` in the config "
            + "(an absolute path to a program, no shell); trying again in \(Self.seconds(backoffMs))")
        scheduleRestart()
        return take()
    }

    mutating func write(_ line: [UInt8]) {
        stdinBacklog += line.count
        emit(.write(line))
    }

    /// Stops the child and starts another after the backoff; `reason` is logged once.
    mutating func restart(because reason: String) {
        guard phase == .handshaking || phase == .ready else { return }
        log("error", "ingest: \(settings.command[0]) (pid \(childPID)) \(reason); restarting it")
        restartReason = reason
        phase = .stopping
        // Loads asked for this child are dropped; its in-flight events stay until it is gone, so acks it
        // still writes count.
        generation += 1
        loading = false
        failVerifies(note: "the ingest is being restarted")
        emit(.closeStdin)
        emit(.stopChild(graceMs: timings.termGraceMs))
        armHousekeeping()
    }

    /// The child is gone (its exit and every output's end arrived): restart it after the backoff, halt
    /// after a refusal, or finish closing. `description` is the exit as `TerminationStatus` words it.
    public mutating func childExited(code: Int64, signal: Int32, description: String, at now: UInt64) -> [IngestDoorAction] {
        let wasPhase = phase
        childRunning = false
        endChildWork()
        emit(.stopTimer(.exitGrace))
        if wasPhase == .closed || isClosing {
            phase = .closed
            closeNow()
            return take()
        }
        if let up = readyAt, now - up >= timings.stableMs { backoffMs = timings.firstBackoffMs }
        let exited = signal != 0 ? "exited: \(description)" : description
        if haltAfterExit || (wasPhase == .handshaking && code == 3 && signal == 0) {
            phase = .halted
            failVerifies(note: "the ingest is not running", includingQueued: true)
            log("error", "ingest: \(settings.command[0]) (pid \(childPID)) cannot speak protocol \(IngestLine.protocolVersion) "
                + "and \(exited); it is not restarted until the config is reloaded or mediasync restarts")
            return take()
        }
        if restartReason == nil {
            log("error", "ingest: \(settings.command[0]) (pid \(childPID)) \(exited); restarting it in "
                + "\(Self.seconds(backoffMs)); its unacknowledged events are sent again")
        }
        scheduleRestart()
        return take()
    }

    /// What a child leaves behind when it goes: events in flight go back to the outbox's queue, verifies
    /// get no answer.
    mutating func endChildWork() {
        generation += 1
        inFlight.removeAll()
        lastSentID = 0
        loading = false
        failVerifies(note: "the ingest stopped before answering")
        armHousekeeping()
        checkDrained()
    }

    mutating func scheduleRestart() {
        phase = .waiting
        let wait = backoffMs
        backoffMs = min(backoffMs * 2, timings.maxBackoffMs)
        emit(.startTimer(.restart, afterMs: wait, repeatMs: 0))
        // Verify requests queued for the next child still time out while it is not there.
        armHousekeeping()
    }

    // MARK: - Timeouts

    /// A once-a-second check, running only while something can time out (an idle door costs nothing).
    mutating func armHousekeeping() {
        let needed = phase == .handshaking || (phase == .ready && (!inFlight.isEmpty || !verifiesOutstanding.isEmpty
            || !verifyQueue.isEmpty)) || (phase == .waiting && !verifyQueue.isEmpty)
        if !needed {
            if housekeepingArmed { emit(.stopTimer(.housekeeping)) }
            housekeepingArmed = false
            return
        }
        guard !housekeepingArmed else { return }
        housekeepingArmed = true
        emit(.startTimer(.housekeeping, afterMs: 1_000, repeatMs: 1_000))
    }

    /// The housekeeping timer fired: verify questions, the handshake and the oldest event in flight time out.
    public mutating func tick(at now: UInt64) -> [IngestDoorAction] {
        expireVerifies(now: now)
        if phase == .handshaking, now >= handshakeDeadline {
            restart(because: "broke the protocol: no `ready` within \(Self.seconds(timings.handshakeMs)) of `hello`")
            return take()
        }
        if phase == .ready,
           let oldest = inFlight.min(by: { ($0.value, $0.key) < ($1.value, $1.key) }), now - oldest.value >= timings.ackTimeoutMs {
            restart(because: "did not acknowledge event \(oldest.key) within \(Self.seconds(timings.ackTimeoutMs))")
            return take()
        }
        armHousekeeping()
        return take()
    }

    // MARK: - The end

    /// Ends the door: EOF to the child (it commits and acks what it holds), SIGTERM after `exitGraceMs`,
    /// SIGKILL `termGraceMs` later; `.close` once the child is gone. On a closed door, `.close` at once.
    public mutating func shutdown(at now: UInt64) -> [IngestDoorAction] {
        beginShutdown()
        return take()
    }

    mutating func beginShutdown() {
        // A second shutdown joins the first one's steps.
        if isClosing { return }
        guard phase != .closed else { return closeNow() }
        isClosing = true
        if drainIdleMs != nil {
            drainIdleMs = nil
            emit(.stopTimer(.drainIdle))
        }
        // A purge waiting for answers must end (keeping its files), or its cycle never would.
        failVerifies(note: "mediasync is stopping", includingQueued: true)
        emit(.stopTimer(.restart))
        phase = .closed
        guard childRunning else { return closeNow() }
        emit(.closeStdin)
        emit(.startTimer(.exitGrace, afterMs: timings.exitGraceMs, repeatMs: 0))
    }

    /// The child did not exit within `exitGraceMs` of EOF.
    public mutating func exitGraceExpired(at now: UInt64) -> [IngestDoorAction] {
        guard childRunning else { return [] }
        log("warning", "ingest: pid \(childPID) did not exit within \(Self.seconds(timings.exitGraceMs)) of end of input; stopping it")
        emit(.stopChild(graceMs: timings.termGraceMs))
        return take()
    }

    mutating func closeNow() {
        isClosing = false
        housekeepingArmed = false
        // Acks that came after the last delete was queued: the outbox must not send them again.
        emit(.close(deletes: pendingDeletes))
        pendingDeletes.removeAll()
    }

    // MARK: - Finish (one-shot commands)

    /// Waits while the ingest keeps acknowledging (at most `idleMs` without an ack), then shuts down.
    /// Events still waiting stay in the outbox for the next run.
    public mutating func finish(idleMs: UInt64, at now: UInt64) -> [IngestDoorAction] {
        guard phase != .closed else {
            emit(.drainRefused)
            return take()
        }
        drainIdleMs = idleMs
        emit(.startTimer(.drainIdle, afterMs: idleMs, repeatMs: 0))
        checkDrained()
        return take()
    }

    /// `finish` waited `idleMs` without an ack.
    public mutating func drainIdleExpired(at now: UInt64) -> [IngestDoorAction] {
        guard let idleMs = drainIdleMs else { return [] }
        if outboxCount > 0 {
            log("warning", "ingest: \(outboxCount) event\(outboxCount == 1 ? "" : "s") not yet acknowledged after "
                + "\(Self.seconds(idleMs)) without progress; they stay in the outbox for the next run")
        }
        endDrain()
        return take()
    }

    /// The executor counted the outbox table after `.checkOutboxEmpty` and found it empty.
    public mutating func outboxEmpty(at now: UInt64) -> [IngestDoorAction] {
        guard drainIdleMs != nil, phase == .halted || (inFlight.isEmpty && !deleting && pendingDeletes.isEmpty) else { return [] }
        endDrain()
        return take()
    }

    /// An ack came: `finish` waits another `idleMs`.
    mutating func drainProgressed() {
        guard let idleMs = drainIdleMs else { return }
        emit(.startTimer(.drainIdle, afterMs: idleMs, repeatMs: 0))
    }

    mutating func checkDrained() {
        guard drainIdleMs != nil else { return }
        if phase == .halted { return endDrain() }
        guard inFlight.isEmpty, !deleting, pendingDeletes.isEmpty else { return }
        // The count the door keeps can lag a delete; the table itself decides.
        emit(.checkOutboxEmpty)
    }

    mutating func endDrain() {
        drainIdleMs = nil
        emit(.stopTimer(.drainIdle))
        emit(.drainEnded)
        beginShutdown()
    }

    /// "1 s", "0.1 s".
    public static func seconds(_ ms: UInt64) -> String {
        ms % 1000 == 0 ? "\(ms / 1000) s" : String(format: "%.1f s", Double(ms) / 1000)
    }
}
