/// The ingest protocol's timeouts and limits (docs/ingest-protocol.md); tests shorten them.
public struct IngestTimings: Sendable, Equatable {
    /// From `hello` to `ready`.
    public var handshakeMs: UInt64 = 30_000
    /// The oldest event in flight may wait this long for its ack.
    public var ackTimeoutMs: UInt64 = 300_000
    public var verifyTimeoutMs: UInt64 = 10_000
    /// The first restart waits this long, each next one twice as long, up to `maxBackoffMs`.
    public var firstBackoffMs: UInt64 = 1_000
    public var maxBackoffMs: UInt64 = 300_000
    /// Up this long after its handshake, a child's next restart starts again at `firstBackoffMs`.
    public var stableMs: UInt64 = 60_000
    /// After EOF on stdin, how long the child gets to exit before SIGTERM (then 5 s before SIGKILL).
    public var exitGraceMs: UInt64 = 10_000
    public var termGraceMs: UInt64 = 5_000
    /// At most this many events unacknowledged at once.
    public var window = 256
    public var maxVerifiesOutstanding = 256
    /// The door holds back new events while this many bytes wait in the child's stdin.
    public var stdinBacklogLimit = 8 << 20
    public init() {}
}

/// The door's timers; each is one loop timer the executor owns.
public enum IngestDoorTimer: Sendable, Hashable, CaseIterable {
    /// Once a second while something can time out (handshake, acks, verify questions).
    case housekeeping
    /// The backoff before the next child starts.
    case restart
    /// After EOF at shutdown, how long the child gets before SIGTERM.
    case exitGrace
    /// `finish`: how long the one-shot commands wait without an ack.
    case drainIdle
}

/// What the `IngestDoorMachine` asks its executor (`IngestDoor`) to do, in order.
public enum IngestDoorAction: Sendable, Equatable {
    /// Start a child from `ingest.command`; answer with `spawned(pid:at:)` or `spawnFailed(_:at:)`.
    case spawnChild
    /// Bytes for the child's stdin. A write that fails is only logged: the child's exit (or the ack timeout)
    /// restarts it.
    case write([UInt8])
    /// EOF to the child.
    case closeStdin
    /// SIGTERM to the child's group, SIGKILL `graceMs` later.
    case stopChild(graceMs: UInt64)
    /// (Re)start a timer: it fires once after `afterMs`, then every `repeatMs` when that is not 0.
    case startTimer(IngestDoorTimer, afterMs: UInt64, repeatMs: UInt64)
    case stopTimer(IngestDoorTimer)
    /// The outbox worker reads the metadata of every event still waiting for it.
    case readMetadata
    /// The outbox worker loads the next events; answer with `loaded(generation:items:at:)`.
    case load(after: Int64, limit: Int, wantMetadata: Bool, generation: Int)
    /// The outbox worker deletes acknowledged events; answer with `deleted(outboxCount:at:)`.
    case delete([Int64])
    case log(level: String, message: String)
    /// A `verify` batch is complete: answers by library path; a file without an answer is absent and `note`
    /// says why.
    case verifyDone(batch: Int, answers: [[UInt8]: Bool], note: String?)
    /// `finish` ends once the outbox table is empty: count it and call `outboxEmpty()` when it is.
    case checkOutboxEmpty
    /// `finish` is over: its completion joins those run when the door has closed (shutdown steps follow).
    case drainEnded
    /// `finish` on a closed door: run its completion now.
    case drainRefused
    /// The door is done: delete these acknowledged events at once (the worker is stopping), close every
    /// handle and run the shutdown completions.
    case close(deletes: [Int64])
}
