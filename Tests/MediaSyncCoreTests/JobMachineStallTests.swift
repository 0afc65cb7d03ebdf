import MediaSyncCore
import Testing

/// The stall watchdog on manual time: rsync's own `--timeout` does not catch a frozen remote, so a child
/// silent for `stall_timeout` is stopped and the job retried. The end-to-end check with a really frozen sshd
/// is SyncRemoteFailureTests' `stalledTransfer`; this is the exact one.
@Suite("job machine: stall watchdog")
struct JobMachineStallTests {
    @Test("a stream silent for exactly stall_timeout is stopped then, not one tick before, and retried")
    func stallAtExactlyTheTimeout() {
        var job = ManualJob(machineSettings(stall: .seconds(300)))
        job.startTransfer(["a.png", "b.png"])
        job.now = 130.5
        _ = job.send(["a.png"])  // the last sign of life: 130.5
        #expect(job.tick(at: 430.4).isEmpty, "one 100 ms tick before stall_timeout of silence")
        let stalled = job.tick(at: 430.5)
        #expect(stalled.summary == ["warning: gpu/outputs: no progress for 300s, stopping rsync (pid 101) to retry", "stop stream 0"])
        #expect(job.tick(at: 430.6).isEmpty, "stopped once; its exit comes next")
        #expect(job.tick(at: 900).isEmpty)

        // SIGTERM ended it: retried for the file not home yet, after the backoff.
        let retried = job.exit(.stream(0), killedByUs)
        #expect(retried.summary == [
            "sweep b.png",
            "warning: gpu/outputs: no progress for 5m; rsync was stopped; retrying in 10s (attempt 2 of 3)",
            "state waiting_retry", "publish", "slot released", "arm retry at 910.0",
        ])
        #expect(job.machine.state == .waitingToRetry)
    }

    @Test("a listing made in the process is watched like a child: its signs of life keep it going, silence past stall_timeout stops it, and its end then counts as stopped even when the walk finished")
    func listingMadeHere() {
        var job = ManualJob(machineSettings(stall: .seconds(10)))
        _ = job.start()
        _ = job.machine.spawned(.listing, pid: 100, at: job.now)
        job.machine.listingAlive(at: 9)
        #expect(job.tick(at: 18.9).isEmpty, "alive at 9: not stalled before 19")
        #expect(job.tick(at: 19).summary.last == "stop listing")
        let listed = RemoteListing(now: 1_800_000_000, files: [], format: .find)
        // The walk cannot be cut short: it ends by itself, and still counts as stopped.
        let ended = job.perform(job.machine.listedHere(listed, complaints: [], exit: exitedOK, at: 25))
        #expect(ended.summary.contains { $0.contains("no progress for 10s") }, "\(ended.summary)")
        #expect(!ended.summary.contains("plan 0 listed"), "a stopped listing is not planned")
    }

    @Test("the watchdog counts from the child's start, and awkward float times still fire at the deadline")
    func deadlineFromStart() {
        var job = ManualJob(machineSettings(stall: .seconds(3)))
        job.now = 0.3
        job.startTransfer(["a.png"])  // the stream starts at 0.3 and prints nothing
        #expect(job.tick(at: 3.2).isEmpty)
        // 3.3 - 0.3 is 2.9999999999999996 in doubles: still exactly the timeout.
        #expect(job.tick(at: 3.3).summary.last == "stop stream 0")
    }

    @Test("rsync's complaints are not progress: a child that only complains stalls all the same")
    func messagesAreNotProgress() {
        var job = ManualJob(machineSettings(stall: .seconds(60)))
        job.startTransfer(["a.png"])
        job.now = 150
        _ = job.record(rsyncError("ssh: connect to host box port 22: Connection timed out", origin: .ssh))
        #expect(job.tick(at: 160).summary.last == "stop stream 0", "60 s after the stream started at 100")
    }

    @Test("a frozen listing is stopped too, and the listing is tried again")
    func stalledListing() {
        var job = ManualJob(machineSettings(stall: .seconds(60)))
        _ = job.start()
        _ = job.machine.spawned(.listing, pid: 100, at: job.now)
        job.machine.listingOutput(Array("mediasync-listing-begin\n".utf8), at: 120)
        #expect(job.tick(at: 179.9).isEmpty)
        #expect(job.tick(at: 180).summary == ["warning: gpu/outputs: no progress for 60s, stopping rsync (pid 100) to retry", "stop listing"])
        let retried = job.exit(.listing, killedByUs)
        #expect(retried.summary.first == "slot listed")
        #expect(retried.logs == ["warning: gpu/outputs: no progress for 1m; listing was stopped; retrying in 10s (attempt 2 of 3)"])
        #expect(!job.machine.hasListed)
        _ = job.perform(job.machine.retryDue(at: 190))
        job.now = 190
        #expect(job.start().summary == ["state listing", "publish", "spawn listing"], "listed again: no plan yet")
    }

    @Test("no stall once the job is cancelled, nor while it waits or purges")
    func noStallWhenNothingRuns() {
        var cancelled = ManualJob(machineSettings(stall: .seconds(60)))
        cancelled.startTransfer(["a.png"])
        _ = cancelled.perform(cancelled.machine.cancel(at: 110))
        #expect(cancelled.tick(at: 1000).isEmpty)

        var waiting = ManualJob(machineSettings(stall: .seconds(60)))
        waiting.startTransfer(["a.png"])
        _ = waiting.exit(.stream(0), exitCode(12))
        #expect(waiting.machine.state == .waitingToRetry)
        #expect(waiting.tick(at: 1000).isEmpty)
    }
}
