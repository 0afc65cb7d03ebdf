import Foundation
import Logging
import MediaSyncCore
import UV

/// The supervisor's ties to the outside world's bookkeeping: its log (journald and `logs.sqlite`) and
/// systemd's `Type=notify` protocol (READY, STATUS, RELOADING, STOPPING, WATCHDOG).
extension Supervisor {
    /// Sends the supervisor's own messages to `logger` and every bus event through an `EventLogBridge`
    /// (job and cycle summaries, failures, `log` events). Call once, before `run()`.
    ///
    /// ```swift
    /// let logging = MediaSyncLogging.bootstrap(stateDirectory: config.stateDirectory, stderr: true)
    /// supervisor.routeLogs(to: logging.logger)
    /// ```
    public func routeLogs(to logger: Logger) {
        let bridge = EventLogBridge(logger: logger)
        log = { level, message in logger.log(level: Logger.Level(userText: level) ?? .info, "\(message)") }
        // The bridge formats only the few events it logs; progress and file events return at once, so
        // this subscriber adds nothing measurable to the per-progress path.
        _ = bus.subscribe { event, _ in bridge.handle(event) }
        busIsLogged = true
    }

    /// READY=1 with the current status: at start once the socket listens, and at the end of a reload.
    func notifyReady() {
        guard let systemd else { return }
        let text = statusText()
        lastStatus = text
        systemd.ready(status: text)
    }

    /// Sends STATUS= when the line `systemctl status` shows has changed; nothing before READY=1, which
    /// carries the first one.
    func updateStatus() {
        guard let systemd, !stopping, lastStatus != nil else { return }
        let text = statusText()
        guard text != lastStatus else { return }
        lastStatus = text
        systemd.status(text)
    }

    /// Keeps the job counts of the STATUS line, from the events of the running cycle.
    func trackStatus(_ event: Event) {
        guard systemd != nil else { return }
        switch event.body {
        case let .cycleStarted(_, jobs):
            statusJobs = (0, jobs.count)
            updateStatus()
        case .jobFinished:
            statusJobs.finished += 1
            updateStatus()
        default:
            break
        }
    }

    /// `cycle 12: 3 of 5 jobs`, `idle; next cycle at ...; last cycle 11: 5 done, 0 failed`, or `paused ...`.
    func statusText() -> String {
        if stopping { return "stopping" }
        if cycle != nil {
            var text = "cycle \(cycleID): \(statusJobs.finished) of \(statusJobs.total) job\(statusJobs.total == 1 ? "" : "s")"
            if scheduler.paused { text += " (paused: no cycle after this one)" }
            return text
        }
        var text: String
        if scheduler.paused {
            text = "paused: no cycle starts until `mediasync resume`"
        } else {
            let due = Self.wallMs() + Int64(max(0, scheduler.nextDue - now) * 1000)
            text = "idle; next cycle at \(Timestamp.rfc3339(milliseconds: due / 1000 * 1000))"
        }
        if let last = lastCycle {
            text += "; last cycle \(last.id): \(last.result.jobsDone) done, \(last.result.jobsFailed) failed"
        }
        return text
    }

    /// WATCHDOG=1 every `watchdogPeriod` from a loop timer: a loop that hangs stops the pings and systemd
    /// restarts the service. The timer does not keep the loop alive on its own.
    func startWatchdog() {
        guard let systemd, let period = watchdogPeriod else { return }
        let ms = max(1, UInt64(period.seconds * 1000))
        guard let timer = try? UV.Timer(loop: loop) else {
            log("warning", "cannot start the systemd watchdog timer; systemd may restart the service")
            return
        }
        systemd.watchdog()
        timer.start(after: ms, repeat: ms) { systemd.watchdog() }
        timer.isReferenced = false
        watchdogTimer = timer
    }
}
