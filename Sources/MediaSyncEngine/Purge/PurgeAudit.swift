import Foundation
import MediaSyncCore

/// What one folder's purge records and tells: each deletion's audit row (and the ingest's event, in the same
/// transaction) committed before its `file_purged` goes out, each kept file's `file_kept`, its log lines,
/// and the counts for its result.
final class PurgeAudit {
    private let manifest: ManifestStore
    private let config: Config
    private let job: SyncJob
    private let eventJob: EventJob
    private let cycleID: Int64
    private let ingest: IngestDoor?
    private let emit: (EventBody) -> Void
    private(set) var deleted = 0
    private(set) var kept = 0
    private(set) var bytesFreed: Int64 = 0

    init(manifest: ManifestStore, config: Config, job: SyncJob, cycleID: Int64, ingest: IngestDoor?,
         emit: @escaping (EventBody) -> Void) {
        self.manifest = manifest
        self.config = config
        self.job = job
        eventJob = EventJob(source: job.source.name, folder: job.folder)
        self.cycleID = cycleID
        self.ingest = ingest
        self.emit = emit
    }

    func log(_ level: String, _ message: String) {
        emit(.log(level: level, message: "\(job.id): purge: \(message)", cycle: cycleID, job: job.id))
    }

    /// A dry run: each deletion told (`dry_run: true`) and counted, nothing recorded.
    func dryRun(_ deletions: [PurgePlan.Deletion]) {
        for deletion in deletions {
            deleted += 1
            bytesFreed += deletion.size
            emit(.filePurged(cycle: cycleID, job: eventJob, path: deletion.path, size: deletion.size,
                             ageS: deletion.ageSeconds, dryRun: true))
        }
    }

    /// The audit rows (and the ingest's events, in the same transaction) are committed before the events go
    /// out: what is gone is on record first. False when the audit could not be written. `counted`: deletions
    /// of this run (not those an interrupted run made).
    @discardableResult
    func record(_ deletions: [PurgePlan.Deletion], counted: Bool) -> Bool {
        guard !deletions.isEmpty else { return true }
        var recorded = true
        let nowMs = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        let entries = deletions.map { deletion in
            PurgeAuditEntry(time: nowMs / 1000, source: job.source.name, folder: job.folder, path: deletion.path,
                            size: deletion.size, mtime: deletion.mtime, libraryPath: deletion.libraryPath,
                            cycle: cycleID)
        }
        let bodies = deletions.map { deletion in
            EventBody.filePurged(cycle: cycleID, job: eventJob, path: deletion.path, size: deletion.size,
                                 ageS: deletion.ageSeconds, dryRun: false)
        }
        var outbox: [OutboxEntry] = []
        if ingest != nil {
            let library = Array(config.library.utf8)
            for (deletion, body) in zip(deletions, bodies) {
                if let entry = OutboxEntry.make(body, timeMs: nowMs, libraryPath: LibraryPaths.join(library, deletion.libraryPath)) {
                    outbox.append(entry)
                }
            }
        }
        do {
            // Recorded first, told second (`ingest?.appended(try ...)` would skip the write without an ingest).
            let appended = try manifest.recordPurges(entries, outbox: outbox, outboxLimit: config.ingest?.outboxLimit ?? 0)
            ingest?.appended(appended)
        } catch {
            recorded = false
            for deletion in deletions {
                log("error", "deleted \(String(decoding: deletion.path, as: UTF8.self)) but could not write the audit: \(error)")
            }
        }
        for (deletion, body) in zip(deletions, bodies) {
            if counted {
                deleted += 1
                bytesFreed += deletion.size
            }
            emit(body)
        }
        return recorded
    }

    /// A file stays on the source: told, counted, and warned about when a person should look.
    func report(_ path: [UInt8], _ reason: PurgeKeepReason, _ detail: String) {
        kept += 1
        emit(.fileKept(cycle: cycleID, job: eventJob, path: path, reason: reason.rawValue))
        if reason.isWarning {
            log("warning", "\(String(decoding: path, as: UTF8.self)) stays on the source: \(detail); "
                + "check the library (a later sync does not bring it again while the manifest has it; use sync --refetch)")
        }
    }
}
