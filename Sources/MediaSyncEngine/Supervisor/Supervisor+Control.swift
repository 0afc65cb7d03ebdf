import Foundation
import MediaSyncCore
import UV

/// The control socket's requests, answered on the loop.
extension Supervisor {
    func accept(_ pipe: UV.Pipe) {
        guard !machine.isStopping else { pipe.close(); return }
        let connection = clients.add(pipe, onRequest: { [unowned self] client, request in handle(request, from: client) },
                                     onClosed: { [unowned self] client in feed { machine, _ in machine.clientClosed(client.id) } })
        guard let peer = connection.peer, ControlSocket.allows(peer, group: server?.group) else {
            let who = connection.peer.map { "uid \($0.uid) (pid \($0.pid))" } ?? "an unknown peer"
            log("warning", "refused a control connection from \(who): only uid \(getuid()), root"
                + (config.socketGroup.map { " and group \($0)" } ?? "") + " may use the socket")
            connection.fail("permission denied: this supervisor serves only uid \(getuid()) and root; run the client as that user")
            return
        }
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
        case .metrics:
            client.sendReply(ControlProtocol.okLine { o in
                o.field("type", "metrics")
                o.field("text", metricsText())
            })
        case let .trigger(sources, wait):
            trigger(client, sources: sources, wait: wait)
        case let .triggerPurge(sources, wait):
            triggerPurge(client, sources: sources, wait: wait)
        case .pause:
            feed { $0.pause(at: $1) }
            client.sendReply(ControlProtocol.okLine { $0.field("state", machine.scheduler.state.rawValue) })
        case .resume:
            feed { $0.resume(at: $1) }
            client.sendReply(ControlProtocol.okLine { $0.field("state", machine.scheduler.state.rawValue) })
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
        let lines = AttachGreeting.lines(version: MediaSyncVersion.string, pid: Int(getpid()), snapshot: stateLine(type: "snapshot"),
                                         replay: since.map(bus.replay(since:)), since: since, timeMs: Self.wallMs())
        client.attach(sendingFirst: lines)
    }

    private func trigger(_ client: ControlConnection, sources: [String]?, wait: Bool) {
        let answer = ask { $0.trigger(client: client.id, sources: sources, wait: wait, at: $1) }
        switch answer {
        case let .unknownSources(unknown):
            client.sendReply(ControlProtocol.errorLine("no source named \(unknown.joined(separator: ", ")); the sources are: \(config.sources.map(\.name).joined(separator: ", "))"))
        case .paused:
            client.sendReply(ControlProtocol.errorLine("the supervisor is paused; run `mediasync resume` first"))
        case let .queued(running):
            client.sendReply(ControlProtocol.okLine { o in
                o.field("queued", true)
                o.field("running_cycle", running)
            })
        case .started:
            client.sendReply(ControlProtocol.okLine { o in
                o.field("queued", false)
                o.field("cycle", machine.cycleID)
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
            feed { machine, _ in machine.reloadRejected(failure.errors) }
        case let .success(new):
            let running = ingest.map { (settings: $0.settings, halted: $0.isHalted) }
            feed { $0.reloaded(new, ingest: running, at: $1) }
        }
        return result
    }
}
