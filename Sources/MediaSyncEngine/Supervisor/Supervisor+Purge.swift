import Foundation
import MediaSyncCore
import UV

/// The purge cycle of its own (`purge.schedule`, `trigger --purge`), performed: the machine decides when
/// (SupervisorMachine+Purge.swift); this runs a `PurgeCycle`, its timer and its replies.
extension Supervisor {
    /// Records the purge cycle in the manifest, tells the machine, and runs it.
    func startPurgeCycle(_ plan: PurgeScheduler.Plan) {
        let id = (try? manifest.startCycle(at: Self.wallMs() / 1000)) ?? machine.cycleID + 1
        feed { $0.purgeCycleStarted(id: id, plan: plan, at: $1) }
        let run = PurgeCycle(loop: loop, config: config, manifest: manifest, cycleID: id, sources: plan.sources,
                             named: plan.sources != nil, childEnvironment: options.childEnvironment, ingest: ingest) {
            [unowned self] body in publish(body)
        }
        purgeCycle = run
        run.start { [unowned self] result in purgeCycleEnded(result) }
    }

    private func purgeCycleEnded(_ result: CycleResult) {
        purgeCycle = nil
        try? manifest.finishCycle(machine.cycleID, at: Self.wallMs() / 1000, jobsDone: result.jobsDone,
                                  jobsFailed: result.jobsFailed, files: 0, bytes: 0)
        let totals = PurgeTotals(foldersDone: result.jobsDone, foldersFailed: result.jobsFailed,
                                 filesPurged: result.filesPurged, seconds: result.seconds)
        feed { $0.purgeCycleEnded(totals, at: $1) }
    }

    /// The purge timer: the machine looks at the wall clock when it fires.
    func armPurgeTimer(afterMs: UInt64) {
        if timers.purge == nil { timers.purge = try? UV.Timer(loop: loop) }
        timers.purge?.start(after: afterMs) { [unowned self] in feed { $0.purgeTimerFired(at: $1) } }
    }

    /// `{"ok":true,"type":"cycle_finished","purge":true,...}` to the clients that waited for the purge cycle.
    func replyPurgeFinished(_ waiters: [Int], cycle: Int64, totals: PurgeTotals) {
        let reply = ControlProtocol.okLine { o in
            o.field("type", "cycle_finished")
            o.field("cycle", cycle)
            o.field("purge", true)
            o.field("jobs_done", totals.foldersDone)
            o.field("jobs_failed", totals.foldersFailed)
            o.field("files_purged", totals.filesPurged)
            o.field("seconds", totals.seconds, decimals: 3)
        }
        for id in waiters { clients[id]?.sendReply(reply) }
    }

    /// `trigger --purge`.
    func triggerPurge(_ client: ControlConnection, sources: [String]?, wait: Bool) {
        switch ask({ $0.triggerPurge(client: client.id, sources: sources, wait: wait, at: $1) }) {
        case let .unknownSources(unknown):
            client.sendReply(ControlProtocol.errorLine("no source named \(unknown.joined(separator: ", ")); the sources are: \(config.sources.map(\.name).joined(separator: ", "))"))
        case .paused:
            client.sendReply(ControlProtocol.errorLine("the supervisor is paused; run `mediasync resume` first"))
        case let .alreadyRunning(id):
            client.sendReply(ControlProtocol.okLine { o in
                o.field("purge", true)
                o.field("queued", false)
                o.field("already_running", true)
                o.field("cycle", id)
            })
        case let .queued(running):
            client.sendReply(ControlProtocol.okLine { o in
                o.field("purge", true)
                o.field("queued", true)
                o.field("running_cycle", running)
            })
        case .started:
            client.sendReply(ControlProtocol.okLine { o in
                o.field("purge", true)
                o.field("queued", false)
                o.field("cycle", machine.cycleID)
            })
        }
    }

    /// The running cycle's progress for `status` and `snapshot`: the sync's or the purge's.
    var runningProgress: (id: Int64, snapshot: ProgressSnapshot)? {
        if let cycle { return (machine.cycleID, cycle.progress.snapshot(at: cycle.now)) }
        if let purgeCycle { return (purgeCycle.cycleID, purgeCycle.progress.snapshot(at: purgeCycle.now)) }
        return nil
    }

    /// The purge part of `status` and `snapshot`: the schedule, the next scheduled purge, the last purge cycle.
    func writePurgeState(_ o: inout ObjectWriter) {
        let purge = machine.purge
        o.field("purge_schedule", purge.scheduler.schedule.description)
        if let next = purge.scheduler.nextRun, !machine.scheduler.paused, !machine.isStopping {
            o.field("next_purge_at", Timestamp.rfc3339(milliseconds: next * 1000))
        } else {
            o.null("next_purge_at")
        }
        o.field("pending_purge", purge.scheduler.pending != nil)
        if let last = purge.last {
            o.object("last_purge") { c in
                c.field("cycle", last.id)
                c.field("finished_at", Timestamp.rfc3339(milliseconds: last.finishedAtMs))
                c.field("folders_done", last.totals.foldersDone)
                c.field("folders_failed", last.totals.foldersFailed)
                c.field("files_purged", last.totals.filesPurged)
                c.field("seconds", last.totals.seconds, decimals: 3)
            }
        } else {
            o.null("last_purge")
        }
    }
}
