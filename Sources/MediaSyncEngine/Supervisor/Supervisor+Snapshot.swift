import Foundation
import MediaSyncCore

/// The `snapshot` (attach) and `status` replies: everything a client needs to draw the state at once.
extension Supervisor {
    func stateLine(type: String) -> [UInt8] {
        let wall = Self.wallMs()
        return ControlProtocol.okLine { o in
            o.field("type", type)
            // The state as of this seq: the next live event an attached client gets is seq + 1.
            o.field("seq", bus.lastSeq)
            o.field("time", Timestamp.rfc3339(milliseconds: wall))
            o.field("pid", Int(getpid()))
            o.field("state", machine.scheduler.state.rawValue)
            o.field("paused", machine.scheduler.paused)
            o.field("pending_cycle", machine.scheduler.pending != nil)
            if let (id, snapshot) = runningProgress {
                o.field("cycle", id)
                // Shaped exactly like a `progress` event, so a client reads both the same way.
                var line = Event(seq: bus.lastSeq, timeMs: wall, body: .progress(cycle: id, snapshot)).jsonLine()
                line.removeLast()
                o.raw("progress", line)
            } else {
                o.null("cycle")
                o.null("progress")
            }
            if machine.scheduler.paused || machine.isStopping {
                o.null("next_cycle_at")
            } else {
                let due = cycle != nil && machine.scheduler.pending != nil ? 0 : max(0, machine.scheduler.nextDue - now)
                o.field("next_cycle_at", Timestamp.rfc3339(milliseconds: wall + Int64(due * 1000)))
            }
            writePurgeState(&o)
            if let ingest {
                o.object("ingest") { i in
                    i.field("state", ingest.stateName)
                    if let pid = ingest.pid { i.field("pid", Int(pid)) } else { i.null("pid") }
                    i.field("outbox", ingest.outboxCount)
                    i.field("in_flight", ingest.eventsInFlight)
                }
            } else {
                o.null("ingest")
            }
            if let last = machine.lastCycle {
                o.object("last_cycle") { c in
                    c.field("cycle", last.id)
                    c.field("finished_at", Timestamp.rfc3339(milliseconds: last.finishedAtMs))
                    c.field("jobs_done", last.totals.jobsDone)
                    c.field("jobs_failed", last.totals.jobsFailed)
                    c.field("files", last.totals.files)
                    c.field("bytes", last.totals.bytes)
                    c.field("seconds", last.totals.seconds, decimals: 3)
                }
            } else {
                o.null("last_cycle")
            }
            o.array("jobs", config.jobs) { j, job in
                j.field("job", job.id)
                j.field("source", job.source.name)
                j.field("folder", job.folder)
                let record = machine.jobRecords[job.id]
                if let failures = machine.scheduler.failures[job.source.name] { j.field("failed_cycles", failures) }
                if let until = machine.scheduler.backoffUntil[job.source.name], until > now {
                    j.field("backoff_until", Timestamp.rfc3339(milliseconds: wall + Int64((until - now) * 1000)))
                }
                if let skipped = record?.skipped { j.field("skipped", skipped) }
                guard let record, let last = record.last else { j.null("last"); return }
                j.object("last") { l in
                    if let cycle = record.cycle { l.field("cycle", cycle) }
                    if let at = record.finishedAtMs { l.field("finished_at", Timestamp.rfc3339(milliseconds: at)) }
                    l.field("state", last.state.rawValue)
                    l.field("files", last.files)
                    l.field("bytes", last.bytes)
                    l.field("seconds", last.seconds, decimals: 3)
                    if let code = last.exitCode { l.field("exit_code", Int(code)) } else { l.null("exit_code") }
                    l.field("attempts", last.attempts)
                    if let error = last.error { l.field("error", error) }
                    if let note = last.note { l.field("note", note) }
                }
            }
        }
    }
}
