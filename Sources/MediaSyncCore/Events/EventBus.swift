/// One encoded event as the bus keeps it: its seq, its wire type and its JSON line (ending in `\n`).
///
/// A class, shared: the same event sits in the replay ring and in the queue of every lagging client, and
/// each of those slots costs one reference (8 bytes) instead of a copy of seq, type and line (40 bytes:
/// 100 clients each 20,000 events behind held 80 MB of slots alone).
public final class EventLine: Sendable, Equatable {
    public let seq: Int64
    public let type: String
    public let line: [UInt8]
    public let isProgress: Bool

    public init(seq: Int64, type: String, line: [UInt8]) {
        self.seq = seq
        self.type = type
        self.line = line
        isProgress = type == "progress"
    }

    public static func == (a: EventLine, b: EventLine) -> Bool {
        a.seq == b.seq && a.type == b.type && a.line == b.line
    }
}

/// The single source of events: numbers them, encodes each once, keeps the recent ones for `attach
/// {since}` and hands every line to the subscribers (`sync --json`, socket clients, the ingest outbox).
///
/// Pure: no I/O and no threads. It belongs to the loop's thread, like the handles it feeds.
///
/// ```swift
/// let bus = EventBus()
/// let token = bus.subscribe { event, line in stdout.write(line) }
/// bus.publish(.jobStarted(cycle: 1, job: job), timeMs: clock.nowMs)
/// let r = bus.replay(since: 4_200)   // r.lines after seq 4200, r.missed = how many are gone
/// bus.unsubscribe(token)
/// ```
public final class EventBus {
    /// Called once per event with the event and its encoded line (shared, never re-encoded).
    public typealias Subscriber = (Event, [UInt8]) -> Void

    /// Names a subscription, for `unsubscribe`.
    public struct Token: Hashable, Sendable {
        fileprivate let id: Int
    }

    /// What `replay(since:)` found.
    public struct Replay: Sendable, Equatable {
        /// The events after `since` that the ring still holds, oldest first.
        public var lines: [EventLine]
        /// How many events after `since` are no longer held (the client must be told: a `gap`).
        public var missed: Int64
        /// True when `since` is beyond the last seq: the client saw a bus from an earlier run
        /// (seq restarts at 1 when the daemon restarts), so it should start over.
        public var sinceIsAhead: Bool
    }

    /// How many recent events are kept for replay.
    public let capacity: Int
    /// The seq of the last event published; 0 before the first.
    public private(set) var lastSeq: Int64 = 0

    private var ring: [EventLine?]
    private var ringStart = 0      // index of the oldest held line
    private var ringCount = 0
    private var subscribers: [(Token, Subscriber)] = []
    private var nextToken = 0

    public init(capacity: Int = 10_000) {
        self.capacity = max(capacity, 1)
        ring = Array(repeating: nil, count: self.capacity)
    }

    /// The seq of the oldest event still held; nil before the first event.
    public var oldestHeldSeq: Int64? {
        ringCount == 0 ? nil : ring[ringStart]?.seq
    }

    /// Numbers, encodes and stores the event, then hands it to each subscriber in subscription order.
    @discardableResult
    public func publish(_ body: EventBody, timeMs: Int64) -> Event {
        lastSeq += 1
        let event = Event(seq: lastSeq, timeMs: timeMs, body: body)
        let line = event.jsonLine()
        store(EventLine(seq: lastSeq, type: body.type, line: line))
        // A subscriber may unsubscribe (itself or another) while being called: iterate a copy.
        for (_, subscriber) in subscribers { subscriber(event, line) }
        return event
    }

    /// The held events with seq > `since`, and how many of those are gone from the ring.
    public func replay(since: Int64) -> Replay {
        guard since < lastSeq else {
            return Replay(lines: [], missed: 0, sinceIsAhead: since > lastSeq)
        }
        let oldest = oldestHeldSeq ?? lastSeq + 1
        let first = max(since + 1, oldest)
        let missed = max(0, oldest - (since + 1))
        var lines: [EventLine] = []
        lines.reserveCapacity(Int(lastSeq - first + 1))
        // seqs in the ring are contiguous, so the seq gives the position directly.
        let skip = Int(first - oldest)
        for i in skip..<ringCount {
            if let entry = ring[(ringStart + i) % capacity] { lines.append(entry) }
        }
        return Replay(lines: lines, missed: missed, sinceIsAhead: false)
    }

    /// Registers a subscriber for every event published from now on.
    public func subscribe(_ subscriber: @escaping Subscriber) -> Token {
        nextToken += 1
        let token = Token(id: nextToken)
        subscribers.append((token, subscriber))
        return token
    }

    /// Removes a subscriber; removing one twice or an unknown token does nothing.
    public func unsubscribe(_ token: Token) {
        subscribers.removeAll { $0.0 == token }
    }

    public var subscriberCount: Int { subscribers.count }

    private func store(_ entry: EventLine) {
        if ringCount < capacity {
            ring[(ringStart + ringCount) % capacity] = entry
            ringCount += 1
        } else {
            ring[ringStart] = entry
            ringStart = (ringStart + 1) % capacity
        }
    }
}

extension EventBus {
    /// The line a client is sent when `replay(since:)` reports missed events: `{"v":1,"time":…,
    /// "type":"gap","missed":N,"from_seq":a,"to_seq":b}` (the events a...b are gone). It has no `seq`
    /// of its own because it is not part of the stream: it describes a hole in it.
    public static func gapLine(since: Int64, missed: Int64, timeMs: Int64) -> [UInt8] {
        var w = JSONWriter()
        w.object { o in
            o.field("v", Event.schemaVersion)
            o.field("time", Timestamp.rfc3339(milliseconds: timeMs))
            o.field("type", "gap")
            o.field("missed", missed)
            o.field("from_seq", since + 1)
            o.field("to_seq", since + missed)
        }
        var bytes = w.bytes
        bytes.append(0x0A)
        return bytes
    }
}
