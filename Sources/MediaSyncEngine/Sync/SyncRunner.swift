import Foundation
import MediaSyncCore
import UV

/// Runs one cycle to its end on a loop of its own: what `mediasync sync` and `mediasync demo` do.
/// SIGINT and SIGTERM cancel the cycle (children get SIGTERM, then SIGKILL) and it still ends cleanly.
public enum SyncRunner {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Prepares the folders, opens the manifest, runs the cycle; `emit` receives every event in order.
    public static func runOnce(config: Config, options: SyncOptions,
                               emit: @escaping (Event) -> Void) throws -> CycleResult {
        let manifest = try openState(config)
        Loop.prepareProcess()
        let loop = try Loop()
        var seq: Int64 = 0
        let cycleID = (try? manifest.startCycle(at: Int64(Date().timeIntervalSince1970))) ?? 0
        let cycle = SyncCycle(loop: loop, config: config, manifest: manifest, cycleID: cycleID, options: options) { body in
            seq += 1
            emit(Event(seq: seq, timeMs: Int64((Date().timeIntervalSince1970 * 1000).rounded()), body: body))
        }
        // The ingest hears of every file; the run waits for its acks at the end while they keep coming.
        let ingest = IngestDoor.start(loop: loop, store: manifest, config: config, timings: options.ingestTimings,
                                      environment: options.childEnvironment) { level, message in
            cycle.log(level, message)
        }
        cycle.ingest = ingest
        if let note = config.purge.ageBy.note, !options.noPurge, config.purge.schedule.purgesAfterSync,
           config.sources.contains(where: \.purge) {
            cycle.log("warning", note)
        }
        var result: CycleResult?
        var signals: [UV.Signal] = []
        for signum in [SIGINT, SIGTERM] {
            if let watcher = try? UV.Signal(loop: loop) {
                try? watcher.start(signum) { _ in cycle.cancel(); ingest?.shutdown() }
                signals.append(watcher)
            }
        }
        func closeSignals() {
            for watcher in signals { watcher.close() }
            signals.removeAll()
        }
        cycle.start { finished in
            result = finished
            if let ingest { ingest.finish { closeSignals() } } else { closeSignals() }
        }
        _ = loop.run()
        loop.closeAll()
        _ = loop.run()
        try? loop.close()
        guard let result else { throw Failure(description: "the cycle did not finish (internal error)") }
        try? manifest.finishCycle(cycleID, at: Int64(Date().timeIntervalSince1970), jobsDone: result.jobsDone,
                                  jobsFailed: result.jobsFailed, files: result.files, bytes: result.bytes)
        if options.exitsAfter {
            // Closed now, as its last reference would have closed it: SQLite checkpoints the WAL into the database.
            manifest.close()
            _ = Unmanaged.passRetained(cycle)
        }
        return result
    }

    /// What every command starts with: the folders checked and made (below) and the manifest opened.
    static func openState(_ config: Config) throws -> ManifestStore {
        try prepareFolders(config)
        do {
            return try ManifestStore(stateDirectory: config.stateDirectory)
        } catch {
            throw Failure(description: "\(error)")
        }
    }

    /// The library must exist (an unmounted disk must not be filled through its empty mount point);
    /// the state directory is ours and is made when missing.
    public static func prepareFolders(_ config: Config) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: config.library, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw Failure(description: "library \(config.library) does not exist or is not a folder; create it (mkdir -p \(config.library)) or mount its disk, or fix `library:` in the config")
        }
        do {
            try FileManager.default.createDirectory(atPath: config.stateDirectory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw Failure(description: "cannot create the state directory \(config.stateDirectory): \(error.localizedDescription); fix `state_dir:` or its permissions")
        }
    }
}
