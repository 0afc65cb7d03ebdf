/// How an attempt and the job end: a retry after a failure that may pass, the purge after a whole sync,
/// `job_finished`.
extension JobMachine {
    /// A child failed (or was stopped): retried when the reason may pass and tries are left, else the end.
    mutating func failedAttempt(_ run: ChildRun, what: String, at now: Double, _ out: inout [JobAction]) {
        let exit = run.exit ?? ChildExit(code: 20, signal: 0, description: "stopped")
        let code = exit.signal != 0 ? Int32(20) : exit.code
        lastExitCode = exit.signal != 0 ? nil : code
        let stop = stopReason(run)
        let failure = JobFailure.classify(JobFailure.Attempt(
            job: settings.job.description, what: what, code: code, signal: exit.signal, status: exit.description,
            messages: run.messages, stop: stop, pendingFiles: pending.count, stallTimeout: settings.stallTimeout,
            library: settings.library, sourceFolder: settings.sourceFolder, transport: settings.transport,
            sourceRoot: settings.sourceRoot))
        let line = failure.line
        if stop == .cancelled {
            return finish(failedWith: line, exitCode: lastExitCode, at: now, &out)
        }
        guard failure.retryable, attempts < settings.retry.attempts else {
            return finish(failedWith: line, exitCode: lastExitCode, at: now, &out)
        }
        let delay = settings.retry.delay(beforeAttempt: attempts + 1)
        log("warning", "\(line); retrying in \(DurationSyntax.format(delay)) (attempt \(attempts + 1) of \(settings.retry.attempts))",
            &out)
        guard move(to: .waitingToRetry, &out) else { return }
        lastFailure = line
        out.append(.progress(.publish))
        out.append(.slot(.released))
        let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
        out.append(.arm(.retry, at: now + seconds))
    }

    /// The sync is whole (every planned file home or deferred): done, or the purge first.
    mutating func finishDone(exitCode: Int32?, mayPurge: Bool = true, at now: Double, _ out: inout [JobAction]) {
        // Only a whole sync may purge: every planned file is home or was deferred (settling, changed, vanished
        // at the source: none of those is in the manifest as it is now, so the purge plan keeps it) and
        // nothing was stopped.
        if mayPurge, settings.purgeAfterSync, !cancelled {
            guard move(to: .purging, &out) else { return }
            syncExitCode = exitCode
            out.append(.progress(.publish))
            // The manifest must hold every file this job brought home before the purge reads it, and
            // `file_synced` goes out before `purge_started`.
            out.append(.flushFilesHome)
            out.append(.startPurge)
            return
        }
        guard move(to: .done, &out) else { return }
        end(.done, exitCode: exitCode, error: nil, at: now, &out)
    }

    mutating func finish(failedWith line: String, exitCode: Int32?, at now: Double, _ out: inout [JobAction]) {
        guard move(to: .failed, &out) else { return }
        errorLine = line
        log("error", line, &out)
        end(.failed, exitCode: exitCode, error: line, at: now, &out)
    }

    mutating func end(_ state: JobFinished.State, exitCode: Int32?, error: String?, at now: Double,
                              _ out: inout [JobAction]) {
        children = []
        listingOutput = RemoteListingReader()
        out.append(.progress(.publish))
        out.append(.flushFilesHome)
        out.append(.emit(.jobFinished(cycle: settings.cycle, JobFinished(
            job: eventJob, state: state, files: filesHome, bytes: bytesHome, seconds: now - startedAt,
            exitCode: exitCode, attempts: attempts, streams: mostStreamsRun, error: error, note: note))))
        out.append(.slot(.finished))
    }
}
