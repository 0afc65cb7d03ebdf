import Dispatch
import Synchronization
import UV

/// Makes the library durable on another thread, so the loop never waits for the disk: while a `syncfs` runs
/// (tens of milliseconds on a laptop's disk, seconds on a USB drive), the loop keeps reading its rsync
/// children's output, answering attached clients and ticking. One flush at a time; files that land meanwhile
/// wait for the next one.
///
/// ```swift
/// let flusher = LibraryFlusher(loop: loop)
/// flusher.start(writer) { error in record(batch) }  // the batch's rows and events, once its syncfs returned
/// flusher.join()                                     // where order matters: the running flush is recorded now
/// flusher.close()                                    // at the cycle's end
/// ```
///
/// Why (docs/benchmarks.md, "The library made durable off the loop"): with the `syncfs` on the loop, rsync
/// children spent 0.8 s in all blocked on a full stdout pipe during one local sync of 20,000 small files.
final class LibraryFlusher {
    private let loop: Loop
    /// Tells the loop a flush ended (its number); made at the first flush, closed by `close`.
    private var mailbox: Mailbox<Int>?
    private var running: Running?
    private var count = 0
    /// Testing hook: what a flush does instead of `writer.flush()` (e.g. hold it as a slow disk would).
    var flushWork: (@Sendable (LibraryWriter) -> LibraryWriteError?)?

    private struct Running {
        let number: Int
        let ended: DispatchSemaphore
        let outcome: Outcome
        let then: (LibraryWriteError?) -> Void
    }

    private final class Outcome: Sendable {
        let error = Mutex<LibraryWriteError?>(nil)
    }

    init(loop: Loop) {
        self.loop = loop
    }

    /// A flush is running: `start` would refuse another.
    var isFlushing: Bool { running != nil }

    /// Starts `writer.flush()` on another thread; `then` runs on the loop once it returned (with its error, if
    /// any), or inside `join`. False, and nothing started, when a flush is already running or the loop would
    /// not take the thread's answer: the caller flushes where it is.
    @discardableResult
    func start(_ writer: LibraryWriter, then: @escaping (LibraryWriteError?) -> Void) -> Bool {
        guard running == nil, let mailbox = openMailbox() else { return false }
        count += 1
        let run = Running(number: count, ended: DispatchSemaphore(value: 0), outcome: Outcome(), then: then)
        running = run
        let poster = mailbox.poster, work = flushWork, ended = run.ended, outcome = run.outcome, number = run.number
        DispatchQueue.global(qos: .userInitiated).async {
            let error: LibraryWriteError?
            if let work {
                error = work(writer)
            } else {
                do throws(LibraryWriteError) { try writer.flush(); error = nil } catch let failure { error = failure }
            }
            outcome.error.withLock { $0 = error }
            ended.signal()
            poster.post(number)
        }
        return true
    }

    /// Waits for the running flush, if any, and runs its `then` now: whatever is recorded next comes after it.
    func join() {
        guard let run = running else { return }
        run.ended.wait()
        finish(run.number)
    }

    /// No more flushes; a running one is waited for and recorded first.
    func close() {
        join()
        mailbox?.close()
        mailbox = nil
    }

    private func openMailbox() -> Mailbox<Int>? {
        if let mailbox { return mailbox }
        mailbox = try? Mailbox<Int>(loop: loop) { [weak self] numbers in
            for number in numbers { self?.finish(number) }
        }
        return mailbox
    }

    /// The flush `number` ended: its `then` runs once, whether the mailbox or `join` gets there first.
    private func finish(_ number: Int) {
        guard let run = running, run.number == number else { return }
        running = nil
        run.then(run.outcome.error.withLock { $0 })
    }
}
