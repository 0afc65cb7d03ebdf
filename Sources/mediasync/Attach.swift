import ArgumentParser
import Foundation
import MediaSyncCore
import MediaSyncEngine

/// `mediasync attach`: the supervisor's live view, or its raw event lines for scripts.
struct Attach: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Watch the running supervisor live (Ctrl-C detaches; the supervisor keeps running).",
        discussion: """
            On a terminal: the live progress view. With --json, or when stdout is not a terminal: every \
            line the supervisor sends (hello, snapshot, then the events of docs/events.md), one per line, \
            flushed per line, e.g. `mediasync attach --json | jq`. Exit 0 on detach or when the supervisor \
            stops, 3 when none runs.
            """)

    @OptionGroup var socket: SocketOptions

    @Flag(help: "Write the raw JSON lines to stdout.")
    var json = false

    @Option(help: ArgumentHelp("Replay the events after this seq first (a `gap` line says what is gone).", valueName: "seq"))
    var since: Int64?

    func run() throws {
        let client = try socket.connect()
        StopSignals.install()

        var request = #"{"cmd":"attach""#
        if let since { request += #","since":\#(since)"# }
        try? client.send(request + "}")
        let raw = json || isatty(1) != 1
        let view = raw ? nil : AttachView()
        while stopRequested == 0 {
            let next: BlockingControlClient.ReadResult
            do {
                next = try client.next(timeoutMs: 100)
            } catch {
                ControlCommand.fail("mediasync: \(error)")
                view?.finish()
                throw ExitCode(1)
            }
            switch next {
            case .timedOut:
                view?.tick()
            case .end:
                view?.finish()
                ControlCommand.fail("mediasync: the supervisor closed the connection")
                return
            case let .line(line):
                if raw {
                    var bytes = line
                    bytes.append(0x0A)
                    TerminalView.writeAll(fd: 1, bytes)
                    if let error = Self.errorOf(line) { ControlCommand.fail("mediasync: \(error)"); throw ExitCode(1) }
                } else if let view {
                    if let error = Self.errorOf(line) { view.finish(); ControlCommand.fail("mediasync: \(error)"); throw ExitCode(1) }
                    view.handle(line)
                }
            }
        }
        view?.finish()
    }

    /// The `error` of a refused request (`{"ok":false,...}`), nil for anything else.
    static func errorOf(_ line: [UInt8]) -> String? {
        guard line.starts(with: Array(#"{"ok":false"#.utf8)),
              let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
        else { return nil }
        return object["error"] as? String ?? "the supervisor refused the request"
    }
}

/// Turns the snapshot and the event lines back into the live view's calls.
final class AttachView {
    private let terminal = TerminalView.stderr()
    private let decoder = JSONDecoder()

    func handle(_ line: [UInt8]) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
              let type = object["type"] as? String
        else { return }
        switch type {
        case "hello":
            terminal.log(level: "info", message: "attached to the mediasync supervisor, pid \(object["pid"] as? Int ?? 0), version \(object["version"] as? String ?? "?"); Ctrl-C detaches")
        case "snapshot":
            var text = "state \(object["state"] as? String ?? "?")"
            if let next = object["next_cycle_at"] as? String, object["state"] as? String != "syncing" {
                text += ", next cycle at \(Status.local(next))"
            }
            if let last = object["last_cycle"] as? [String: Any] {
                text += "; last cycle \(last["cycle"] as? Int ?? 0): \(last["jobs_done"] as? Int ?? 0) done, \(last["jobs_failed"] as? Int ?? 0) failed"
            }
            terminal.log(level: "info", message: text)
            if let progress = object["progress"] as? [String: Any], let snapshot = decodeProgress(progress) {
                terminal.update(snapshot: snapshot)
            }
        case "progress":
            if let snapshot = decodeProgress(object) { terminal.update(snapshot: snapshot) }
        case "cycle_started":
            terminal.log(level: "info", message: "cycle \(object["cycle"] as? Int ?? 0) started")
        case "cycle_finished":
            let failed = object["jobs_failed"] as? Int ?? 0
            terminal.log(level: failed > 0 ? "warning" : "info",
                         message: "cycle \(object["cycle"] as? Int ?? 0) finished: \(object["jobs_done"] as? Int ?? 0) done, \(failed) failed, \(object["files"] as? Int ?? 0) files")
        case "job_finished":
            if let result = Self.jobFinished(object) { terminal.jobFinished(result) }
        case "log":
            let level = object["level"] as? String ?? "info"
            if level == "warning" || level == "error" {
                terminal.log(level: level, message: object["message"] as? String ?? "")
            }
        case "gap":
            terminal.log(level: "warning", message: "\(object["missed"] as? Int ?? 0) events are gone (the supervisor keeps the last 10,000)")
        case "overflow":
            terminal.log(level: "warning", message: object["message"] as? String ?? "disconnected: too slow")
        default:
            break
        }
    }

    func tick() {
        if terminal.pendingDue != nil { terminal.flush() }
    }

    func finish() {
        terminal.flush()
        terminal.finish()
    }

    private func decodeProgress(_ object: [String: Any]) -> ProgressSnapshot? {
        guard let overall = object["overall"], let jobs = object["jobs"],
              let data = try? JSONSerialization.data(withJSONObject: ["overall": overall, "jobs": jobs])
        else { return nil }
        return try? decoder.decode(ProgressSnapshot.self, from: data)
    }

    static func jobFinished(_ o: [String: Any]) -> JobFinished? {
        guard let job = o["job"] as? String, let slash = job.firstIndex(of: "/") else { return nil }
        return JobFinished(job: EventJob(source: String(job[..<slash]), folder: String(job[job.index(after: slash)...])),
                           state: o["state"] as? String == "done" ? .done : .failed,
                           files: o["files"] as? Int ?? 0, bytes: (o["bytes"] as? NSNumber)?.int64Value ?? 0,
                           seconds: (o["seconds"] as? NSNumber)?.doubleValue ?? 0,
                           exitCode: (o["exit_code"] as? NSNumber).map { Int32(truncating: $0) },
                           attempts: o["attempts"] as? Int ?? 0, error: o["error"] as? String)
    }
}
