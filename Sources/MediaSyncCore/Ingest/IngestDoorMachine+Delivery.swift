/// How full the outbox is, for the warnings as it fills.
enum OutboxLevel: Sendable {
    case normal, warned, full
}

extension IngestDoorMachine {
    // MARK: - Reading the child

    /// Bytes from the child's stdout: `ready`, acks, verify answers; anything else breaks the protocol.
    public mutating func stdout(_ bytes: some Collection<UInt8>, at now: UInt64) -> [IngestDoorAction] {
        for output in stdoutDecoder.feed(bytes) {
            guard phase == .handshaking || phase == .ready else {
                // A child being stopped may still report commits (acks written before its stdout closed
                // count); anything else it says no longer matters.
                if case let .line(line) = output, case let .success(.ack(ids)) = IngestReply.parse(line) { acknowledged(ids) }
                continue
            }
            switch output {
            case .tooLong:
                restart(because: "broke the protocol: a line is longer than \(IngestReply.maxLineLength) bytes")
                return take()
            case let .line(line):
                if line.isEmpty { continue }
                switch IngestReply.parse(line) {
                case let .failure(problem):
                    restart(because: "broke the protocol: \(problem)")
                    return take()
                case let .success(reply):
                    handle(reply, line, at: now)
                }
            }
        }
        return take()
    }

    /// Bytes from the child's stderr: each line goes to the log under the child's pid.
    public mutating func stderr(_ bytes: some Collection<UInt8>) -> [IngestDoorAction] {
        for byte in bytes {
            if byte == 0x0A {
                var text = String(decoding: stderrLine, as: UTF8.self)
                if text.hasSuffix("\r") { text.removeLast() }
                log("info", "ingest[\(childPID)]: \(text)")
                stderrLine.removeAll(keepingCapacity: true)
            } else if stderrLine.count < 4096 {
                stderrLine.append(byte)
            }
        }
        return take()
    }

    private mutating func handle(_ reply: IngestReply, _ line: [UInt8], at now: UInt64) {
        if phase == .handshaking {
            switch reply {
            case let .ready(version, offered):
                return ready(version: version, capabilities: offered, at: now)
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
            answered(id, committed, at: now)
        case let .error(message):
            log("error", "ingest: \(settings.command[0]) reports an error: \(message)")
        case let .unknown(what):
            if !warnedUnknown {
                warnedUnknown = true
                log("warning", "ingest: ignoring \(what) (a newer ingest may say more; this warning is shown once per child)")
            }
        }
    }

    private mutating func ready(version: Int, capabilities offered: [String], at now: UInt64) {
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
        readyAt = now
        log("info", "ingest: pid \(childPID) ready (protocol \(version), capabilities: "
            + "\(capabilities.isEmpty ? "none" : capabilities.sorted().joined(separator: ", ")))")
        if settings.verifyBeforePurge && !capabilities.contains("verify") {
            log("warning", "ingest: it does not answer verify, so with `ingest.verify_before_purge` on no file is purged "
                + "(reason not_committed); turn the switch off or give the ingest the verify capability")
        }
        armHousekeeping()
        sendVerifies(now: now)
        pump()
    }

    // MARK: - Sending

    /// Events were stored with a file's record (or a cycle's end): read their metadata, send them, and warn
    /// as the outbox fills.
    public mutating func appended(_ result: OutboxAppend, at now: UInt64) -> [IngestDoorAction] {
        guard phase != .closed, result.stored + result.dropped > 0 else { return [] }
        outboxCount = result.total
        noteOutboxLevel(dropped: result.dropped, at: now)
        if result.stored > 0 {
            emit(.readMetadata)
            pump()
        }
        return take()
    }

    /// The outbox worker read more events' metadata, or the child's stdin drained: send more if there is room.
    public mutating func canSend(at now: UInt64) -> [IngestDoorAction] {
        pump()
        return take()
    }

    /// Asks the worker for the next events while the window has room.
    mutating func pump() {
        guard phase == .ready, childRunning else { return }
        guard !loading else { pokedWhileLoading = true; return }
        let room = timings.window - inFlight.count
        // Lines can be megabytes (ComfyUI workflows): hold back while the pipe has plenty queued.
        guard room > 0, stdinBacklog < timings.stdinBacklogLimit else { return }
        loading = true
        pokedWhileLoading = false
        emit(.load(after: lastSentID, limit: room, wantMetadata: capabilities.contains("metadata"), generation: generation))
    }

    /// The worker's answer to `.load`: events after the asked id, in id order (none when the outbox has no more).
    public mutating func loaded(generation asked: Int, items: [OutboxItem], at now: UInt64) -> [IngestDoorAction] {
        guard asked == generation else { return [] }
        loading = false
        let withMetadata = capabilities.contains("metadata")
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
        return take()
    }

    /// A delete of acknowledged events ended; `outboxCount` is the table's count after it (nil when it could
    /// not be read).
    public mutating func deleted(outboxCount count: Int?, at now: UInt64) -> [IngestDoorAction] {
        deleting = false
        // Counted again rather than subtracted: an append on the loop may already have counted the
        // table after this delete ran, and subtracting would then take the same events off twice.
        if let count { outboxCount = count }
        noteOutboxLevel(dropped: 0, at: now)
        flushDeletes()
        sendVerifies(now: now)
        checkDrained()
        return take()
    }

    mutating func acknowledged(_ ids: [Int64]) {
        var any = false
        for id in ids where inFlight.removeValue(forKey: id) != nil {
            pendingDeletes.append(id)
            any = true
        }
        guard any else { return }
        drainProgressed()
        flushDeletes()
        armHousekeeping()
        pump()
    }

    private mutating func flushDeletes() {
        guard !deleting, !pendingDeletes.isEmpty else { return }
        deleting = true
        emit(.delete(pendingDeletes))
        pendingDeletes.removeAll()
    }

    // MARK: - The outbox's size

    mutating func noteOutboxLevel(dropped: Int, at now: UInt64) {
        let limit = settings.outboxLimit
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
}
