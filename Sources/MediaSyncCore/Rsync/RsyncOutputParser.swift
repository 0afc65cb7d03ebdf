/// Turns the bytes of one rsync output stream into records, chunk by chunk, with no I/O.
///
/// ```swift
/// var out = RsyncOutputParser(stream: .stdout)
/// for record in out.feed(chunk) { ... }   // as often as bytes arrive, split anywhere
/// for record in out.finish() { ... }      // at EOF: the last line may lack its line end
/// ```
///
/// Lines end at `\r` or `\n` (progress2 records end in `\r`). A line longer than
/// `maxLineLength` is dropped: the parser keeps at most `maxLineLength` bytes of it and, at
/// its end, hands out one `.message` (severity `.warning`) that gives its length and first bytes.
public struct RsyncOutputParser: Sendable {
    /// Which of rsync's output streams a parser reads; they hold different kinds of lines.
    public enum Stream: Sendable { case stdout, stderr }

    /// The `--out-format` value the engine must pass to rsync, exactly:
    /// `mediasync|ITEMIZE|SIZE|NAME`. The fixed prefix sets file lines apart from rsync's other
    /// stdout chatter, and `|` never occurs in `%i` or `%l`, so names may hold anything.
    public static let outFormat = "mediasync|%i|%l|%n"

    /// The longest line kept; rsync's longest real lines (escaped 4 KiB paths) are far shorter.
    public static let maxLineLength = 64 * 1024

    public let stream: Stream
    /// Bytes of the current, unfinished line carried over from earlier chunks.
    private var pending: [UInt8] = []
    /// Bytes of the current line beyond `maxLineLength` that were thrown away.
    private var droppedBytes = 0

    public init(stream: Stream) {
        self.stream = stream
    }

    /// How many bytes of an unfinished line the parser holds; never more than `maxLineLength`.
    public var bufferedByteCount: Int { pending.count }

    /// Feeds one chunk and calls `emit` for every record it completes (the fast form).
    public mutating func feed(_ chunk: UnsafeRawBufferPointer, _ emit: (RsyncRecord) -> Void) {
        guard let raw = chunk.baseAddress, chunk.count > 0 else { return }
        let base = raw.assumingMemoryBound(to: UInt8.self)
        let n = chunk.count
        var start = 0
        var i = 0
        while i < n {
            let c = base[i]
            if c == 0x0A || c == 0x0D {
                if pending.isEmpty && droppedBytes == 0 {
                    // The common case: the whole line is inside this chunk, parse it in place.
                    completeLine(UnsafeBufferPointer(start: base + start, count: i - start), emit)
                } else {
                    append(base + start, i - start)
                    flushPending(emit)
                }
                start = i + 1
            }
            i += 1
        }
        if start < n { append(base + start, n - start) }
    }

    /// Feeds one chunk and returns the records it completes.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer) -> [RsyncRecord] {
        var records: [RsyncRecord] = []
        feed(chunk) { records.append($0) }
        return records
    }

    /// Feeds bytes from any collection (an `[UInt8]`, a `Data`, a slice) and returns the records.
    public mutating func feed<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> [RsyncRecord] {
        var records: [RsyncRecord] = []
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            feed(UnsafeRawBufferPointer(buffer)) { records.append($0) }
        }
        if done == nil {
            Array(bytes).withUnsafeBytes { feed($0) { records.append($0) } }
        }
        return records
    }

    /// Ends the stream: parses a last line that had no line end, if any.
    public mutating func finish(_ emit: (RsyncRecord) -> Void) {
        if !pending.isEmpty || droppedBytes > 0 { flushPending(emit) }
    }

    /// Ends the stream and returns the last line's record, if any.
    public mutating func finish() -> [RsyncRecord] {
        var records: [RsyncRecord] = []
        finish { records.append($0) }
        return records
    }

    private mutating func append(_ bytes: UnsafePointer<UInt8>, _ count: Int) {
        let room = Self.maxLineLength - pending.count
        if droppedBytes > 0 || count > room {
            let kept = max(0, min(room, count))
            pending.append(contentsOf: UnsafeBufferPointer(start: bytes, count: kept))
            droppedBytes += count - kept
        } else {
            pending.append(contentsOf: UnsafeBufferPointer(start: bytes, count: count))
        }
    }

    private mutating func flushPending(_ emit: (RsyncRecord) -> Void) {
        if droppedBytes > 0 {
            pending.withUnsafeBufferPointer {
                emit(Self.overlongLine($0, length: $0.count + droppedBytes))
            }
        } else {
            pending.withUnsafeBufferPointer { completeLine($0, emit) }
        }
        pending.removeAll(keepingCapacity: pending.count <= 4096)
        droppedBytes = 0
    }

    private func completeLine(_ line: UnsafeBufferPointer<UInt8>, _ emit: (RsyncRecord) -> Void) {
        if line.count > Self.maxLineLength {
            emit(Self.overlongLine(line, length: line.count))
        } else if let record = RsyncLine.parse(line, stream: stream) {
            emit(record)
        }
    }

    private static func overlongLine(_ start: UnsafeBufferPointer<UInt8>, length: Int) -> RsyncRecord {
        let head = String(decoding: start.prefix(120), as: UTF8.self)
        return .message(RsyncMessage(
            severity: .warning, origin: .rsync,
            text: "mediasync: skipped an rsync output line of \(length) bytes (longer than the "
                + "\(maxLineLength)-byte limit); it began: \(head)"))
    }
}
