import MediaSyncCore
import Testing

/// Cancel (SIGINT to `sync`, `stop` to the supervisor) in every state a job can be in: whatever runs is
/// stopped, the job ends failed with "cancelled" and is never retried, a purge under way ends as it can.
@Suite("job machine: cancel")
struct JobMachineCancelTests {
    @Test("queued: it ends at once, never started")
    func queued() {
        var job = ManualJob()
        let end = job.perform(job.machine.cancel(at: job.now))
        #expect(end.summary == ["state failed", "error: gpu/outputs: cancelled", "publish", "flush",
                                "job_finished failed files 0 attempts 0 exit -", "slot finished"])
    }

    @Test("listing: the listing is stopped; its exit ends the job, and the source's other jobs may go on")
    func listing() {
        var job = ManualJob()
        _ = job.start()
        _ = job.machine.spawned(.listing, pid: 100, at: job.now)
        #expect(job.perform(job.machine.cancel(at: job.now)).summary == ["stop listing"])
        #expect(job.machine.state == .listing, "ends when the listing has exited")
        let end = job.exit(.listing, killedByUs)
        #expect(end.summary == ["slot listed", "state failed", "error: gpu/outputs: cancelled", "publish", "flush",
                                "job_finished failed files 0 attempts 1 exit -", "slot finished"])
    }

    @Test("transferring: rsync is stopped; what it finished still goes home, the rest is not retried")
    func transferring() {
        var job = ManualJob(machineSettings(purge: true))
        job.startTransfer(["a.png", "b.png"])
        _ = job.send(["a.png"])
        job.staged.insert("b.png")
        #expect(job.perform(job.machine.cancel(at: job.now)).summary == ["stop stream 0"])
        let end = job.exit(.stream(0), killedByUs)
        #expect(end.summary == ["sweep b.png", "home gpu/outputs/b.png", "state failed", "error: gpu/outputs: cancelled",
                                "publish", "flush", "job_finished failed files 2 attempts 1 exit -", "slot finished"])
    }

    @Test("transferring with every file home: no purge after a cancelled sync")
    func transferringAllHome() {
        var job = ManualJob(machineSettings(purge: true))
        job.startTransfer(["a.png"])
        _ = job.send(["a.png"])
        _ = job.perform(job.machine.cancel(at: job.now))
        let end = job.exit(.stream(0), exitedOK)
        #expect(end.jobFinished?.state == .failed)
        #expect(end.jobFinished?.error == "gpu/outputs: cancelled")
        #expect(!end.summary.contains("start purge"))
    }

    @Test("waiting to retry: the retry is disarmed and the job ends with the last exit code")
    func waitingToRetry() {
        var job = ManualJob()
        job.startTransfer(["a.png"])
        _ = job.exit(.stream(0), exitCode(12))
        let end = job.perform(job.machine.cancel(at: job.now))
        #expect(end.summary == ["disarm retry", "state failed", "error: gpu/outputs: cancelled", "publish", "flush",
                                "job_finished failed files 0 attempts 1 exit 12", "slot finished"])
        #expect(job.perform(job.machine.retryDue(at: job.now)).summary == ["illegal: retry due while failed"])
    }

    @Test("purging: the purge is stopped; the job is done, its sync was whole")
    func purging() {
        var job = ManualJob(machineSettings(purge: true))
        job.startTransfer(["a.png"])
        _ = job.send(["a.png"])
        _ = job.exit()
        #expect(job.perform(job.machine.cancel(at: job.now)).summary == ["stop purge"])
        let end = job.perform(job.machine.purgeFinished(at: job.now))
        #expect(end.jobFinished?.state == .done)
        #expect(end.jobFinished?.exitCode == 0)
    }

    @Test("done or failed: nothing happens")
    func finished() {
        var done = ManualJob()
        done.startTransfer(["a.png"])
        _ = done.send(["a.png"])
        _ = done.exit()
        #expect(done.perform(done.machine.cancel(at: done.now)).isEmpty)
        #expect(done.machine.state == .done)

        var failed = ManualJob()
        _ = failed.perform(failed.machine.refuseToStart("the library is not mounted", at: failed.now))
        #expect(failed.machine.errorLine == "gpu/outputs: the library is not mounted")
        #expect(failed.perform(failed.machine.cancel(at: failed.now)).isEmpty)
        #expect(failed.machine.errorLine == "gpu/outputs: the library is not mounted")
    }

    @Test("a cancel after a stall wins: the stopped stream is not retried")
    func cancelAfterStall() {
        var job = ManualJob(machineSettings(stall: .seconds(60)))
        job.startTransfer(["a.png"])
        #expect(job.tick(at: 160).summary.last == "stop stream 0")
        #expect(job.perform(job.machine.cancel(at: 161)).summary == ["stop stream 0"])
        let end = job.exit(.stream(0), killedByUs)
        #expect(end.jobFinished?.error == "gpu/outputs: cancelled")
    }
}
