import Foundation
import MediaSyncCore

/// Metrics for the graphs people already keep: `ServeMetrics` counts the bus's events; `mediasync metrics` reads
/// them over the socket, and `metrics_file:` gets them written after every cycle (node_exporter's textfile
/// collector reads that file).
extension Supervisor {
    /// Counts every event from now on and writes the first metrics file. Called once, from `run()`.
    func startMetrics() {
        _ = bus.subscribe { [unowned self] event, _ in
            metrics.observe(event)
            if case .cycleFinished = event.body { writeMetricsFile() }
        }
        writeMetricsFile()
    }

    /// The exposition as it stands now.
    func metricsText() -> String {
        metrics.render(sources: config.sources.map(\.name), gauges: ServeMetrics.Gauges(
            ingestWaiting: ingest?.outboxCount, ingestInFlight: ingest?.eventsInFlight,
            attachedClients: clients.attachedCount,
            cycleRunning: cycle != nil || purgeCycle != nil))
    }

    /// Writes `metrics_file` atomically: a temporary file in the same folder, then a rename over the old one, so a
    /// reader never sees half a file. A failure is logged once, until a write works again.
    func writeMetricsFile() {
        guard let path = config.metricsFile else { return }
        let folder = (path as NSString).deletingLastPathComponent
        let temporary = folder + "/." + (path as NSString).lastPathComponent + ".\(getpid()).tmp"
        let data = Data(metricsText().utf8)
        do {
            guard FileManager.default.createFile(atPath: temporary, contents: data,
                                                 attributes: [.posixPermissions: 0o644]) else {
                throw CocoaError(.fileWriteUnknown)
            }
            guard rename(temporary, path) == 0 else {
                let reason = String(cString: strerror(errno))
                unlink(temporary)
                throw NSError(domain: "mediasync", code: 1, userInfo: [NSLocalizedDescriptionKey: reason])
            }
            metricsFileFailing = false
        } catch {
            guard !metricsFileFailing else { return }
            metricsFileFailing = true
            publish(.log(level: "warning", message: "cannot write metrics_file \(path): \(error.localizedDescription); "
                         + "check that its folder exists and is writable (under the unit: ReadWritePaths=)", cycle: nil, job: nil))
        }
    }
}
