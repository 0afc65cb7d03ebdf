/// What the supervisor knows of each job and shows systemd: followed from the events of the bus.
extension SupervisorMachine {
    /// An event went over the bus: job records, the running cycle's failed sources and the STATUS line's
    /// counts follow it.
    public mutating func observed(_ event: Event, at time: SupervisorTime) -> [SupervisorAction] {
        switch event.body {
        case let .jobFinished(cycleNumber, finished):
            var record = jobRecords[finished.job.job] ?? JobRecord(source: finished.job.source, folder: finished.job.folder)
            record.last = finished
            record.cycle = cycleNumber
            record.finishedAtMs = event.timeMs
            record.skipped = nil
            jobRecords[finished.job.job] = record
            if finished.state == .failed { cycle?.failedSources.insert(finished.job.source) }
            if sendsStatus {
                statusJobs.finished += 1
                updateStatus(at: time)
            }
        case let .cycleStarted(_, jobs) where sendsStatus:
            statusJobs = (0, jobs.count)
            updateStatus(at: time)
        default:
            break
        }
        return take()
    }

    /// READY=1 carries this status: at start once the socket listens, and at the end of a reload.
    public mutating func readyStatus(at time: SupervisorTime) -> String {
        let text = statusText(at: time)
        lastStatus = text
        return text
    }

    /// Something the STATUS line shows may have changed (a cycle started).
    public mutating func refreshStatus(at time: SupervisorTime) -> [SupervisorAction] {
        updateStatus(at: time)
        return take()
    }

    /// Sends STATUS= when the line `systemctl status` shows has changed; nothing before READY=1, which
    /// carries the first one.
    mutating func updateStatus(at time: SupervisorTime) {
        guard sendsStatus, !isStopping, lastStatus != nil else { return }
        let text = statusText(at: time)
        guard text != lastStatus else { return }
        lastStatus = text
        emit(.systemdStatus(text))
    }

    /// `cycle 12: 3 of 5 jobs`, `idle; next cycle at ...; last cycle 11: 5 done, 0 failed`, or `paused ...`.
    public func statusText(at time: SupervisorTime) -> String {
        if isStopping { return "stopping" }
        if let purging = purgeStatusText() { return purging }
        if cycle != nil {
            var text = "cycle \(cycleID): \(statusJobs.finished) of \(statusJobs.total) job\(statusJobs.total == 1 ? "" : "s")"
            if scheduler.paused { text += " (paused: no cycle after this one)" }
            return text
        }
        var text: String
        if scheduler.paused {
            text = "paused: no cycle starts until `mediasync resume`"
        } else {
            let due = time.wallMs + Int64(max(0, scheduler.nextDue - time.monotonic) * 1000)
            text = "idle; next cycle at \(Timestamp.rfc3339(milliseconds: due / 1000 * 1000))"
        }
        if let last = lastCycle {
            text += "; last cycle \(last.id): \(last.totals.jobsDone) done, \(last.totals.jobsFailed) failed"
        }
        return text
    }
}
