import MediaSyncCore
import UV

/// How full the outbox is, for the warnings as it fills.
enum OutboxLevel {
    case normal, warned, full
}

extension IngestDoor {
    // MARK: - Reading the child

    func stdoutBytes(_ bytes: UnsafeRawBufferPointer) {
        for output in stdoutDecoder.feed(bytes) {
            guard phase == .handshaking || phase == .ready else {
                // A child being stopped may still report commits (acks written before its stdout closed
                // count); anything else it says no longer matters.
                if case let .line(line) = output, case let .success(.ack(ids)) = IngestReply.parse(line) { acknowledged(ids) }
                continue
            }
            switch output {
            case .tooLong:
                return restart(because: "broke the protocol: a line is longer than \(IngestReply.maxLineLength) bytes")
            case let .line(line):
                if line.isEmpty { continue }
                switch IngestReply.parse(line) {
                case let .failure(problem): return restart(because: "broke the protocol: \(problem)")
                case let .success(reply): handle(reply, line)
                }
            }
        }
    }

    func stderrBytes(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes {
            if byte == 0x0A {
                logStderrLine()
            } else if stderrLine.count < 4096 {
                stderrLine.append(byte)
            }
        }
    }

    private func logStderrLine() {
        defer { stderrLine.removeAll(keepingCapacity: true) }
        var text = String(decoding: stderrLine, as: UTF8.self)
        if text.hasSuffix("\r") { text.removeLast() }
        log("info", "ingest[\(childPID)]: \(text)")
    }

    private func handle(_ reply: IngestReply, _ line: [UInt8]) {
        if phase == .handshaking {
            switch reply {
            case let .ready(version, offered):
                return ready(version: version, capabilities: offered)
            case let .error(message):
                log("error", "ingest: \(settings.command[0]) refused the handshake: \(message)")
                haltAfterExit = true
                return
            default:
                return restart(because: "broke the protocol: its first line must be `ready`, got \(IngestReply.quote(line))")
            }
        }
        switch reply {
        case .ready:
            restart(because: "broke the protocol: a second `ready`")
        case let .ack(ids):
            acknowledged(ids)
        case let .verified(id, committed):
            answered(id, committed)
        case let .error(message):
            log("error", "ingest: \(settings.command[0]) reports an error: \(message)")
        case let .unknown(what):
            if !warnedUnknown {
                warnedUnknown = true
                log("warning", "ingest: ignoring \(what) (a newer ingest may say more; this warning is shown once per child)")
            }
        }
    }

    private func ready(version: Int, capabilities offered: [String]) {
        guard version >= 1, version <= IngestLine.protocolVersion else {
            return restart(because: "broke the protocol: it answered with protocol \(version), mediasync offered \(IngestLine.protocolVersion)")
        }
        let known = Set(IngestLine.capabilities)
        let unknown = offered.filter { !known.contains($0) }
        if !unknown.isEmpty {
            log("warning", "ingest: ignoring capabilities that were not offered: \(unknown.joined(separator: ", "))")
        }
        capabilities = Set(offered).intersection(known)
        phase = .ready
        readyAt = loop.now
        log("info", "ingest: pid \(childPID) ready (protocol \(version), capabilities: "
            + "\(capabilities.isEmpty ? "none" : capabilities.sorted().joined(separator: ", ")))")
        if settings.verifyBeforePurge && !capabilities.contains("verify") {
            log("warning", "ingest: it does not answer verify, so with `ingest.verify_before_purge` on no file is purged "
                + "(reason not_committed); turn the switch off or give the ingest the verify capability")
        }
        armHousekeeping()
        sendVerifies()
        pump()
    }

    // MARK: - Sending

    /// Asks the worker for the next events while the window has room.
    func pump() {
        guard phase == .ready, let child else { return }
        guard !loading else { pokedWhileLoading = true; return }
        let room = timings.window - inFlight.count
        // Lines can be megabytes (ComfyUI workflows): hold back while the pipe has plenty queued.
        guard room > 0, (child.stdin?.queuedBytes ?? 0) < 8 << 20 else { return }
        loading = true
        pokedWhileLoading = false
        worker.load(after: lastSentID, limit: room, wantMetadata: capabilities.contains("metadata"), generation: generation)
    }

    func received(_ message: OutboxMessage) {
        switch message {
        case .metadataRead:
            pump()
        case let .loaded(generation, items):
            guard generation == self.generation else { return }
            loading = false
            let withMetadata = capabilities.contains("metadata")
            let now = loop.now
            // One write for the whole load: a system call per line cost more than the line.
            var lines: [UInt8] = []
            for item in items {
                lines += IngestLine.event(id: item.id, body: item.body, metadata: withMetadata ? item.metadata : nil)
                inFlight[item.id] = now
                lastSentID = item.id
            }
            if !lines.isEmpty { write(lines) }
            if !items.isEmpty { armHousekeeping() }
            if !items.isEmpty || pokedWhileLoading { pump() }
        case .deleted:
            deleting = false
            // Counted again rather than subtracted: an append on the loop may already have counted the
            // table after this delete ran, and subtracting would then take the same events off twice.
            if let count = try? store.outboxCount() { outboxCount = count }
            noteOutboxLevel(dropped: 0)
            flushDeletes()
            sendVerifies()
            drainWaiter?.check(self)
        case let .failed(message):
            log("error", "ingest: \(message)")
        }
    }

    func acknowledged(_ ids: [Int64]) {
        var any = false
        for id in ids where inFlight.removeValue(forKey: id) != nil {
            pendingDeletes.append(id)
            any = true
        }
        guard any else { return }
        drainWaiter?.progress(self)
        flushDeletes()
        armHousekeeping()
        pump()
    }

    private func flushDeletes() {
        guard !deleting, !pendingDeletes.isEmpty, worker != nil else { return }
        deleting = true
        worker.delete(pendingDeletes)
        pendingDeletes.removeAll()
    }

    // MARK: - The outbox's size

    func noteOutboxLevel(dropped: Int) {
        let limit = settings.outboxLimit
        let now = loop.now
        if dropped > 0 {
            droppedSinceReport += dropped
            if outboxLevel != .full || lastDropReport.map({ now - $0 >= 60_000 }) ?? true {
                log("error", "ingest: the outbox is full (\(limit) events): \(droppedSinceReport) new event"
                    + "\(droppedSinceReport == 1 ? " was" : "s were") not stored and will not reach the ingest (the files "
                    + "are in the library and the manifest). Check the ingest (`mediasync logs`), or raise `ingest.outbox_limit`; "
                    + "once it has caught up, `mediasync backfill` sends every library file again")
                droppedSinceReport = 0
                lastDropReport = now
            }
            outboxLevel = .full
            return
        }
        if outboxCount * 10 >= limit * 8 {
            if outboxLevel == .normal {
                outboxLevel = .warned
                log("warning", "ingest: the outbox holds \(outboxCount) of at most \(limit) events: the ingest is not "
                    + "acknowledging them (state: \(stateName)); at the limit new events are not stored. Check the ingest "
                    + "(`mediasync logs`), or raise `ingest.outbox_limit`")
            }
        } else if outboxCount * 2 < limit, outboxLevel != .normal {
            outboxLevel = .normal
            if droppedSinceReport > 0 {
                // Drops after the last once-a-minute report are not left untold.
                log("error", "ingest: \(droppedSinceReport) more event\(droppedSinceReport == 1 ? " was" : "s were") not stored "
                    + "while the outbox was full; `mediasync backfill` sends every library file again")
                droppedSinceReport = 0
            }
            log("info", "ingest: the outbox is down to \(outboxCount) events")
        }
    }

    // MARK: - Timeouts

    /// A once-a-second check, running only while something can time out (an idle door costs nothing).
    func armHousekeeping() {
        let needed = phase == .handshaking || (phase == .ready && (!inFlight.isEmpty || !verifiesOutstanding.isEmpty
            || !verifyQueue.isEmpty)) || (phase == .waiting && !verifyQueue.isEmpty)
        if !needed {
            housekeeping?.stop()
            return
        }
        if housekeeping == nil { housekeeping = try? UV.Timer(loop: loop) }
        guard let timer = housekeeping, timer.dueIn == 0 else { return }
        timer.start(after: 1_000, repeat: 1_000) { [unowned self] in checkTimeouts() }
    }

    private func checkTimeouts() {
        let now = loop.now
        expireVerifies(now: now)
        if phase == .handshaking, now >= handshakeDeadline {
            return restart(because: "broke the protocol: no `ready` within \(Self.seconds(timings.handshakeMs)) of `hello`")
        }
        if phase == .ready, let oldest = inFlight.min(by: { $0.value < $1.value }), now - oldest.value >= timings.ackTimeoutMs {
            return restart(because: "did not acknowledge event \(oldest.key) within \(Self.seconds(timings.ackTimeoutMs))")
        }
        armHousekeeping()
    }
}

/// `finish`: the one-shot commands wait for the outbox to empty while acks keep coming.
final class DrainWaiter {
    let idleMs: UInt64
    let then: () -> Void
    private var timer: UV.Timer?
    private var done = false

    init(idleMs: UInt64, then: @escaping () -> Void) {
        self.idleMs = idleMs
        self.then = then
    }

    func arm(_ door: IngestDoor) {
        if timer == nil { timer = try? UV.Timer(loop: door.loop) }
        timer?.start(after: idleMs) { [unowned self, unowned door] in
            let waiting = door.outboxCount
            if waiting > 0 {
                door.log("warning", "ingest: \(waiting) event\(waiting == 1 ? "" : "s") not yet acknowledged after "
                         + "\(IngestDoor.seconds(idleMs)) without progress; they stay in the outbox for the next run")
            }
            end(door)
        }
    }

    func progress(_ door: IngestDoor) { arm(door) }

    /// The door shuts down for another reason: stop waiting; returns what was to run at the end.
    func abandon() -> () -> Void {
        done = true
        timer?.close()
        timer = nil
        return then
    }

    func check(_ door: IngestDoor) {
        guard door.phase == .halted || (door.inFlight.isEmpty && !door.deleting && door.pendingDeletes.isEmpty) else { return }
        // The count the door keeps can lag a delete; the table itself decides.
        if door.phase == .halted || (try? door.store.outboxCount()) == 0 { end(door) }
    }

    private func end(_ door: IngestDoor) {
        guard !done else { return }
        done = true
        timer?.close()
        timer = nil
        door.drainWaiter = nil
        door.shutdown(then: then)
    }
}
