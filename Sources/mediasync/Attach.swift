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
        // Most lines are events: only a reply that starts so is read whole.
        guard line.starts(with: Array(#"{"ok":false"#.utf8)), case let .refused(error)? = AttachLine(line: line) else {
            return nil
        }
        return error
    }
}

/// Turns the snapshot and the event lines back into the live view's calls.
final class AttachView {
    private let terminal = TerminalView.stderr()

    func handle(_ line: [UInt8]) {
        switch AttachLine(line: line) {
        case let .hello(version, pid, _)?:
            terminal.log(level: "info", message: "attached to the mediasync supervisor, pid \(pid), version \(version); Ctrl-C detaches")
        case let .snapshot(snapshot)?:
            var text = "state \(snapshot.state)"
            if let next = snapshot.nextCycleAt, snapshot.state != "syncing" {
                text += ", next cycle at \(Status.local(next))"
            }
            if let last = snapshot.lastCycle {
                text += "; last cycle \(last.cycle): \(last.jobsDone) done, \(last.jobsFailed) failed"
            }
            terminal.log(level: "info", message: text)
            if let progress = snapshot.progress, let cycle = snapshot.cycle { terminal.replace(cycle: cycle, with: progress) }
        case let .event(event)?:
            show(event.body)
        case let .gap(missed, _, _)?:
            terminal.log(level: "warning", message: "\(missed) events are gone (the supervisor keeps the last 10,000)")
        case let .overflow(_, message)?:
            terminal.log(level: "warning", message: message)
        case .refused?, .other?, nil:
            break
        }
    }

    /// What `sync` shows of an event, and the start and end of each cycle (a supervisor runs many).
    private func show(_ body: EventBody) {
        switch body {
        case let .cycleStarted(cycle, _):
            terminal.log(level: "info", message: "cycle \(cycle) started")
        case let .cycleFinished(cycle, f):
            terminal.log(level: f.jobsFailed > 0 ? "warning" : "info",
                         message: "cycle \(cycle) finished: \(f.jobsDone) done, \(f.jobsFailed) failed, \(f.files) files")
        default:
            terminal.show(body)
        }
    }

    func tick() {
        if terminal.pendingDue != nil { terminal.flush() }
    }

    func finish() {
        terminal.flush()
        terminal.finish()
    }
}
