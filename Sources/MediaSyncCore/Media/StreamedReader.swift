/// What a streamed format reader wants next from the file, which arrives in pieces of any size.
enum StreamRequest: Sendable, Equatable {
    /// Exactly this many bytes, handed over in one array (the reader bounds the count before asking).
    case bytes(Int)
    /// Pass over this many bytes without looking at them (media data: only hashed).
    case skip(Int64)
    /// Show each piece as it comes; `scan` says how much it used (a JPEG's entropy-coded data).
    case scan
    /// Nothing more is needed; the rest of the file is only hashed.
    case done
}

/// A format reader written as a machine that asks for bytes: a box or element header, its body or a skip.
/// `StreamDriver` feeds it from pieces of any size, so the result never depends on how the file was cut,
/// and only what a request names is ever held in memory.
protocol StreamedReader: Sendable {
    /// Called when the previous request is satisfied (and once at the start); `offset` is where the
    /// next bytes begin. A reader that asks for a skip moves on to its next state as it asks: the skip
    /// is done when `next` is called again.
    mutating func next(at offset: Int64) -> StreamRequest
    /// The bytes of a `.bytes(n)` request, which began at byte `offset` of the file.
    mutating func take(_ bytes: [UInt8], at offset: Int64)
    /// For `.scan`: looks at `bytes` (starting at `offset`); nil when it used them all and wants more,
    /// else how many it used before its request changed.
    mutating func scan(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int64) -> Int?
    /// The file ended at byte `offset` while `pending` was outstanding (nil: between requests, or done).
    mutating func finish(at offset: Int64, pending: StreamRequest?) -> MediaDetails
}

extension StreamedReader {
    mutating func scan(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int64) -> Int? { bytes.count }
}

/// Feeds a `StreamedReader` from pieces of any size: gathers `.bytes` requests across pieces, counts
/// down skips, and knows the file offset of everything it hands over.
struct StreamDriver<Reader: StreamedReader>: Sendable {
    private(set) var reader: Reader
    private var request: StreamRequest?
    private var buffer: [UInt8] = []
    private var skipLeft: Int64 = 0
    /// Bytes handed to the reader or skipped so far (not counting `buffer`).
    private var offset: Int64 = 0

    init(_ reader: Reader) {
        self.reader = reader
        settle()
    }

    var isDone: Bool { request == .done }

    mutating func feed(_ input: UnsafeBufferPointer<UInt8>) {
        var i = 0
        while i < input.count, let request {
            switch request {
            case .done:
                return
            case let .bytes(count):
                let take = min(count - buffer.count, input.count - i)
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: input[i..<(i + take)]))
                i += take
                if buffer.count == count { deliver() }
            case .skip:
                let take = Int(min(skipLeft, Int64(input.count - i)))
                i += take
                offset += Int64(take)
                skipLeft -= Int64(take)
                if skipLeft == 0 { self.request = nil; settle() }
            case .scan:
                let piece = UnsafeBufferPointer(rebasing: input[i...])
                if let used = reader.scan(piece, at: offset) {
                    let used = max(0, min(used, piece.count))
                    i += used
                    offset += Int64(used)
                    self.request = nil
                    settle()
                } else {
                    offset += Int64(piece.count)
                    i = input.count
                }
            }
        }
    }

    mutating func finish() -> MediaDetails {
        reader.finish(at: offset + Int64(buffer.count), pending: request == .done ? nil : request)
    }

    private mutating func deliver() {
        let bytes = buffer
        buffer = []
        let at = offset
        offset += Int64(bytes.count)
        request = nil
        reader.take(bytes, at: at)
        settle()
    }

    /// Asks for the next request and satisfies the empty ones at once.
    private mutating func settle() {
        while request == nil {
            let next = reader.next(at: offset)
            switch next {
            case .bytes(let n) where n <= 0:
                reader.take([], at: offset)
            case .skip(let n) where n <= 0:
                continue
            case let .skip(n):
                skipLeft = n
                request = next
            default:
                request = next
            }
        }
    }
}
