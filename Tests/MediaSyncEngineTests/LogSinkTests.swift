import Foundation
import Logging
import MediaSyncCore
import MediaSyncEngine
import Testing

@Suite struct LogSinkTests {
    @Test func writesWithinAQuarterSecondWithoutBeingFlushed() throws {
        let dir = try LogTestDir()
        defer { dir.remove() }
        let store = try LogStore(stateDirectory: dir.path)
        let sink = LogSink(store: store, batchSize: 100, interval: 0.25)
        defer { sink.close() }
        for i in 0..<7 { sink.append(logEntry(i)) }
        // A lone few entries are not held back until a batch fills: the interval writes them. (Without the
        // interval they would never be written; the generous deadline only allows for a loaded machine.)
        let deadline = Date().addingTimeInterval(10)
        while try store.count() < 7 && Date() < deadline { usleep(20_000) }
        #expect(try store.count() == 7)
    }

    /// What `serve` does: the writer has long been idle (its buffer empty) when a line is logged. Before the
    /// fix the idle writer slept until a batch of 100 filled or the process exited, so `mediasync logs` showed
    /// nothing while serve ran.
    @Test func anIdleWriterWritesALoneEntryWithoutBeingFlushed() throws {
        let dir = try LogTestDir()
        defer { dir.remove() }
        let store = try LogStore(stateDirectory: dir.path)
        let sink = LogSink(store: store, batchSize: 100, interval: 0.25)
        defer { sink.close() }
        // One entry, flushed: when flush returns, the writer has run and gone back to waiting on an empty buffer.
        sink.append(logEntry(0))
        sink.flush()
        #expect(try store.count() == 1)
        for round in 1...3 {
            sink.append(logEntry(round))
            // Written by the writer's own interval (a quarter second), not a flush, a full batch or close. The
            // deadline only allows for a loaded machine; an idle writer that is never woken misses any deadline.
            let deadline = Date().addingTimeInterval(10)
            while try store.count() < round + 1 && Date() < deadline { usleep(20_000) }
            #expect(try store.count() == round + 1, "entry \(round) was not written within 10 s by an idle writer")
            // Idle again before the next round.
            usleep(300_000)
        }
    }

    @Test func appendingNeverWaitsForALockedDatabase() throws {
        let dir = try LogTestDir()
        defer { dir.remove() }
        // The writer waits for the lock as long as the test holds it (the default 5 s would fail the batch).
        let store = try LogStore(path: dir.path + "/logs.sqlite", busyTimeout: 120)
        let sink = LogSink(store: store, batchSize: 10, interval: 0.05)
        // Another process holds the write lock (a second mediasync, a backup tool): real SQLite locking.
        let lock = try SQLiteWriteLock(database: store.path, folder: dir.path)
        defer { lock.release() }
        for i in 0..<2000 { sink.append(logEntry(i)) }
        // Every append returned while the lock was still held, so none of them waited for it.
        #expect(lock.isHeld, "the lock holder ended early: \(lock.output)")
        // Read through a connection of its own: the store's queue is busy with the writer's waiting batch.
        #expect(try LogStore(path: store.path, readOnly: true).count() == 0, "nothing can be written while the lock is held")
        #expect(lock.release(), "the lock holder did not end within 30 s: \(lock.output)")
        sink.close()
        #expect(try store.count() == 2000, "every entry was written once the lock was gone")
        #expect(sink.failures.count == 0)
    }

    @Test func aFullBufferDropsNewEntriesInsteadOfGrowing() throws {
        let dir = try LogTestDir()
        defer { dir.remove() }
        let store = try LogStore(path: dir.path + "/logs.sqlite", busyTimeout: 120)
        let lock = try SQLiteWriteLock(database: store.path, folder: dir.path)
        defer { lock.release() }
        let sink = LogSink(store: store, batchSize: 10, interval: 0.01, maxBuffered: 100)
        for i in 0..<1000 { sink.append(logEntry(i)) }
        #expect(lock.isHeld, "the lock holder ended early: \(lock.output)")
        // While the lock is held at most one batch is with the writer (waiting on the lock) and at most 100
        // entries wait in the buffer; everything else was dropped, whenever the writer took its batch.
        #expect(sink.dropped >= 800 && sink.dropped <= 900, "dropped \(sink.dropped)")
        #expect(lock.release(), "the lock holder did not end within 30 s: \(lock.output)")
        sink.close()
        let kept = try store.count()
        #expect(kept + sink.dropped == 1000, "kept \(kept), dropped \(sink.dropped)")
        #expect(kept >= 100 && kept <= 200)
    }
}

/// Another process (python3's sqlite3) that holds the write lock of a database until `release()`.
///
/// Every wait has a limit: the holder itself gives up after 120 s, `init` waits 30 s for it to take the lock.
final class SQLiteWriteLock {
    private var pid: pid_t
    private let releaseFile: String
    private let outputFile: String

    init(database: String, folder: String) throws {
        let ready = folder + "/lock-taken"
        releaseFile = folder + "/lock-release"
        outputFile = folder + "/lock-holder.out"
        let script = """
            import os, sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute('BEGIN EXCLUSIVE')
            open(sys.argv[2], 'w').close()
            limit = time.monotonic() + 120
            while not os.path.exists(sys.argv[3]) and time.monotonic() < limit:
                time.sleep(0.01)
            c.execute('COMMIT')
            """
        pid = try Tool.spawn(["python3", "-c", script, database, ready, releaseFile], stdoutTo: outputFile)
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: ready) {
            if !isHeld || Date() > deadline {
                release()
                throw Tool.Failure(description: "python3 did not take the lock of \(database) within 30 s: \(output)")
            }
            usleep(10_000)
        }
    }

    /// What the holder wrote (its error, if it failed).
    var output: String { (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? "" }

    /// True while the holder runs (and so holds the lock).
    var isHeld: Bool {
        guard pid > 0 else { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { pid = 0; return false }
        return true
    }

    /// Lets the lock go and waits up to 30 s for the holder to end; false if it had to be killed.
    @discardableResult
    func release() -> Bool {
        _ = FileManager.default.createFile(atPath: releaseFile, contents: nil)
        let deadline = Date().addingTimeInterval(30)
        while isHeld {
            if Date() > deadline {
                kill(pid, SIGKILL)
                Tool.reap(pid)
                pid = 0
                return false
            }
            usleep(10_000)
        }
        return true
    }
}
