/// The live lines every attached client still has to get, kept once for all of them: each client reads
/// with its own cursor, so a lagging client costs a number, not a copy of its backlog. A client further
/// behind than `maxLagBytes` (all lines) or `maxLagCount` (lines other than `progress`) is to be cut off;
/// lines no client needs any more are dropped with `trim`. Counting progress bytes bounds what a client
/// that stopped reading during a long transfer holds back (progress alone: 4 MiB is over 10 minutes of it).
///
/// Every line reaches every client, `progress` too: since schema v2 a `progress` carries only the jobs that
/// changed since the one before, so skipping one would lose a job's news (v1 skipped superseded ones). A
/// client of a healthy connection sees every seq.
///
/// ```swift
/// let log = ClientLog(maxLagBytes: 4 << 20, maxLagCount: 20_000)
/// log.append(entry)
/// if log.isTooFarBehind(client.cursor) { client.cutOff() }
/// let (chunk, next, _) = log.read(from: client.cursor, maxBytes: 64 << 10)   // when the socket has room
/// log.trim(before: slowestCursor)
/// ```
public final class ClientLog {
    public let maxLagBytes: Int
    public let maxLagCount: Int

    /// Absolute index of `lines[head]`.
    public private(set) var startIndex: Int64 = 0
    private var lines: [EventLine] = []
    /// Per held line: bytes of all lines and count of non-progress lines appended before it (absolute).
    private var before: [(bytes: Int, count: Int)] = []
    private var head = 0
    private var totalBytes = 0
    private var totalCount = 0

    public init(maxLagBytes: Int = 4 << 20, maxLagCount: Int = 20_000) {
        self.maxLagBytes = max(maxLagBytes, 1)
        self.maxLagCount = max(maxLagCount, 1)
    }

    /// The index the next appended line gets: a client attaching now starts here.
    public var endIndex: Int64 { startIndex + Int64(lines.count - head) }
    /// Lines held now (for tests and status).
    public var heldCount: Int { lines.count - head }

    public func append(_ entry: EventLine) {
        lines.append(entry)
        before.append((totalBytes, totalCount))
        totalBytes += entry.line.count
        if !entry.isProgress { totalCount += 1 }
    }

    /// Bytes (all lines) and lines (progress not counted) from `cursor` to the end.
    public func lag(from cursor: Int64) -> (bytes: Int, count: Int) {
        guard cursor < endIndex else { return (0, 0) }
        let at = before[head + Int(max(cursor, startIndex) - startIndex)]
        return (totalBytes - at.bytes, totalCount - at.count)
    }

    public func isTooFarBehind(_ cursor: Int64) -> Bool {
        let behind = lag(from: cursor)
        return behind.bytes > maxLagBytes || behind.count > maxLagCount
    }

    /// Whole lines from `cursor` on, joined, up to `maxBytes` (at least one line when any is due), stopping
    /// before `stop` when given. Returns the bytes, the cursor after
    /// them, and the seq of the last line taken (nil when none).
    public func read(from cursor: Int64, maxBytes: Int, stop: Int64? = nil) -> (chunk: [UInt8], next: Int64, lastSeq: Int64?) {
        var index = max(cursor, startIndex)
        let end = min(endIndex, stop ?? endIndex)
        var chunk: [UInt8] = []
        var lastSeq: Int64?
        while index < end {
            let entry = lines[head + Int(index - startIndex)]
            if !chunk.isEmpty && chunk.count + entry.line.count > maxBytes { break }
            chunk += entry.line
            lastSeq = entry.seq
            index += 1
        }
        return (chunk, index, lastSeq)
    }

    /// Drops the lines before `cursor` (the slowest attached client's), or everything when nil (no client).
    public func trim(before cursor: Int64?) {
        let upTo = min(cursor ?? endIndex, endIndex)
        guard upTo > startIndex else { return }
        let drop = Int(upTo - startIndex)
        head += drop
        startIndex = upTo
        // Compact once the consumed front is most of the storage, so it never grows without end.
        if head > 1_024, head * 2 > lines.count {
            lines.removeFirst(head)
            before.removeFirst(head)
            head = 0
        }
        if head == lines.count {
            lines.removeAll(keepingCapacity: lines.capacity <= 4_096)
            before.removeAll(keepingCapacity: before.capacity <= 4_096)
            head = 0
        }
    }
}
