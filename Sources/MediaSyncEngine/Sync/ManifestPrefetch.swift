import Dispatch
import Foundation
import MediaSyncCore

/// A job's manifest rows, read on another thread while its listing runs: for a folder of 200,000 files the
/// read takes as long as a good part of the listing, and the two overlap on two cores instead of queueing
/// on the loop. The loop asks for the result once the listing is in; it is almost always there by then.
///
/// ```swift
/// prefetch = ManifestPrefetch(store: manifest, source: "gpu", folder: "output", prefix: prefix)
/// // ... the listing child runs ...
/// let (rows, reserved) = try prefetch.read()
/// ```
final class ManifestPrefetch: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<(ManifestIndex, Set<[UInt8]>), Error>?

    init(store: ManifestStore, source: String, folder: String, prefix: [UInt8]) {
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            result = Result {
                // Every name another job recorded under this job's folder, in one query (the planner has this job's
                // own rows, and only hands out names under `prefix`, so names elsewhere cannot collide).
                (try store.index(source: source, folder: folder, prefix: prefix),
                 try store.libraryPaths(under: prefix, exceptJob: (source, folder)))
            }
            done.signal()
        }
    }

    /// The rows, and the library names other jobs recorded under the job's folder (`ManifestStore.libraryPaths`);
    /// waits for the read when it is not done yet (the semaphore orders the result's write).
    func read() throws -> (index: ManifestIndex, reserved: Set<[UInt8]>) {
        done.wait()
        done.signal()
        return try result!.get()
    }
}
