import MediaSyncCore
import UV

/// One client of the control socket. Everything it is sent goes through its bounded `ClientQueue`
/// and reaches the socket only while fewer than `socketLowWater` bytes wait there, so a client
/// that stops reading costs at most the queue's bound, then is cut off; the supervisor never blocks.
final class ControlConnection {
    let id: Int
    let pipe: Pipe
    let peer: PeerCredentials?
    /// Set once `attach` was answered: live events are pushed from then on.
    var attached = false
    /// The seq of the last event queued for this client (for the overflow notice).
    private(set) var lastSeq: Int64 = 0
    private(set) var isClosed = false

    private var decoder = RequestLineDecoder()
    private var queue: ClientQueue
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

    init(id: Int, pipe: Pipe, queueBytes: Int, queueCount: Int,
         onRequest: @escaping (ControlConnection, Result<ControlRequest, ControlRequestError>) -> Void,
         onClosed: @escaping (ControlConnection) -> Void) {
        self.id = id
        self.pipe = pipe
        self.peer = pipe.peerCredentials()
        self.queue = ClientQueue(maxBytes: queueBytes, maxCount: queueCount)
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

    /// Queues a reply line; it goes out after what was queued before it.
    func sendReply(_ line: [UInt8], type: String = "reply") {
        push(EventLine(seq: 0, type: type, line: line))
    }

    /// Lines that go before everything queued (attach's hello, snapshot, gap and replay).
    func sendFirst(_ lines: [EventLine]) {
        front.append(contentsOf: lines)
        if let seq = lines.last(where: { $0.seq > 0 })?.seq { lastSeq = max(lastSeq, seq) }
        pump()
    }

    /// A live event for an attached client.
    func deliver(_ entry: EventLine) {
        push(entry)
    }

    private func push(_ entry: EventLine) {
        guard !isClosed else { return }
        if queue.push(entry) == .overflow {
            overflowed()
            return
        }
        if entry.seq > 0 { lastSeq = entry.seq }
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
        queue = ClientQueue(maxBytes: 1, maxCount: 1)
        if pipe.queuedBytes < Self.socketLowWater { try? pipe.write(notice) }
        closeAfterFlush()
    }

    func closeAfterFlush() {
        closeWhenFlushed = true
        if lingerTimer == nil, let timer = try? UV.Timer(loop: pipe.loop) {
            timer.start(after: 1000) { [weak self] in self?.close() }
            lingerTimer = timer
        }
        pump()
    }

    /// Writes while the socket has room: the front lines first, then the queue.
    func pump() {
        guard !isClosed else { return }
        while pipe.queuedBytes < Self.socketLowWater {
            var chunk: [UInt8] = []
            while frontIndex < front.count, chunk.isEmpty || chunk.count + front[frontIndex].line.count <= Self.socketLowWater {
                chunk.append(contentsOf: front[frontIndex].line)
                frontIndex += 1
            }
            if frontIndex == front.count, !front.isEmpty { front.removeAll(); frontIndex = 0 }
            if chunk.isEmpty { chunk = queue.popLines(maxBytes: Self.socketLowWater) }
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
        if closeWhenFlushed, pipe.queuedBytes == 0, front.isEmpty, queue.isEmpty { close() }
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        lingerTimer?.close()
        lingerTimer = nil
        front.removeAll()
        queue = ClientQueue(maxBytes: 1, maxCount: 1)
        pipe.close()
        onClosed(self)
    }
}
