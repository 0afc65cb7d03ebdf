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
struct VerifyBatch: Sendable {
    var remaining: Int
    var answers: [[UInt8]: Bool] = [:]
    var note: String?
}

/// One question, queued or sent.
struct VerifyRequest: Sendable {
    var file: IngestVerifyFile
    var batch: Int
    var deadline: UInt64
    /// Until then the request waits for the ingest to commit the events already stored (a purge right after
    /// its folder's sync would otherwise ask about files the ingest has not been sent yet).
    var holdUntil: UInt64
}

extension IngestDoorMachine {
    /// Asks the ingest whether it committed each file (docs/ingest-protocol.md "Verify"). The batch ends with
    /// one `.verifyDone(batch:...)`, at once or later: a file without an answer (no reply within the verify
    /// timeout, no ingest running, no `verify` capability) is absent, and `note` says why. Requests wait for
    /// a child that is starting, up to the verify timeout.
    public mutating func verify(_ files: [IngestVerifyFile], at now: UInt64) -> (batch: Int, actions: [IngestDoorAction]) {
        nextBatch += 1
        let batch = nextBatch
        guard !files.isEmpty else { return (batch, [.verifyDone(batch: batch, answers: [:], note: nil)]) }
        switch phase {
        case .halted, .closed, .stopping:
            return (batch, [.verifyDone(batch: batch, answers: [:], note: "the ingest is not running")])
        case .ready where !capabilities.contains("verify"):
            return (batch, [.verifyDone(batch: batch, answers: [:], note: "the ingest does not answer verify")])
        default:
            break
        }
        batches[batch] = VerifyBatch(remaining: files.count)
        let deadline = now + timings.verifyTimeoutMs
        let hold = now + timings.verifyTimeoutMs / 2
        verifyQueue += files.map { VerifyRequest(file: $0, batch: batch, deadline: deadline, holdUntil: hold) }
        sendVerifies(now: now)
        armHousekeeping()
        return (batch, take())
    }

    /// Sends queued requests while fewer than `maxVerifiesOutstanding` wait for an answer.
    mutating func sendVerifies(now: UInt64) {
        guard phase == .ready else { return }
        guard capabilities.contains("verify") else {
            return failQueuedVerifies(note: "the ingest does not answer verify")
        }
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

    mutating func answered(_ id: Int64, _ committed: Bool, at now: UInt64) {
        guard let request = verifiesOutstanding.removeValue(forKey: id) else {
            return log("debug", "ingest: an answer for verify \(id), which is not outstanding (late or unknown); ignored")
        }
        resolve(request, committed)
        sendVerifies(now: now)
        armHousekeeping()
    }

    /// No answer in time means "keep". Once one request timed out the ingest is not answering: the rest of
    /// the queue gets no answer at once instead of one timeout after another.
    mutating func expireVerifies(now: UInt64) {
        let expired = verifiesOutstanding.filter { $0.value.deadline <= now }
        let queuedExpired = verifyQueue.contains { $0.deadline <= now && phase != .ready }
        sendVerifies(now: now)
        guard !expired.isEmpty || queuedExpired else { return }
        let note = "the ingest did not answer within \(Self.seconds(timings.verifyTimeoutMs))"
        for (id, request) in expired.sorted(by: { $0.key < $1.key }) {
            verifiesOutstanding[id] = nil
            resolve(request, nil, note: note)
        }
        if !expired.isEmpty {
            log("warning", "ingest: \(expired.count) verify request\(expired.count == 1 ? "" : "s") got no answer within "
                + "\(Self.seconds(timings.verifyTimeoutMs)); those files stay on their sources")
        }
        failQueuedVerifies(note: note)
    }

    mutating func failQueuedVerifies(note: String) {
        let queued = verifyQueue
        verifyQueue.removeAll()
        for request in queued { resolve(request, nil, note: note) }
    }

    /// Every question sent ends without an answer (the child went away, or mediasync stops); queued ones
    /// too when no child will come (`includingQueued`), else they wait for the next child within their timeout.
    mutating func failVerifies(note: String, includingQueued: Bool = false) {
        let outstanding = verifiesOutstanding.sorted { $0.key < $1.key }
        verifiesOutstanding.removeAll()
        for (_, request) in outstanding { resolve(request, nil, note: note) }
        if includingQueued { failQueuedVerifies(note: note) }
    }

    private mutating func resolve(_ request: VerifyRequest, _ answer: Bool?, note: String? = nil) {
        guard var batch = batches[request.batch] else { return }
        if let answer { batch.answers[request.file.libraryPath] = answer }
        if answer == nil, batch.note == nil { batch.note = note }
        batch.remaining -= 1
        if batch.remaining == 0 {
            batches[request.batch] = nil
            emit(.verifyDone(batch: request.batch, answers: batch.answers, note: batch.note))
        } else {
            batches[request.batch] = batch
        }
    }
}
