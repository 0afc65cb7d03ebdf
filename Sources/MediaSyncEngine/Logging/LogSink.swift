import Foundation

/// Hands log entries to a `LogStore` from a thread of its own, in batches, so the loop never waits on SQLite.
///
/// `append` only takes a lock and appends to a buffer (and wakes the writer for the first entry of a batch, so
/// its interval starts). The writer thread inserts the buffer in one
/// transaction when it holds `batchSize` entries or `interval` has passed since the last write, whichever
/// comes first. If the store stays stuck (disk full, a lock held elsewhere), the buffer stops at
/// `maxBuffered` and newer entries are counted in `dropped` instead of growing memory without end; the
/// entries still went to stderr, so journald has them.
///
/// ```swift
/// let sink = LogSink(store: try LogStore(stateDirectory: dir))
/// sink.append(entry)   // from any thread, cheap
/// sink.flush()         // blocks until everything appended so far is written
/// sink.close()         // at exit: flush, stop the thread
/// ```
public final class LogSink: @unchecked Sendable {
    // @unchecked: every mutable field below is read and written only while `condition` is locked.
    public let store: LogStore
    public let batchSize: Int
    public let interval: TimeInterval
    public let maxBuffered: Int

    private let condition = NSCondition()
    private var buffer: [LogEntry] = []
    /// When the oldest buffered entry arrived: no entry waits longer than `interval` to be written.
    private var oldestBuffered = Date()
    private var appended = 0
    private var handled = 0
    private var flushWaiters = 0
    private var closing = false
    private var finished = false
    private var droppedCount = 0
    private var errorCount = 0
    private var firstError: LogStoreError?
    private let onFirstError: (@Sendable (LogStoreError) -> Void)?

    /// - Parameter onFirstError: called once, on the writer thread, the first time a batch cannot be written.
    public init(store: LogStore, batchSize: Int = 100, interval: TimeInterval = 0.25, maxBuffered: Int = 10_000,
                onFirstError: (@Sendable (LogStoreError) -> Void)? = nil) {
        self.store = store
        self.batchSize = max(1, batchSize)
        self.interval = interval
        self.maxBuffered = max(self.batchSize, maxBuffered)
        self.onFirstError = onFirstError
        let thread = Thread { [self] in self.writerLoop() }
        thread.name = "mediasync-log-writer"
        thread.start()
    }

    /// Queues one entry; never touches the disk.
    public func append(_ entry: LogEntry) {
        condition.lock()
        defer { condition.unlock() }
        guard !closing else { droppedCount += 1; return }
        guard buffer.count < maxBuffered else { droppedCount += 1; return }
        // The first entry of a batch wakes the writer: idle, it waits with no deadline, and only now has one
        // (`oldestBuffered + interval`). Without this wake-up a daemon's lone lines waited for a full batch or
        // for exit, and `mediasync logs` showed nothing while `serve` ran.
        let first = buffer.isEmpty
        if first { oldestBuffered = Date() }
        buffer.append(entry)
        appended += 1
        if first || buffer.count >= batchSize { condition.broadcast() }
    }

    /// Blocks until every entry appended before this call has been written (or failed to be).
    public func flush() {
        condition.lock()
        defer { condition.unlock() }
        let target = appended
        flushWaiters += 1
        condition.broadcast()
        while handled < target && !finished { condition.wait() }
        flushWaiters -= 1
    }

    /// Writes what is buffered and stops the writer thread; later appends are dropped. Idempotent.
    public func close() {
        flush()
        condition.lock()
        closing = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    /// Entries not kept because the buffer was full or the sink closed.
    public var dropped: Int { condition.lock(); defer { condition.unlock() }; return droppedCount }

    /// Batches that could not be written, and the first such error.
    public var failures: (count: Int, first: LogStoreError?) {
        condition.lock(); defer { condition.unlock() }
        return (errorCount, firstError)
    }

    private func writerLoop() {
        condition.lock()
        while true {
            while !closing && flushWaiters == 0 && buffer.count < batchSize
                    && (buffer.isEmpty || Date() < oldestBuffered.addingTimeInterval(interval)) {
                if buffer.isEmpty {
                    condition.wait()
                } else {
                    _ = condition.wait(until: oldestBuffered.addingTimeInterval(interval))
                }
            }
            if buffer.isEmpty {
                if closing { break }
                // A flush with nothing to write: wake the waiter (handled already equals appended).
                condition.broadcast()
                condition.wait()
                continue
            }
            let batch = buffer
            buffer.removeAll(keepingCapacity: true)
            condition.unlock()
            var failure: LogStoreError?
            do { try store.insert(batch) } catch let error as LogStoreError { failure = error } catch {
                failure = LogStoreError(path: store.path, underlying: error)
            }
            condition.lock()
            handled += batch.count
            var report: LogStoreError?
            if let failure {
                errorCount += 1
                if firstError == nil { firstError = failure; report = failure }
            }
            condition.broadcast()
            if let report, let onFirstError {
                condition.unlock(); onFirstError(report); condition.lock()
            }
        }
        finished = true
        condition.broadcast()
        condition.unlock()
    }
}
