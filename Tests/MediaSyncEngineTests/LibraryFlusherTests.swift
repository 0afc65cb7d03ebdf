import Dispatch
import Foundation
@testable import MediaSyncEngine
import Synchronization
import Testing
import UV

/// The library made durable off the loop. What a user would notice if it broke: on a slow disk (a USB drive,
/// exFAT) every rsync child stalling and `mediasync attach` frozen while a `syncfs` runs; a file told twice or
/// never; `file_synced` events out of order around a job's end.
///
/// The disk is held with the flusher's testing hook (`flushWork`): no disk here can be made slow on demand.
/// The real `syncfs` runs in every sync test.
@Suite("library flusher")
struct LibraryFlusherTests {
    let writer = LibraryWriter(libraryRoot: "/nonexistent-library")

    @Test("while a flush waits for the disk the loop goes on, and the flush is told once it returns")
    func loopGoesOnWhileTheDiskIsSlow() throws {
        let loop = try Loop()
        let disk = DispatchSemaphore(value: 0)
        let flusher = LibraryFlusher(loop: loop)
        flusher.flushWork = { _ in
            // Released by the fifth tick; a flush made on the loop would wait here with no tick to release it,
            // so it gives up after 5 s and the test fails instead of hanging.
            _ = disk.wait(timeout: .now() + 5)
            return nil
        }
        var ticks = 0
        var told: [Int] = []   // the ticks seen when the flush was told
        var errors: [LibraryWriteError] = []
        let started = flusher.start(writer) { error in
            if let error { errors.append(error) }
            told.append(ticks)
        }
        #expect(started)
        let refusedWhileHeld = !flusher.start(writer) { _ in told.append(-1) }
        let timer = try UV.Timer(loop: loop)
        timer.start(after: 10, repeat: 10) {
            ticks += 1
            if ticks == 5 {
                #expect(flusher.isFlushing, "held by the disk")
                disk.signal()
            }
            if !told.isEmpty {
                timer.close()
                flusher.close()
            }
        }
        _ = loop.run()
        try loop.close()
        #expect(refusedWhileHeld, "one flush at a time")
        #expect(errors.isEmpty)
        #expect(told.count == 1)
        #expect((told.first ?? 0) >= 5, "the loop ticked while the flush was held: \(told)")
    }

    @Test("join waits for the running flush and tells it at once; its late wake-up tells nothing more")
    func joinTellsTheRunningFlushOnce() throws {
        let loop = try Loop()
        let flusher = LibraryFlusher(loop: loop)
        let calls = Mutex(0)
        flusher.flushWork = { _ in
            let call = calls.withLock { $0 += 1; return $0 }
            usleep(50_000)
            return call == 2 ? LibraryWriteError.from(errno: EIO, operation: "syncfs", path: "/library") : nil
        }
        var told: [String] = []
        flusher.start(writer) { error in told.append("first \(error.map { "\($0)" } ?? "ok")") }
        flusher.join()
        #expect(told == ["first ok"], "told before join returns")
        #expect(!flusher.isFlushing)
        // The first flush's wake-up reaches the loop only now, while the second runs: it must not tell either.
        flusher.start(writer) { error in
            told.append("second \(error == nil ? "ok" : "failed")")
            flusher.close()
        }
        _ = loop.run()
        try loop.close()
        #expect(told == ["first ok", "second failed"])
    }
}
