import MediaSyncCore
import UV

/// One file the purge wants confirmed.
public struct IngestVerifyFile: Sendable, Equatable {
    /// Absolute library path, as in `file_synced`.
    public var libraryPath: [UInt8]
    public var size: Int64

    public init(libraryPath: [UInt8], size: Int64) {
        self.libraryPath = libraryPath
        self.size = size
    }
}

/// A purge's questions, answered together.
final class VerifyBatch {
    var remaining: Int
    var answers: [[UInt8]: Bool] = [:]
    var note: String?
    let done: ([[UInt8]: Bool], String?) -> Void

    init(count: Int, done: @escaping ([[UInt8]: Bool], String?) -> Void) {
        remaining = count
        self.done = done
    }

    func resolve(_ file: IngestVerifyFile, _ answer: Bool?, note: String? = nil) {
        if let answer { answers[file.libraryPath] = answer }
        if answer == nil, self.note == nil { self.note = note }
        remaining -= 1
        if remaining == 0 { done(answers, self.note) }
    }
}

struct VerifyRequest {
    var file: IngestVerifyFile
    var batch: VerifyBatch
    var deadline: UInt64
    /// Until then the request waits for the ingest to commit the events already stored (a purge right after
    /// its folder's sync would otherwise ask about files the ingest has not been sent yet).
    var holdUntil: UInt64
}

extension IngestDoor {
    /// Asks the ingest whether it committed each file (docs/ingest-protocol.md "Verify"). `done` runs once,
    /// on the loop, with the answers by library path; a file without an answer (no reply within the verify
    /// timeout, no ingest running, no `verify` capability) is absent, and `note` says why, for the log.
    /// Requests wait for a child that is starting, up to the verify timeout.
    public func verify(_ files: [IngestVerifyFile], done: @escaping (_ answers: [[UInt8]: Bool], _ note: String?) -> Void) {
        guard !files.isEmpty else { return done([:], nil) }
        switch phase {
        case .halted, .closed, .stopping:
            return done([:], "the ingest is not running")
        case .ready where !capabilities.contains("verify"):
            return done([:], "the ingest does not answer verify")
        default:
            break
        }
        let batch = VerifyBatch(count: files.count, done: done)
        let now = loop.now
        let deadline = now + timings.verifyTimeoutMs
        let hold = now + timings.verifyTimeoutMs / 2
        verifyQueue += files.map { VerifyRequest(file: $0, batch: batch, deadline: deadline, holdUntil: hold) }
        sendVerifies()
        armHousekeeping()
    }

    /// Sends queued requests while fewer than `maxVerifiesOutstanding` wait for an answer.
    func sendVerifies() {
        guard phase == .ready else { return }
        guard capabilities.contains("verify") else {
            return failQueuedVerifies(note: "the ingest does not answer verify")
        }
        let now = loop.now
        let caughtUp = outboxCount == 0 && inFlight.isEmpty
        while verifiesOutstanding.count < timings.maxVerifiesOutstanding, let first = verifyQueue.first,
              caughtUp || first.holdUntil <= now {
            var request = verifyQueue.removeFirst()
            nextVerifyID += 1
            // Each request gets the full timeout from when it is sent, not from when the purge asked.
            request.deadline = max(request.deadline, now + timings.verifyTimeoutMs)
            verifiesOutstanding[nextVerifyID] = request
            write(IngestLine.verify(id: nextVerifyID, libraryPath: request.file.libraryPath, size: request.file.size,
                                    sha256: nil))
        }
    }

    func answered(_ id: Int64, _ committed: Bool) {
        guard let request = verifiesOutstanding.removeValue(forKey: id) else {
            return log("debug", "ingest: an answer for verify \(id), which is not outstanding (late or unknown); ignored")
        }
        request.batch.resolve(request.file, committed)
        sendVerifies()
        armHousekeeping()
    }

    /// No answer in time means "keep". Once one request timed out the ingest is not answering: the rest of
    /// the queue gets no answer at once instead of one timeout after another.
    func expireVerifies(now: UInt64) {
        let expired = verifiesOutstanding.filter { $0.value.deadline <= now }
        let queuedExpired = verifyQueue.contains { $0.deadline <= now && phase != .ready }
        sendVerifies()
        guard !expired.isEmpty || queuedExpired else { return }
        let note = "the ingest did not answer within \(Self.seconds(timings.verifyTimeoutMs))"
        for (id, request) in expired.sorted(by: { $0.key < $1.key }) {
            verifiesOutstanding[id] = nil
            request.batch.resolve(request.file, nil, note: note)
        }
        if !expired.isEmpty {
            log("warning", "ingest: \(expired.count) verify request\(expired.count == 1 ? "" : "s") got no answer within "
                + "\(Self.seconds(timings.verifyTimeoutMs)); those files stay on their sources")
        }
        failQueuedVerifies(note: note)
    }

    func failQueuedVerifies(note: String) {
        let queued = verifyQueue
        verifyQueue.removeAll()
        for request in queued { request.batch.resolve(request.file, nil, note: note) }
    }

    /// Every question sent ends without an answer (the child went away, or mediasync stops); queued ones
    /// too when no child will come (`includingQueued`), else they wait for the next child within their timeout.
    func failVerifies(note: String, includingQueued: Bool = false) {
        let outstanding = verifiesOutstanding.sorted { $0.key < $1.key }
        verifiesOutstanding.removeAll()
        for (_, request) in outstanding { request.batch.resolve(request.file, nil, note: note) }
        if includingQueued { failQueuedVerifies(note: note) }
    }
}
