import MediaSyncCore
import MediaSyncEngine

/// Where a cycle's events go in the CLI: JSON lines on stdout (`--json`), the live view (a terminal)
/// or one plain line per finished job (anything else) on stderr.
final class OutputView {
    private let json: Bool
    private let terminal = TerminalView.stderr()

    init(json: Bool) {
        self.json = json
    }

    func handle(_ event: Event) {
        // Written unbuffered, one whole line per call: a pipe reader sees each event as it happens.
        if json { TerminalView.writeAll(fd: 1, event.jsonLine()) }
        terminal.show(event.body)
    }

    func finish(_ result: CycleResult) {
        terminal.flush()
        terminal.finish()
        let seconds = ViewFormat.elapsed(result.seconds)
        let line = "\(result.jobsDone) of \(result.jobsDone + result.jobsFailed) jobs done, "
            + "\(ViewFormat.count(result.files, "file")), \(ViewFormat.bytes(result.bytes)) in \(seconds)"
            + (result.jobsFailed > 0 ? "; \(result.jobsFailed) failed" : "") + "\n"
        TerminalView.writeAll(fd: 2, Array(line.utf8))
    }
}
