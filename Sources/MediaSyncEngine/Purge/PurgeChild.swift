import MediaSyncCore
import UV

/// Runs one child of a purge (the listing, a checksum run, a delete batch) on the loop: its stdin fed as it
/// reads, its stderr into a `PurgeChildReport`, and the stall watchdog over its output (a source frozen
/// mid-listing or mid-delete, a paused container, would otherwise hold the job, and a one-shot purge, for
/// ever). Its end is told as the report's outcome.
struct PurgeChild {
    let loop: Loop
    let environment: [String: String]
    let stallTimeout: Duration
    /// How the source is reached, for the report's lines.
    let target: String

    /// Starts `argv` and returns it (to stop it), or nil when it could not start (`then` was told why).
    /// `cancelled` is asked at the end: a cancelled listing is not a success despite vanished files.
    func run(_ what: String, _ argv: [String], input: [UInt8], vanishedIsFine: Bool,
             cancelled: @escaping () -> Bool, log: @escaping (_ level: String, _ message: String) -> Void,
             onStdout: @escaping (UnsafeRawBufferPointer) -> Void,
             then: @escaping (PurgeChildReport.Outcome) -> Void) -> Child? {
        var stderrLines = RsyncOutputParser(stream: .stderr)
        var report = PurgeChildReport(what: what, target: target, vanishedIsFine: vanishedIsFine)
        let take: (RsyncRecord) -> Void = { record in
            if case .message(let message) = record { report.add(message) }
        }
        var command = Command(argv[0], Array(argv.dropFirst()), environment: environment,
                              stdin: .pipe, stdout: .pipe, stderr: .pipe)
        command.diesWithParent = true
        let loop = self.loop
        let stallTimeout = self.stallTimeout
        var watchdog = StallWatchdog(limit: stallTimeout, startedAt: Double(loop.now) / 1000)
        var stalled = false
        let timer = try? UV.Timer(loop: loop)
        do {
            let started = try Child(loop: loop, command: command, onStdout: { bytes in
                watchdog.activity(at: Double(loop.now) / 1000)
                onStdout(bytes)
            }, onStderr: { bytes in
                watchdog.activity(at: Double(loop.now) / 1000)
                stderrLines.feed(bytes, take)
            }, outputGraceAfterExit: 2_000, onFinished: { status, _ in
                timer?.close()
                stderrLines.finish(take)
                then(report.outcome(code: Int32(truncatingIfNeeded: status.code), signal: status.signal,
                                    status: status.description, stalled: stalled, cancelled: cancelled(),
                                    stallTimeout: stallTimeout))
            })
            timer?.start(after: 1_000, repeat: 1_000) {
                guard !stalled, watchdog.isStalled(at: Double(loop.now) / 1000) else { return }
                stalled = true
                started.stop(grace: 2_000)
            }
            // Fed as the child reads: a checksum list or a batch can be larger than one write may queue.
            started.feedStdin(input) { error in
                guard let error, error.name != "EPIPE", error.name != "ECANCELED" else { return }
                let complaint = "cannot hand \(argv[0]) its input: \(error)"
                report.complain(complaint)
                log("error", complaint)
                started.stop(grace: 2_000)
            }
            return started
        } catch {
            timer?.close()
            then(.failed("cannot start \(argv[0]) for the \(what): \(error)"))
            return nil
        }
    }
}
