/// A line the supervisor sends an attached client (docs/protocol.md "attach"), read: the `hello` and
/// `snapshot` replies, the events, and the `gap` and `overflow` notices. `attach` switches on it.
///
/// ```swift
/// switch AttachLine(line: bytes) {
/// case let .event(event)?: show(event.body)
/// case let .refused(error)?: fail(error)
/// default: break
/// }
/// ```
public enum AttachLine: Sendable, Equatable {
    /// `{"ok":true,"type":"hello",...}`: who answered.
    case hello(version: String, pid: Int, protocolVersion: Int)
    /// `{"ok":true,"type":"snapshot",...}`: the state at attach time.
    case snapshot(AttachSnapshot)
    /// One event of docs/events.md.
    case event(Event)
    /// Events `fromSeq...toSeq` are gone (`EventBus.gapLine`).
    case gap(missed: Int64, fromSeq: Int64, toSeq: Int64)
    /// The client read too slowly and is cut off; `message` says how to reconnect.
    case overflow(lastSeq: Int64, message: String)
    /// `{"ok":false,"error":...}`: the request was refused.
    case refused(error: String)
    /// A reply or an event of a type this build does not know (readers ignore those).
    case other(type: String?)

    /// Reads one line (with or without its `\n`); nil when it is no JSON object or a known type's fields are
    /// not as this build writes them.
    public init?(line: some Collection<UInt8>) {
        guard let r = try? WireReader(line: line), let read = try? Self.read(r) else { return nil }
        self = read
    }

    private static func read(_ r: WireReader) throws(WireError) -> AttachLine {
        if r.has("ok"), try !r.bool("ok") {
            return .refused(error: try r.optionalString("error") ?? "the supervisor refused the request")
        }
        let type = try r.optionalString("type")
        switch type {
        case "hello"?:
            return .hello(version: try r.string("version"), pid: try r.int("pid"), protocolVersion: try r.int("protocol"))
        case "snapshot"?:
            return .snapshot(try AttachSnapshot(reading: r))
        case "gap"?:
            return .gap(missed: try r.int64("missed"), fromSeq: try r.int64("from_seq"), toSeq: try r.int64("to_seq"))
        case "overflow"?:
            return .overflow(lastSeq: try r.int64("last_seq"), message: try r.string("message"))
        case _? where !r.has("ok"):
            return try Event(reading: r).map(AttachLine.event) ?? .other(type: type)
        default:
            return .other(type: type)
        }
    }
}

/// The part of `attach`'s `snapshot` the live view shows (docs/protocol.md lists every field).
public struct AttachSnapshot: Sendable, Equatable {
    /// `idle`, `syncing` or `paused`.
    public var state: String
    /// RFC 3339; nil while paused.
    public var nextCycleAt: String?
    /// The last finished cycle, if any.
    public var lastCycle: LastCycle?
    /// The running cycle's id; nil between cycles.
    public var cycle: Int64?
    /// The running cycle's progress, shaped like a `progress` event but with every job; nil between cycles.
    public var progress: ProgressSnapshot?

    public struct LastCycle: Sendable, Equatable {
        public var cycle: Int64
        public var jobsDone: Int
        public var jobsFailed: Int

        public init(cycle: Int64, jobsDone: Int, jobsFailed: Int) {
            self.cycle = cycle
            self.jobsDone = jobsDone
            self.jobsFailed = jobsFailed
        }
    }

    public init(state: String, nextCycleAt: String?, lastCycle: LastCycle?, cycle: Int64? = nil,
                progress: ProgressSnapshot?) {
        self.state = state
        self.cycle = cycle
        self.nextCycleAt = nextCycleAt
        self.lastCycle = lastCycle
        self.progress = progress
    }

    init(reading r: WireReader) throws(WireError) {
        state = try r.string("state")
        nextCycleAt = try r.optionalString("next_cycle_at")
        lastCycle = try r.optionalObject("last_cycle").map { c throws(WireError) in
            LastCycle(cycle: try c.int64("cycle"), jobsDone: try c.int("jobs_done"), jobsFailed: try c.int("jobs_failed"))
        }
        cycle = try r.optionalInt64("cycle")
        progress = try r.optionalObject("progress").map { p throws(WireError) in try ProgressSnapshot(reading: p) }
    }
}
