import Foundation
import MediaSyncCore
import UV

/// `mediasync backfill`: tells the ingest about files already in the library (synced before `ingest` was
/// configured, or dropped at the outbox limit): a `file_synced` (cycle 0) for every manifest row of the
/// selected sources whose library copy is there, stored in the outbox and delivered like any other.
/// Redelivering a file the ingest already has is harmless (ingests upsert by library path).
public enum IngestBackfill {
    public struct Result: Sendable, Equatable {
        /// Events stored in the outbox.
        public var stored = 0
        /// Events not stored: the outbox was full.
        public var dropped = 0
        /// Manifest rows whose library copy is gone (deleted by the user): not sent.
        public var missing = 0
        /// Events still waiting for their ack when the command ended (the next run or `serve` sends them).
        public var waiting = 0
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func run(config: Config, sources: [String]?, timings: IngestDoor.Timings = .init(),
                           emit: @escaping (Event) -> Void) throws -> Result {
        guard let settings = config.ingest else {
            throw Failure(description: "the config has no `ingest`: nothing to backfill; add "
                          + "`ingest: {command: [...]}` (docs/config.md) and run this again")
        }
        let manifest = try SyncRunner.openState(config)
        var seq: Int64 = 0
        let publish: (EventBody) -> Void = { body in
            seq += 1
            emit(Event(seq: seq, timeMs: Int64((Date().timeIntervalSince1970 * 1000).rounded()), body: body))
        }
        var result = Result()
        let library = Array(config.library.utf8)
        let nowMs = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        var pending: [OutboxEntry] = []
        func store() throws {
            guard !pending.isEmpty else { return }
            let appended = try manifest.appendOutbox(pending, limit: settings.outboxLimit)
            result.stored += appended.stored
            result.dropped += appended.dropped
            pending.removeAll(keepingCapacity: true)
        }
        do {
            for job in config.jobs where sources?.contains(job.source.name) ?? true {
                for row in try manifest.rows(source: job.source.name, folder: job.folder) {
                    let absolute = LibraryPaths.join(library, row.libraryPath)
                    guard LibraryPaths.fact(absolute) != nil else {
                        result.missing += 1
                        continue
                    }
                    let body = EventBody.fileSynced(cycle: 0, FileSynced(
                        job: EventJob(source: job.source.name, folder: job.folder), path: row.remotePath,
                        libraryPath: absolute, size: row.size, mtime: row.mtime))
                    if let entry = OutboxEntry.make(body, timeMs: nowMs) { pending.append(entry) }
                    // A transaction per thousand rows: a library of 100,000 files is not one huge commit.
                    if pending.count >= 1_000 { try store() }
                }
            }
            try store()
        } catch {
            throw Failure(description: "\(error)")
        }
        publish(.log(level: "info", message: "backfill: \(result.stored) file\(result.stored == 1 ? "" : "s") stored for the ingest"
                     + (result.missing > 0 ? ", \(result.missing) skipped (their library copy is gone)" : ""), cycle: nil, job: nil))
        if result.dropped > 0 {
            publish(.log(level: "error", message: "backfill: the ingest outbox is full (\(settings.outboxLimit) events): "
                         + "\(result.dropped) files were not stored; raise `ingest.outbox_limit` or let the ingest catch up, "
                         + "then run backfill again", cycle: nil, job: nil))
        }

        Loop.prepareProcess()
        let loop = try Loop()
        let door = IngestDoor(loop: loop, store: manifest, settings: settings, timings: timings) { level, message in
            publish(.log(level: level, message: message, cycle: nil, job: nil))
        }
        var signals: [UV.Signal] = []
        for signum in [SIGINT, SIGTERM] {
            if let watcher = try? UV.Signal(loop: loop) {
                try? watcher.start(signum) { _ in door.shutdown() }
                signals.append(watcher)
            }
        }
        door.start()
        door.finish {
            for watcher in signals { watcher.close() }
            signals.removeAll()
        }
        _ = loop.run()
        loop.closeAll()
        _ = loop.run()
        try? loop.close()
        result.waiting = (try? manifest.outboxCount()) ?? 0
        return result
    }
}
