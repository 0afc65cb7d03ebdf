import Logging
import MediaSyncCore

/// Turns the engine's events into log entries: `log` events as they are, failed jobs as errors with the
/// reason, and one summary line per job and per cycle. Progress and per-file events are not logged; the
/// event stream (`attach`, `sync --json`) has them.
///
/// ```swift
/// let bridge = EventLogBridge(logger: logging.logger)
/// SyncRunner.runOnce(config: config, options: options) { event in view.handle(event); bridge.handle(event) }
/// ```
/// Runs on the loop thread: each call formats at most one line and queues it (see `LogSink`).
public struct EventLogBridge: Sendable {
    public let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public func handle(_ event: Event) {
        guard let (level, message, metadata) = Self.entry(for: event.body) else { return }
        logger.log(level: level, "\(message)", metadata: metadata)
    }

    /// The level, message and metadata an event becomes, or nil for events that are not logged.
    public static func entry(for body: EventBody) -> (Logger.Level, String, Logger.Metadata)? {
        switch body {
        case let .log(level, message, cycle, job):
            var metadata: Logger.Metadata = [:]
            if let cycle { metadata[LogEntry.Key.cycle] = "\(cycle)" }
            if let job { metadata[LogEntry.Key.job] = .string(job) }
            return (Logger.Level(userText: level) ?? .info, message, metadata)
        case let .cycleStarted(cycle, jobs):
            let names = jobs.map(\.job).joined(separator: ", ")
            return (.info, "cycle \(cycle) started: \(jobs.count) job\(jobs.count == 1 ? "" : "s")"
                        + (jobs.isEmpty ? "" : " (\(names))"),
                    [LogEntry.Key.cycle: "\(cycle)"])
        case let .jobFinished(cycle, f):
            var metadata: Logger.Metadata = [
                LogEntry.Key.cycle: "\(cycle)", LogEntry.Key.source: .string(f.job.source),
                LogEntry.Key.folder: .string(f.job.folder),
                "files": "\(f.files)", "bytes": "\(f.bytes)", "attempts": "\(f.attempts)",
            ]
            if let code = f.exitCode { metadata["exit_code"] = "\(code)" }
            let totals = "\(f.files) file\(f.files == 1 ? "" : "s"), \(ViewFormat.bytes(f.bytes)) in \(ViewFormat.elapsed(f.seconds))"
            switch f.state {
            case .done:
                return (.info, "\(f.job.job): done, \(totals)", metadata)
            case .failed:
                let reason = f.error ?? "no reason given"
                metadata["error"] = .string(reason)
                return (.error, "\(f.job.job): failed after \(f.attempts) attempt\(f.attempts == 1 ? "" : "s") (\(totals) brought home): \(reason)", metadata)
            }
        case let .cycleFinished(cycle, f):
            let metadata: Logger.Metadata = [
                LogEntry.Key.cycle: "\(cycle)", "jobs_done": "\(f.jobsDone)", "jobs_failed": "\(f.jobsFailed)",
                "files": "\(f.files)", "bytes": "\(f.bytes)",
            ]
            let message = "cycle \(cycle) finished: \(f.jobsDone) job\(f.jobsDone == 1 ? "" : "s") done, \(f.jobsFailed) failed, "
                + "\(f.files) file\(f.files == 1 ? "" : "s"), \(ViewFormat.bytes(f.bytes)) in \(ViewFormat.elapsed(f.seconds))"
            return (f.jobsFailed > 0 ? .warning : .info, message, metadata)
        case let .purgeFinished(cycle, job, deleted, kept, bytesFreed, dryRun):
            let metadata: Logger.Metadata = [
                LogEntry.Key.cycle: "\(cycle)", LogEntry.Key.source: .string(job.source),
                LogEntry.Key.folder: .string(job.folder), "deleted": "\(deleted)", "kept": "\(kept)",
                "bytes_freed": "\(bytesFreed)",
            ]
            let verb = dryRun ? "would purge" : "purged"
            return (.info, "\(job.job): \(verb) \(deleted) file\(deleted == 1 ? "" : "s") (\(ViewFormat.bytes(bytesFreed))), kept \(kept)", metadata)
        case .jobStarted, .progress, .fileSynced, .fileDeferred, .purgeStarted, .filePurged, .fileKept:
            return nil
        }
    }
}
