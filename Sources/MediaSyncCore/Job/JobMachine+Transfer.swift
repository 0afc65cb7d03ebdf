/// The transfer: rsync streams into staging, files moved home as they finish, the sweep after a stream exits.
extension JobMachine {
    mutating func startTransfer(at now: Double, _ out: inout [JobAction]) {
        guard move(to: .transferring, &out) else { return }
        out.append(.progress(.publish))
        let stream = JobChild.stream(0)
        children = [newChild(stream, at: now)]
        out.append(.spawnTransfer(stream, files: pendingIndices().map { planned[$0].remotePath }))
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
                // A file finished: the one announced last, or one before it.
                moveAnnounced(index, includingLast: true, &out)
            }
        case .file(let file):
            children[index].watchdog.activity(at: now)
            if file.isFile, pending[PathKey(file.name)] != nil {
                children[index].announced.append((file.name, 0))
                // rsync announces a file as it starts on it, so those announced before are done (or failed).
                moveAnnounced(index, includingLast: false, &out)
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
        guard pending[PathKey(move.transfer.remotePath)] == move.index else { return [] }  // home meanwhile
        guard let fact, fact.size == move.transfer.size, traits.sameMTime(fact.mtime, move.transfer.mtime) else { return [] }
        return [.moveHome(move)]
    }

    /// How moving a staged file went. While its stream runs, only a success counts (the file may not be
    /// finished); in the sweep a file not as planned changed at the source, and a refusal is the library's.
    public mutating func moved(_ move: MoveHome, _ outcome: MoveOutcome, at now: Double) -> [JobAction] {
        var out: [JobAction] = []
        let key = PathKey(move.transfer.remotePath)
        let child = childIndex(move.child)
        if pending[key] == move.index {
            switch outcome {
            case let .home(libraryPath, asideOf):
                pending[key] = nil
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
                pending[key] = nil
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
            out.append(.moveHome(MoveHome(child: run.id, index: next, transfer: planned[next], final: true)))
            return
        }
        streamEnded(children.remove(at: index), at: now, &out)
    }

    /// Moves home every announced file that is complete in staging, as the transfer goes, so that files
    /// reach the library (and their events the clients) steadily instead of in one burst at the end.
    /// A file found not ready three times is left to the sweep after rsync exits.
    private mutating func moveAnnounced(_ index: Int, includingLast: Bool, _ out: inout [JobAction]) {
        let announced = children[index].announced
        var kept: [(name: [UInt8], misses: Int)] = []
        for (position, entry) in announced.enumerated() {
            if position == announced.count - 1 && !includingLast {
                kept.append(entry)
                continue
            }
            // Home already (asked for on an earlier record): dropped.
            guard let planIndex = pending[PathKey(entry.name)] else { continue }
            out.append(.checkStaged(MoveHome(child: children[index].id, index: planIndex, transfer: planned[planIndex], final: false)))
            if entry.misses < 2 { kept.append((entry.name, entry.misses + 1)) }
        }
        children[index].announced = kept
    }

    /// A stream exited and its files are swept home: done when nothing is left, else a retry or the end.
    private mutating func streamEnded(_ run: ChildRun, at now: Double, _ out: inout [JobAction]) {
        let exit = run.exit!
        let code = exit.code
        let stop = stopReason(run)
        if pending.isEmpty && exit.signal == 0 && stop == nil {
            // rsync's 23 that said nothing but what the library cannot take: the files are whole.
            let onlyHarmless = run.harmless > 0 && !run.messages.contains {
                $0.severity == .error && !$0.text.hasPrefix("rsync error: some files/attrs were not transferred")
            }
            return finishDone(exitCode: code, mayPurge: code == 0 || (code == 23 && onlyHarmless), at: now, &out)
        }
        if stop == nil, let vanished = VanishedFiles.completeDespite(code: code, signal: exit.signal, messages: run.messages),
           vanished > 0 {
            // Deleted at the source after the listing: not in the manifest, so nothing is lost; if they come
            // back, a later cycle lists them again.
            let gone = pendingIndices().map { planned[$0].remotePath }
            pending.removeAll()
            for path in gone {
                out.append(.emit(.fileDeferred(cycle: settings.cycle, job: eventJob, path: path, reason: "vanished")))
            }
            log("info", "\(settings.job): \(ViewFormat.count(gone.count, "file")) vanished at the source during the transfer; the rest is home",
                &out)
            return finishDone(exitCode: code, at: now, &out)
        }
        failedAttempt(run, what: "rsync", at: now, &out)
    }
}
