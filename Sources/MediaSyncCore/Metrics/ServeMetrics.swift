import Foundation

/// What `serve` has done, counted from its events, and written in Prometheus' text format (`mediasync metrics`,
/// `metrics_file:`). Pure: events go in through `observe`, the few values that are states rather than counts (the
/// ingest's queue, attached clients) come in at `render`.
///
/// ```swift
/// var metrics = ServeMetrics()
/// bus.subscribe { event, _ in metrics.observe(event) }
/// let text = metrics.render(sources: ["forge"], gauges: .init(attachedClients: 1))
/// ```
public struct ServeMetrics: Sendable {
    /// Values read at the moment of rendering.
    public struct Gauges: Sendable {
        /// Ingest events stored and not yet acknowledged, and those sent and waiting for their ack; nil without an ingest.
        public var ingestWaiting: Int?
        public var ingestInFlight: Int?
        public var attachedClients: Int
        /// Whether a cycle (sync or purge) runs now.
        public var cycleRunning: Bool

        public init(ingestWaiting: Int? = nil, ingestInFlight: Int? = nil, attachedClients: Int = 0, cycleRunning: Bool = false) {
            self.ingestWaiting = ingestWaiting
            self.ingestInFlight = ingestInFlight
            self.attachedClients = attachedClients
            self.cycleRunning = cycleRunning
        }
    }

    /// Cumulative histogram of durations in seconds.
    public struct Histogram: Sendable, Equatable {
        public let bounds: [Double]
        public private(set) var counts: [Int]
        public private(set) var sum: Double = 0
        public private(set) var count = 0

        public init(bounds: [Double]) {
            self.bounds = bounds
            counts = Array(repeating: 0, count: bounds.count)
        }

        public mutating func observe(_ value: Double) {
            for index in bounds.indices where value <= bounds[index] { counts[index] += 1 }
            sum += value
            count += 1
        }
    }

    struct FolderKey: Hashable, Comparable {
        var source: String
        var folder: String
        static func < (a: Self, b: Self) -> Bool { (a.source, a.folder) < (b.source, b.folder) }
    }

    struct ReasonKey: Hashable, Comparable {
        var folder: FolderKey
        var reason: String
        static func < (a: Self, b: Self) -> Bool { (a.folder, a.reason) < (b.folder, b.reason) }
    }

    /// Seconds: a job of a few files to a big first sync of a box.
    public static let durationBounds: [Double] = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200]

    var synced: [FolderKey: (files: Int, bytes: Int64)] = [:]
    var purged: [FolderKey: (files: Int, bytes: Int64)] = [:]
    var kept: [ReasonKey: Int] = [:]
    var jobFailures: [ReasonKey: Int] = [:]
    var cycles: [String: Int] = ["success": 0, "failure": 0]
    public private(set) var cycleDurations = Histogram(bounds: durationBounds)
    public private(set) var jobDurations = Histogram(bounds: durationBounds)
    /// Seconds since the epoch of the end of the last cycle in which every job of the source succeeded.
    var lastSuccess: [String: Double] = [:]
    /// The running cycle's sources that finished a job, and those with a failed one.
    var cycleSources: Set<String> = []
    var cycleFailedSources: Set<String> = []

    public init() {}

    /// The job failure's reason label: rsync's exit code (`exit_23`, `exit_255` = ssh failed...), or
    /// `before_transfer` when rsync never ran (the listing failed, the library was refused).
    public static func failureReason(exitCode: Int32?) -> String {
        exitCode.map { "exit_\($0)" } ?? "before_transfer"
    }

    public mutating func observe(_ event: Event) {
        switch event.body {
        case .cycleStarted:
            cycleSources = []
            cycleFailedSources = []
        case let .fileSynced(_, file):
            let key = FolderKey(source: file.job.source, folder: file.job.folder)
            var value = synced[key] ?? (0, 0)
            value.files += 1
            value.bytes += file.size
            synced[key] = value
        case let .filePurged(_, job, _, size, _, dryRun) where !dryRun:
            let key = FolderKey(source: job.source, folder: job.folder)
            var value = purged[key] ?? (0, 0)
            value.files += 1
            value.bytes += size
            purged[key] = value
        case let .fileKept(_, job, _, reason):
            kept[ReasonKey(folder: FolderKey(source: job.source, folder: job.folder), reason: reason), default: 0] += 1
        case let .jobFinished(_, finished):
            jobDurations.observe(finished.seconds)
            cycleSources.insert(finished.job.source)
            if finished.state == .failed {
                cycleFailedSources.insert(finished.job.source)
                let key = ReasonKey(folder: FolderKey(source: finished.job.source, folder: finished.job.folder),
                                    reason: Self.failureReason(exitCode: finished.exitCode))
                jobFailures[key, default: 0] += 1
            }
        case let .cycleFinished(_, finished):
            cycleDurations.observe(finished.seconds)
            cycles[finished.jobsFailed == 0 ? "success" : "failure", default: 0] += 1
            for source in cycleSources.subtracting(cycleFailedSources) { lastSuccess[source] = Double(event.timeMs) / 1000 }
            cycleSources = []
            cycleFailedSources = []
        default:
            break
        }
    }

    // MARK: - The text format

    /// The exposition in Prometheus' text format 0.0.4. `sources` are the configured ones: each gets its
    /// last-success time, 0 when it never succeeded (so an alert on its age fires for it too).
    public func render(sources: [String], gauges: Gauges) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func sample(_ name: String, _ labels: [(String, String)], _ value: String) {
            out += name
            if !labels.isEmpty {
                out += "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
            }
            out += " \(value)\n"
        }
        func folderLabels(_ key: FolderKey) -> [(String, String)] { [("source", key.source), ("folder", key.folder)] }

        family("mediasync_synced_files_total", "counter", "Files brought home into the library.")
        for key in synced.keys.sorted() { sample("mediasync_synced_files_total", folderLabels(key), "\(synced[key]!.files)") }
        family("mediasync_synced_bytes_total", "counter", "Bytes of the files brought home into the library.")
        for key in synced.keys.sorted() { sample("mediasync_synced_bytes_total", folderLabels(key), "\(synced[key]!.bytes)") }
        family("mediasync_purged_files_total", "counter", "Files deleted from the sources (dry runs not counted).")
        for key in purged.keys.sorted() { sample("mediasync_purged_files_total", folderLabels(key), "\(purged[key]!.files)") }
        family("mediasync_purged_bytes_total", "counter", "Bytes of the files deleted from the sources.")
        for key in purged.keys.sorted() { sample("mediasync_purged_bytes_total", folderLabels(key), "\(purged[key]!.bytes)") }
        family("mediasync_kept_files_total", "counter", "Files a purge left on their source, by reason (docs/events.md, file_kept).")
        for key in kept.keys.sorted() {
            sample("mediasync_kept_files_total", folderLabels(key.folder) + [("reason", key.reason)], "\(kept[key]!)")
        }
        family("mediasync_job_failures_total", "counter",
               "Jobs that failed, by reason: rsync's exit code (exit_N) or before_transfer.")
        for key in jobFailures.keys.sorted() {
            sample("mediasync_job_failures_total", folderLabels(key.folder) + [("reason", key.reason)], "\(jobFailures[key]!)")
        }
        family("mediasync_cycles_total", "counter", "Cycles (syncs and purges of their own) by result: failure when any job failed.")
        for result in cycles.keys.sorted() { sample("mediasync_cycles_total", [("result", result)], "\(cycles[result]!)") }
        histogram(&out, "mediasync_cycle_duration_seconds", "How long cycles took.", cycleDurations)
        histogram(&out, "mediasync_job_duration_seconds", "How long jobs (one folder of one source) took.", jobDurations)
        family("mediasync_last_success_timestamp_seconds", "gauge",
               "When a cycle last ended with every job of the source done (seconds since the epoch; 0: never since start).")
        for source in Set(sources).union(lastSuccess.keys).sorted() {
            sample("mediasync_last_success_timestamp_seconds", [("source", source)], Self.number(lastSuccess[source] ?? 0))
        }
        if let waiting = gauges.ingestWaiting {
            family("mediasync_ingest_events_waiting", "gauge", "Events stored for the ingest and not yet acknowledged.")
            sample("mediasync_ingest_events_waiting", [], "\(waiting)")
        }
        if let inFlight = gauges.ingestInFlight {
            family("mediasync_ingest_events_in_flight", "gauge", "Events sent to the ingest and waiting for their ack.")
            sample("mediasync_ingest_events_in_flight", [], "\(inFlight)")
        }
        family("mediasync_attached_clients", "gauge", "Clients attached to the control socket (mediasync attach).")
        sample("mediasync_attached_clients", [], "\(gauges.attachedClients)")
        family("mediasync_cycle_running", "gauge", "1 while a cycle (sync or purge) runs.")
        sample("mediasync_cycle_running", [], gauges.cycleRunning ? "1" : "0")
        return out
    }

    private func histogram(_ out: inout String, _ name: String, _ help: String, _ h: Histogram) {
        out += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        for (index, bound) in h.bounds.enumerated() {
            out += "\(name)_bucket{le=\"\(Self.number(bound))\"} \(h.counts[index])\n"
        }
        out += "\(name)_bucket{le=\"+Inf\"} \(h.count)\n"
        out += "\(name)_sum \(Self.number(h.sum))\n\(name)_count \(h.count)\n"
    }

    /// A label value with `\`, `"` and newlines escaped, as the text format wants.
    static func escape(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    /// Whole numbers without a fraction, others with up to three decimals.
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(format: "%.3f", value)
    }
}
