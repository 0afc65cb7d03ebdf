/// The lines waiting to be written to one socket client: bounded in bytes and in count, with queued
/// `progress` events coalesced (only the latest is kept), so a slow reader costs bounded memory.
///
/// A `progress` event replaces the queued one and goes to the back of the queue, so the client
/// still sees seq increasing; it skips the superseded progress seqs (that is the only way a client
/// of a healthy connection sees a jump in seq). When an event does not fit even after coalescing,
/// `push` answers `.overflow` and the queue refuses everything after: the supervisor disconnects the
/// client, which can come back with `attach {since: <last seq it saw>}`.
///
/// ```swift
/// var queue = ClientQueue(maxBytes: 1 << 20, maxCount: 10_000)
/// if queue.push(entry) == .overflow { client.close() }
/// let chunk = queue.popLines(maxBytes: 64 << 10)   // write when the socket is writable
/// ```
public struct ClientQueue: Sendable {
    /// What `push` did with an event.
    public enum Outcome: Sendable, Equatable {
        case queued
        /// Queued, and an older queued `progress` was dropped for it.
        case coalesced
        /// Did not fit: nothing was queued, and the queue accepts nothing more.
        case overflow
    }

    public let maxBytes: Int
    public let maxCount: Int
    /// Bytes of the lines queued now.
    public private(set) var bytes = 0
    /// Lines queued now.
    public private(set) var count = 0
    /// True once an event did not fit.
    public private(set) var overflowed = false

    // A queue with holes: a coalesced progress leaves a nil behind; `head` skips them. Holes are at
    // most one per queued non-progress line, so the array stays within about 2 x maxCount.
    private var slots: [EventLine?] = []
    private var head = 0
    private var progressSlot: Int?

    public init(maxBytes: Int = 4 << 20, maxCount: Int = 20_000) {
        self.maxBytes = max(maxBytes, 1)
        self.maxCount = max(maxCount, 1)
    }

    public var isEmpty: Bool { count == 0 }

    /// Queues an event's line, coalescing progress; see `Outcome`.
    @discardableResult
    public mutating func push(_ entry: EventLine) -> Outcome {
        guard !overflowed else { return .overflow }
        var freedBytes = 0, freedCount = 0
        if entry.isProgress, let slot = progressSlot, let old = slots[slot] {
            freedBytes = old.line.count
            freedCount = 1
        }
        guard bytes - freedBytes + entry.line.count <= maxBytes, count - freedCount + 1 <= maxCount else {
            overflowed = true
            return .overflow
        }
        if freedCount == 1, let slot = progressSlot, slot == slots.count - 1 {
            // Already at the back: replace in place, so a stream of progress leaves no holes.
            slots[slot] = entry
            bytes += entry.line.count - freedBytes
            return .coalesced
        }
        var outcome = Outcome.queued
        if freedCount == 1, let slot = progressSlot {
            slots[slot] = nil
            bytes -= freedBytes
            count -= 1
            outcome = .coalesced
        }
        if entry.isProgress { progressSlot = slots.count }
        slots.append(entry)
        bytes += entry.line.count
        count += 1
        return outcome
    }

    /// Takes the oldest queued line.
    public mutating func popFirst() -> EventLine? {
        while head < slots.count {
            let slot = head
            head += 1
            guard let entry = slots[slot] else { continue }
            slots[slot] = nil
            if progressSlot == slot { progressSlot = nil }
            bytes -= entry.line.count
            count -= 1
            compactIfWorthIt()
            return entry
        }
        return nil
    }

    /// Takes lines from the front, joined, up to `maxBytes` (always at least one line when any).
    public mutating func popLines(maxBytes limit: Int) -> [UInt8] {
        var out: [UInt8] = []
        while let next = peekFirst(), out.isEmpty || out.count + next.line.count <= limit {
            out.append(contentsOf: popFirst()!.line)
        }
        return out
    }

    private mutating func peekFirst() -> EventLine? {
        while head < slots.count, slots[head] == nil { head += 1 }
        return head < slots.count ? slots[head] : nil
    }

    private mutating func compactIfWorthIt() {
        // Drop the consumed front once it is most of the array, so the array never grows without end.
        guard head > 64, head * 2 > slots.count else { return }
        slots.removeFirst(head)
        if let slot = progressSlot { progressSlot = slot - head }
        head = 0
    }
}
