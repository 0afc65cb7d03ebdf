import Dispatch
import MediaSyncCore
import Synchronization
import UV

/// What the outbox worker reports back to the loop.
enum OutboxMessage: Sendable {
    /// More events have their metadata now.
    case metadataRead
    /// The answer to `load`: events after the asked id, cut before the first one still awaiting metadata
    /// when the child wants metadata.
    case loaded(generation: Int, items: [OutboxItem])
    /// A delete of acknowledged events ended (the door counts the table again).
    case deleted
    case failed(String)
}

/// The outbox's disk work, off the loop: reading each synced file's metadata once (a SHA-256 of a large
/// video takes seconds), loading the next events to send, deleting acknowledged ones. Two serial queues,
/// so a long metadata read never holds up an ack.
final class OutboxWorker: Sendable {
    private let store: ManifestStore
    private let poster: MailboxPoster<OutboxMessage>
    static let maxLoadBytes = 8 << 20
    private let metadataQueue = DispatchQueue(label: "mediasync.ingest.metadata")
    private let storeQueue = DispatchQueue(label: "mediasync.ingest.outbox")
    /// (a metadata pass runs, another was asked for meanwhile)
    private let metadataState = Mutex<(running: Bool, again: Bool)>((false, false))

    init(store: ManifestStore, poster: MailboxPoster<OutboxMessage>) {
        self.store = store
        self.poster = poster
    }

    /// Reads the metadata of every event still waiting for it, oldest first; coalesces calls.
    func readMetadata() {
        let start = metadataState.withLock { state -> Bool in
            if state.running { state.again = true; return false }
            state.running = true
            return true
        }
        guard start else { return }
        metadataQueue.async { [self] in
            repeat {
                metadataState.withLock { $0.again = false }
                metadataPass()
            } while metadataState.withLock { state -> Bool in
                if state.again { return true }
                state.running = false
                return false
            }
        }
    }

    private func metadataPass() {
        while true {
            let batch: [(id: Int64, path: [UInt8])]
            do {
                batch = try store.outboxAwaitingMetadata(limit: 64)
            } catch {
                poster.post(.failed("cannot read the ingest outbox: \(error)"))
                return
            }
            if batch.isEmpty { return }
            // One transaction per batch: a commit per small file cost more than reading the file. A batch
            // holds at most 64 files, or what was read in about 100 ms, so big videos do not hold up the rest.
            var read: [(id: Int64, json: [UInt8])] = []
            let started = DispatchTime.now().uptimeNanoseconds
            for (id, path) in batch {
                read.append((id, MediaMetadata.read(path: path).json()))
                if DispatchTime.now().uptimeNanoseconds - started > 100_000_000 { break }
            }
            do {
                try store.setOutboxMetadata(read)
            } catch {
                poster.post(.failed("cannot store metadata in the ingest outbox: \(error)"))
                return
            }
            poster.post(.metadataRead)
        }
    }

    func load(after id: Int64, limit: Int, wantMetadata: Bool, generation: Int) {
        storeQueue.async { [store, poster] in
            do {
                var items = try store.outboxItems(after: id, limit: limit)
                if wantMetadata, let blocked = items.firstIndex(where: \.awaitingMetadata) {
                    items.removeSubrange(blocked...)
                }
                // ComfyUI workflows can make a line megabytes long: a load holds at most about 8 MiB of
                // lines (at least one event), so a full window of them is never in memory at once.
                var bytes = 0
                if let cut = items.firstIndex(where: { item in
                    bytes += item.body.count + (wantMetadata ? item.metadata?.count ?? 0 : 0)
                    return bytes > Self.maxLoadBytes
                }) {
                    items.removeSubrange(max(cut, 1)...)
                }
                poster.post(.loaded(generation: generation, items: items))
            } catch {
                poster.post(.failed("cannot read the ingest outbox: \(error)"))
                poster.post(.loaded(generation: generation, items: []))
            }
        }
    }

    func delete(_ ids: [Int64]) {
        storeQueue.async { [store, poster] in
            do {
                try store.deleteOutbox(ids)
                poster.post(.deleted)
            } catch {
                poster.post(.failed("cannot remove acknowledged events from the ingest outbox: \(error)"))
                poster.post(.deleted)
            }
        }
    }

    /// Waits for the queued work to end (before the store closes).
    func waitIdle() {
        storeQueue.sync {}
    }
}
