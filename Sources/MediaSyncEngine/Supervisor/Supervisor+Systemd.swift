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
        systemd.ready(status: ask { ($0.readyStatus(at: $1), []) })
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
        timers.watchdog = timer
    }
}
