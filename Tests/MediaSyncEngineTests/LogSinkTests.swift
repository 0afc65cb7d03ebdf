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
        let store = try LogStore(stateDirectory: dir.path)
        let sink = LogSink(store: store, batchSize: 10, interval: 0.05)
        // Another process holds the write lock for 2 s (a second mediasync, a backup tool): real SQLite locking.
        let ready = dir.path + "/locked"
        let script = """
            import sqlite3, time, sys
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute('BEGIN EXCLUSIVE')
            open(sys.argv[2], 'w').close()
            time.sleep(2)
            c.execute('COMMIT')
            """
        let pid = try Tool.spawn(["python3", "-c", script, store.path, ready])
        while !FileManager.default.fileExists(atPath: ready) { usleep(10_000) }
        let started = ContinuousClock.now
        for i in 0..<2000 { sink.append(logEntry(i)) }
        let spent = ContinuousClock.now - started
        #expect(spent < .milliseconds(500), "2000 appends took \(spent) while the database was locked")
        Tool.wait(pid)
        sink.close()
        #expect(try store.count() == 2000, "every entry was written once the lock was gone")
        #expect(sink.failures.count == 0)
    }

    @Test func aFullBufferDropsNewEntriesInsteadOfGrowing() throws {
        let dir = try LogTestDir()
        defer { dir.remove() }
        let store = try LogStore(stateDirectory: dir.path)
        let ready = dir.path + "/locked"
        let script = """
            import sqlite3, time, sys
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute('BEGIN EXCLUSIVE')
            open(sys.argv[2], 'w').close()
            time.sleep(1.5)
            c.execute('COMMIT')
            """
        let pid = try Tool.spawn(["python3", "-c", script, store.path, ready])
        while !FileManager.default.fileExists(atPath: ready) { usleep(10_000) }
        let sink = LogSink(store: store, batchSize: 10, interval: 0.01, maxBuffered: 100)
        // The first batch is taken and waits on the lock; the buffer then fills to 100 and the rest is dropped.
        sink.append(logEntry(0))
        usleep(100_000)
        for i in 1..<1000 { sink.append(logEntry(i)) }
        #expect(sink.dropped >= 800)
        Tool.wait(pid)
        sink.close()
        #expect(try store.count() + sink.dropped == 1000)
    }
}
