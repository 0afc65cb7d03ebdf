import Foundation
import MediaSyncCore
import UV

/// The control socket's requests, answered on the loop.
extension Supervisor {
    func accept(_ pipe: UV.Pipe) {
        nextClientID += 1
        let connection = ControlConnection(
            id: nextClientID, pipe: pipe, log: clientLog,
            onRequest: { [unowned self] client, request in handle(request, from: client) },
            onClosed: { [unowned self] client in clients[client.id] = nil })
        guard !stopping else { pipe.close(); return }
        guard let peer = connection.peer, ControlSocket.allows(peer, group: socketGroupID) else {
            let who = connection.peer.map { "uid \($0.uid) (pid \($0.pid))" } ?? "an unknown peer"
            log("warning", "refused a control connection from \(who): only uid \(getuid()), root"
                + (config.socketGroup.map { " and group \($0)" } ?? "") + " may use the socket")
            clients[connection.id] = connection
            connection.fail("permission denied: this supervisor serves only uid \(getuid()) and root; run the client as that user")
            return
        }
        clients[connection.id] = connection
        connection.startReading()
    }

    func handle(_ result: Result<ControlRequest, ControlRequestError>, from client: ControlConnection) {
        let request: ControlRequest
        switch result {
        case let .failure(error):
            // A client that speaks garbage gets told why and is dropped: it is not speaking our protocol.
            client.fail(error.description)
            return
        case let .success(parsed):
            request = parsed
        }
        switch request {
        case let .attach(since):
            attach(client, since: since)
        case .status:
            client.sendReply(stateLine(type: "status"))
        case let .trigger(sources, wait):
            trigger(client, sources: sources, wait: wait)
        case .pause:
            scheduler.pause()
            publish(.log(level: "info", message: "paused: no new cycle starts until `mediasync resume`", cycle: nil, job: nil))
            updateStatus()
            client.sendReply(ControlProtocol.okLine { $0.field("state", scheduler.state.rawValue) })
        case .resume:
            let plan = scheduler.resume(at: now)
            publish(.log(level: "info", message: "resumed", cycle: nil, job: nil))
            if let plan { startCycle(plan) }
            armIntervalTimer()
            updateStatus()
            client.sendReply(ControlProtocol.okLine { $0.field("state", scheduler.state.rawValue) })
        case .reload:
            switch reload() {
            case .success:
                client.sendReply(ControlProtocol.okLine { o in
                    o.field("sources", config.sources.count)
                    o.field("jobs", config.jobs.count)
                })
            case let .failure(failure):
                client.sendReply(ControlProtocol.errorLine("the new config was rejected; the running one stays") { o in
                    o.stringArray("errors", failure.errors)
                })
            }
        }
    }

    private func attach(_ client: ControlConnection, since: Int64?) {
        guard !client.attached else {
            client.sendReply(ControlProtocol.errorLine("already attached"))
            return
        }
        var lines = [EventLine(seq: 0, type: "hello", line: ControlProtocol.okLine { o in
            o.field("type", "hello")
            o.field("version", MediaSyncVersion.string)
            o.field("pid", Int(getpid()))
            o.field("protocol", ControlProtocol.version)
        })]
        lines.append(EventLine(seq: 0, type: "snapshot", line: stateLine(type: "snapshot")))
        if let since {
            let replay = bus.replay(since: since)
            if replay.missed > 0 {
                lines.append(EventLine(seq: 0, type: "gap",
                                       line: EventBus.gapLine(since: since, missed: replay.missed, timeMs: Self.wallMs())))
            }
            lines.append(contentsOf: replay.lines)
        }
        client.attach(sendingFirst: lines)
    }

    private func trigger(_ client: ControlConnection, sources: [String]?, wait: Bool) {
        if let sources {
            let unknown = sources.filter { name in !config.sources.contains { $0.name == name } }
            guard unknown.isEmpty else {
                client.sendReply(ControlProtocol.errorLine("no source named \(unknown.joined(separator: ", ")); the sources are: \(config.sources.map(\.name).joined(separator: ", "))"))
                return
            }
        }
        switch scheduler.trigger(sources: sources, at: now) {
        case .refusedPaused:
            client.sendReply(ControlProtocol.errorLine("the supervisor is paused; run `mediasync resume` first"))
        case .queued:
            if wait { pendingWaiters.append(client) }
            client.sendReply(ControlProtocol.okLine { o in
                o.field("queued", true)
                o.field("running_cycle", cycleID)
            })
        case let .start(plan):
            if wait { pendingWaiters.append(client) }
            startCycle(plan)
            armIntervalTimer()
            client.sendReply(ControlProtocol.okLine { o in
                o.field("queued", false)
                o.field("cycle", cycleID)
            })
        }
    }

    /// Rereads the config. A config that fails validation is rejected (an error event says why)
    /// and the running one stays; a good one applies from the next cycle.
    @discardableResult
    func reload() -> Result<Config, ConfigLoadFailure> {
        systemd?.reloading()
        // READY=1 ends the reload for systemd whether the new config was taken or not: either way the
        // supervisor runs on a good one.
        defer { notifyReady() }
        let result = loadConfig()
        switch result {
        case let .failure(failure):
            publish(.log(level: "error", message: "config reload rejected, the running config stays:\n" + failure.errors.joined(separator: "\n"),
                         cycle: nil, job: nil))
        case let .success(new):
            var notes: [String] = []
            if new.socket != config.socket || new.socketGroup != config.socketGroup { notes.append("socket") }
            if new.stateDirectory != config.stateDirectory { notes.append("state_dir") }
            var applied = new
            applied.socket = config.socket
            applied.socketGroup = config.socketGroup
            applied.stateDirectory = config.stateDirectory
            config = applied
            scheduler.reconfigure(sources: applied.sources.map(\.name), interval: applied.interval.seconds,
                                  backoff: applied.retry.backoff.seconds, maxBackoff: applied.retry.maxBackoff.seconds)
            if applied.ingest != ingest?.settings || ingest?.isHalted == true {
                // A new command (or a halted one after a fix): the old child finishes its work, the new one
                // gets every unacknowledged event. A cycle running now keeps storing into the same outbox.
                let old = ingest
                ingest = nil
                old?.shutdown()
                startIngest()
                cycle?.ingest = ingest
            }
            let known = Set(applied.jobs.map(\.id))
            jobRecords = jobRecords.filter { known.contains($0.key) }
            armIntervalTimer()
            var message = "config reloaded: \(applied.sources.count) sources, \(applied.jobs.count) jobs, a cycle every \(DurationSyntax.format(applied.interval))"
            if !notes.isEmpty { message += "; changes to \(notes.joined(separator: " and ")) take effect at restart" }
            publish(.log(level: notes.isEmpty ? "info" : "warning", message: message, cycle: nil, job: nil))
        }
        return result
    }
}
