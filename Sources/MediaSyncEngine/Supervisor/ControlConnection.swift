import MediaSyncCore
import UV

/// One client of the control socket. Live events come from the supervisor's shared `ClientLog` through
/// this client's cursor, replies from its own short list, and both reach the socket only while fewer than
/// `socketLowWater` bytes wait there; a client that falls too far behind the log is cut off. The
/// supervisor never blocks, and a lagging client costs a cursor, not a copy of its backlog.
final class ControlConnection {
    let id: Int
    let pipe: Pipe
    let peer: PeerCredentials?
    /// Set once `attach` was answered: live events are pushed from then on.
    var attached = false
    /// The seq of the last event written for this client (for the overflow notice: `since` it).
    private(set) var lastSeq: Int64 = 0
    private(set) var isClosed = false
    /// The next live line this client gets from the log (set at attach).
    private(set) var cursor: Int64 = 0

    private var decoder = RequestLineDecoder()
    private let log: ClientLog
    /// Replies, each sent once the client's cursor has passed the events published before it.
    private var replies: [(after: Int64, line: [UInt8])] = []
    /// Set when the client is to be closed: live lines stop here.
    private var stopAt: Int64?
    /// Lines sent before the queue (hello, snapshot, gap, replay): they reference the bus's ring
    /// lines, so a replay of 10,000 events costs no copy.
    private var front: [EventLine] = []
    private var frontIndex = 0
    private var closeWhenFlushed = false
    private var lingerTimer: UV.Timer?
    private let onRequest: (ControlConnection, Result<ControlRequest, ControlRequestError>) -> Void
    private let onClosed: (ControlConnection) -> Void

    /// Bytes written to the socket but not yet taken by the kernel; beyond this we keep lines queued.
    static let socketLowWater = 64 * 1024

    init(id: Int, pipe: Pipe, log: ClientLog,
         onRequest: @escaping (ControlConnection, Result<ControlRequest, ControlRequestError>) -> Void,
         onClosed: @escaping (ControlConnection) -> Void) {
        self.id = id
        self.pipe = pipe
        self.peer = pipe.peerCredentials()
        self.log = log
        self.onRequest = onRequest
        self.onClosed = onClosed
        pipe.name = "control client \(id)" + (peer.map { " (pid \($0.pid))" } ?? "")
    }

    func startReading() {
        do {
            try pipe.startReading(onData: { [weak self] bytes in self?.received(bytes) },
                                  onEnd: { [weak self] _ in self?.close() })
        } catch {
            close()
        }
    }

    private func received(_ bytes: UnsafeRawBufferPointer) {
        for output in decoder.feed(bytes) {
            guard !isClosed, !closeWhenFlushed else { return }
            switch output {
            case let .line(line):
                if line.isEmpty || line == [0x0D] { continue }
                onRequest(self, ControlRequest.parse(line))
            case .tooLong:
                fail("request line longer than \(ControlProtocol.maxRequestLine) bytes; send one JSON object per line")
            }
        }
    }

    /// Sends an error reply, then closes once it is written (or after a second at most).
    func fail(_ message: String) {
        pipe.stopReading()
        sendReply(ControlProtocol.errorLine(message))
        closeAfterFlush()
    }

    /// Queues a reply line; an attached client gets it after the events published before it.
    func sendReply(_ line: [UInt8]) {
        guard !isClosed, !closeWhenFlushed else { return }
        replies.append((attached ? log.endIndex : 0, line))
        pump()
    }

    /// Attaches: `lines` (hello, snapshot, gap and replay) go first, then live events from the log's end.
    func attach(sendingFirst lines: [EventLine]) {
        attached = true
        cursor = log.endIndex
        front.append(contentsOf: lines)
        if let seq = lines.last(where: { $0.seq > 0 })?.seq { lastSeq = max(lastSeq, seq) }
        pump()
    }

    /// The log grew: cut the client off if it is too far behind, else write what the socket takes.
    func logGrew() {
        guard !isClosed, attached, stopAt == nil else { return }
        if log.isTooFarBehind(cursor) { return overflowed() }
        pump()
    }

    /// Too far behind: tell it (best effort, only if the socket has room) and cut it off.
    private func overflowed() {
        guard !closeWhenFlushed else { return }
        pipe.stopReading()
        let notice = ControlProtocol.line { o in
            o.field("v", Event.schemaVersion)
            o.field("time", Timestamp.rfc3339(milliseconds: Supervisor.wallMs()))
            o.field("type", "overflow")
            o.field("last_seq", lastSeq)
            o.field("message", "this client read too slowly and was disconnected; reconnect with {\"cmd\":\"attach\",\"since\":\(lastSeq)}")
        }
        front.removeAll()
        frontIndex = 0
        replies.removeAll()
        stopAt = cursor
        if pipe.queuedBytes < Self.socketLowWater { try? pipe.write(notice) }
        closeAfterFlush()
    }

    func closeAfterFlush() {
        closeWhenFlushed = true
        // What was published before this goes out first; nothing after.
        if stopAt == nil { stopAt = attached ? log.endIndex : cursor }
        if lingerTimer == nil, let timer = try? UV.Timer(loop: pipe.loop) {
            timer.start(after: 1000) { [weak self] in self?.close() }
            lingerTimer = timer
        }
        pump()
    }

    /// Writes while the socket has room: the front lines first, then replies and live lines in order.
    func pump() {
        guard !isClosed else { return }
        while pipe.queuedBytes < Self.socketLowWater {
            var chunk: [UInt8] = []
            while frontIndex < front.count, chunk.isEmpty || chunk.count + front[frontIndex].line.count <= Self.socketLowWater {
                chunk.append(contentsOf: front[frontIndex].line)
                frontIndex += 1
            }
            if frontIndex == front.count, !front.isEmpty { front.removeAll(); frontIndex = 0 }
            if chunk.isEmpty { chunk = nextLines() }
            if chunk.isEmpty { break }
            do {
                try pipe.write(chunk) { [weak self] error in
                    if error != nil { self?.close() } else { self?.pump() }
                }
            } catch {
                close()
                return
            }
        }
        if closeWhenFlushed, pipe.queuedBytes == 0, front.isEmpty, replies.isEmpty, !hasLiveLinesDue { close() }
    }

    private var hasLiveLinesDue: Bool { attached && cursor < min(log.endIndex, stopAt ?? log.endIndex) }

    /// Replies whose events went out, else live lines up to the next reply (or `stopAt`).
    private func nextLines() -> [UInt8] {
        var chunk: [UInt8] = []
        while let reply = replies.first, !attached || reply.after <= cursor {
            if !chunk.isEmpty && chunk.count + reply.line.count > Self.socketLowWater { return chunk }
            chunk += reply.line
            replies.removeFirst()
        }
        guard chunk.isEmpty, attached else { return chunk }
        let limit = [replies.first?.after, stopAt].compactMap { $0 }.min()
        let taken = log.read(from: cursor, maxBytes: Self.socketLowWater, stop: limit)
        cursor = taken.next
        if let seq = taken.lastSeq { lastSeq = seq }
        return taken.chunk
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        lingerTimer?.close()
        lingerTimer = nil
        front.removeAll()
        replies.removeAll()
        pipe.close()
        onClosed(self)
    }
}
