/// The transfer: rsync streams into staging, files moved home as they finish, the sweep after a stream exits.
extension JobMachine {
    /// How the streams of one attempt ended, gathered until the last one ends.
    struct StreamEnds: Sendable {
        /// The highest exit code of the streams that brought their whole share.
        var exitCode: Int32?
        /// Every whole stream may let the purge run.
        var mayPurge = true
        /// The first stream that did not bring its whole share: its exit and messages judge the attempt.
        var failed: ChildRun?
    }

    /// Starts the transfer of every planned file not home yet: one stream, or several when the plan is big
    /// enough and the source allows it (`StreamSplit`); several are first claimed from the cycle.
    mutating func startTransfer(at now: Double, _ out: inout [JobAction]) {
        guard move(to: .transferring, &out) else { return }
        out.append(.progress(.publish))
        let order = pendingIndices()
        let bytes = order.reduce(Int64(0)) { $0 + planned[$1].size }
        let wanted = StreamSplit.wanted(settings.streams, multiConnection: settings.multiConnection,
                                        files: order.count, bytes: bytes)
        guard wanted > 1 else { return spawnStreams(order, count: 1, at: now, &out) }
        out.append(.claimStreams(wanted, bytes: bytes))
    }

    /// The cycle granted this many streams (at least one: the job's own slot) of those it claimed.
    public mutating func streamsGranted(_ count: Int, at now: Double) -> [JobAction] {
        var out: [JobAction] = []
        guard state == .transferring, !children.contains(where: { $0.id != .listing }) else {
            out.append(illegal("streams granted"))
            return out
        }
        spawnStreams(pendingIndices(), count: max(1, count), at: now, &out)
        return out
    }

    /// Splits the files (plan indexes in name order) into `count` shares balanced by bytes and starts a
    /// stream for each.
    private mutating func spawnStreams(_ order: [Int], count: Int, at now: Double, _ out: inout [JobAction]) {
        let shares = StreamSplit.shares(sizes: order.map { planned[$0].size }, count: count)
        streamEnds = StreamEnds()
        children = shares.enumerated().map { number, share in
            var child = newChild(.stream(number), at: now)
            child.share = share.map { order[$0] }
            return child
        }
        mostStreamsRun = max(mostStreamsRun, children.count)
        if children.count > 1 {
            let bytes = order.reduce(Int64(0)) { $0 + planned[$1].size }
            log("info", "\(settings.job): \(ViewFormat.count(order.count, "file")), \(ViewFormat.bytes(bytes)) in \(children.count) rsync streams",
                &out)
        }
        for child in children {
            out.append(.spawnTransfer(child.id, files: child.share.map { planned[$0].remotePath },
                                      bytes: child.share.reduce(Int64(0)) { $0 + planned[$1].size }, into: placement))
        }
    }

    /// One parsed line of a child's output (a stream's stdout or stderr, the listing's stderr).
    public mutating func record(_ record: RsyncRecord, from child: JobChild, at now: Double) -> [JobAction] {
        var out: [JobAction] = []
        guard let index = childIndex(child) else {
            out.append(illegal("output of \(child)"))
            return out
        }
        switch record {
        case .progress(let progress):
            children[index].watchdog.activity(at: now)
            if let number = progress.transferNumber, number > children[index].lastTransferNumber {
                children[index].lastTransferNumber = number
                // A file finished: the one announced last (or one before it, finished already).
                if !children[index].announced.isEmpty { children[index].announced[children[index].announced.count - 1].finished = true }
            }
        case .file(let file):
            children[index].watchdog.activity(at: now)
            if file.isFile, let planIndex = plannedIndex(of: file.name, child: index) {
                // rsync announces a file as it starts on it, so those announced before are done (or failed).
                if !children[index].announced.isEmpty { children[index].announced[children[index].announced.count - 1].finished = true }
                children[index].announced.append(Announced(index: planIndex))
            }
        case .message(let message):
            if traits.isHarmless(message.text) {
                children[index].harmless += 1
            } else {
                children[index].messages.append(message)
            }
            return out
        }
        // Only a stream's records are progress; the listing's are not (it prints messages only, and those returned above).
        if case .stream(let stream) = children[index].id {
            out.append(.progress(.record(record, stream: stream)))
        }
        return out
    }

    /// What the executor found at a staged file's place while its stream runs: moved home when it is
    /// complete (the planned size and mtime), else left for a later look or the sweep.
    public mutating func staged(_ move: MoveHome, _ fact: LibraryFileFact?, at now: Double) -> [JobAction] {
        guard pending.contains(move.index) else { return [] }  // home meanwhile
        guard let fact, fact.size == move.transfer.size, traits.sameMTime(fact.mtime, move.transfer.mtime) else { return [] }
        return [.moveHome(move)]
    }

    /// The plan index of the pending file a stream names, or nil. rsync sends its list in name order, as the
    /// share is kept: the file expected next is nearly always the one named, found by one comparison instead
    /// of a hash lookup (a cache miss or two per file in a plan of thousands). Any other name is looked up by
    /// path, and the expectation moves to the file after it.
    private mutating func plannedIndex(of name: [UInt8], child index: Int) -> Int? {
        let share = children[index].share
        let cursor = children[index].cursor
        if cursor < share.count, PathBytes.equal(planned[share[cursor]].remotePath, name) {
            children[index].cursor = cursor + 1
            return pending.contains(share[cursor]) ? share[cursor] : nil
        }
        guard let found = pending.index(of: name) else { return nil }
        var low = 0, high = share.count
        while low < high {
            let middle = (low + high) / 2
            if share[middle] < found { low = middle + 1 } else { high = middle }
        }
        if low < share.count, share[low] == found { children[index].cursor = low + 1 }
        return found
    }

    /// How moving a staged file went. While its stream runs, only a success counts (the file may not be
    /// finished); in the sweep a file not as planned changed at the source, and a refusal is the library's.
    public mutating func moved(_ move: MoveHome, _ outcome: MoveOutcome, at now: Double) -> [JobAction] {
        var out: [JobAction] = []
        let child = childIndex(move.child)
        if pending.contains(move.index) {
            switch outcome {
            case let .home(libraryPath, asideOf):
                pending.remove(move.index)
                filesHome += 1
                bytesHome += move.transfer.size
                var home = move.transfer
                if let asideOf {
                    // Someone put another file at the planned name meanwhile: ours went beside it.
                    home.renamedFrom = home.renamedFrom ?? asideOf
                    home.libraryPath = libraryPath
                }
                out.append(.fileHome(home, libraryPath: libraryPath))
            case .changed where move.final:
                // rsync sent what the file is now: it changed after the listing. A later cycle takes it.
                pending.remove(move.index)
                out.append(.emit(.fileDeferred(cycle: settings.cycle, job: eventJob, path: move.transfer.remotePath,
                                               reason: "changed")))
                log("info", "\(settings.job): \(String(decoding: move.transfer.remotePath, as: UTF8.self)) changed during the sync; a later cycle takes it",
                    &out)
            case .refused(let text) where move.final:
                if let child {
                    children[child].messages.append(RsyncMessage(severity: .error, origin: .rsync, text: JobFailure.libraryPrefix + text))
                }
            default:
                break  // not delivered (the retry fetches it), or not finished yet
            }
        }
        if move.final, let child, children[child].exit != nil {
            children[child].swept += 1
            sweepNext(child, at: now, &out)
        }
        return out
    }

    /// Asks for the next file of an exited stream's sweep, or, once all are asked for and answered, judges
    /// its exit. One at a time: a stream that failed early on a first sync of 200,000 files leaves them all.
    mutating func sweepNext(_ index: Int, at now: Double, _ out: inout [JobAction]) {
        let run = children[index]
        if run.swept < run.sweep.count {
            let next = run.sweep[run.swept]
            out.append(.moveHome(MoveHome(child: run.id, index: next, transfer: planned[next], final: true,
                                          placement: placement)))
            return
        }
        streamEnded(children.remove(at: index), at: now, &out)
    }

    /// Looks at every file a stream finished since the last tick, to move it home if complete, so that files
    /// reach the library (and their events the clients) steadily instead of in one burst at the end. Once a
    /// tick, not on rsync's record: its receiver renames a file a moment after its sender counts it, so a look
    /// on the record mostly came too early and was made again; a tick later one look finds nearly every
    /// file, and the files found are flushed in that same tick. A file found not ready on
    /// `looksBeforeSweep` ticks is left to the sweep after rsync exits.
    mutating func lookAtFinished(_ index: Int, _ out: inout [JobAction]) {
        var kept: [Announced] = []
        for var entry in children[index].announced {
            guard entry.finished else {
                kept.append(entry)
                continue
            }
            // Home already (found on an earlier tick): dropped.
            guard pending.contains(entry.index) else { continue }
            out.append(.checkStaged(MoveHome(child: children[index].id, index: entry.index, transfer: planned[entry.index],
                                             final: false, placement: placement)))
            entry.misses += 1
            if entry.misses < Self.looksBeforeSweep { kept.append(entry) }
        }
        children[index].announced = kept
    }

    /// A stream exited and its share is swept home: judged on its own share (whole, whole but for files that
    /// vanished at the source, or not), then, once the attempt's last stream ended, the attempt: done when every
    /// stream brought its share, else a retry of what is not home yet (the other streams' files stay home) or
    /// the end.
    private mutating func streamEnded(_ run: ChildRun, at now: Double, _ out: inout [JobAction]) {
        let exit = run.exit!
        let code = exit.code
        let stop = stopReason(run)
        let left = run.share.filter { pending.contains($0) }
        if left.isEmpty && exit.signal == 0 && stop == nil {
            // rsync's 23 that said nothing but what the library cannot take: the files are whole.
            let onlyHarmless = run.harmless > 0 && !run.messages.contains {
                $0.severity == .error && !$0.text.hasPrefix("rsync error: some files/attrs were not transferred")
            }
            streamWhole(code, mayPurge: code == 0 || (code == 23 && onlyHarmless))
        } else if stop == nil, let vanished = VanishedFiles.completeDespite(code: code, signal: exit.signal, messages: run.messages),
                  vanished > 0 {
            // Deleted at the source after the listing: not in the manifest, so nothing is lost; if they come
            // back, a later cycle lists them again.
            let gone = left.map { planned[$0].remotePath }
            for (index, path) in zip(left, gone) {
                pending.remove(index)
                out.append(.emit(.fileDeferred(cycle: settings.cycle, job: eventJob, path: path, reason: "vanished")))
            }
            log("info", "\(settings.job): \(ViewFormat.count(gone.count, "file")) vanished at the source during the transfer; the rest is home",
                &out)
            streamWhole(code, mayPurge: true)
        } else if streamEnds.failed == nil {
            streamEnds.failed = run
        }
        // The others still run (or sweep): the attempt is judged when the last one ends.
        guard !children.contains(where: { $0.id != .listing }) else { return }
        let ends = streamEnds
        streamEnds = StreamEnds()
        if let line = abortLine {
            abortLine = nil
            return finish(failedWith: line, exitCode: nil, at: now, &out)
        }
        if let failed = ends.failed { return failedAttempt(failed, what: "rsync", at: now, &out) }
        finishDone(exitCode: ends.exitCode ?? code, mayPurge: ends.mayPurge, at: now, &out)
    }

    private mutating func streamWhole(_ code: Int32, mayPurge: Bool) {
        streamEnds.exitCode = max(streamEnds.exitCode ?? code, code)
        streamEnds.mayPurge = streamEnds.mayPurge && mayPurge
    }
}
