import MediaSyncCore
import Testing

/// Which exits end a job and which are tried again, how long it waits, and what a retry fetches: a wrong
/// call either hammers a source that cannot work or gives up on one that would.
@Suite("job machine: retries")
struct JobMachineRetryTests {
    @Test("the backoff doubles from retry.backoff up to max_backoff, and the last try's failure ends the job")
    func backoffSequence() {
        var job = ManualJob(machineSettings(attempts: 5, backoff: .seconds(10), maxBackoff: .seconds(25)))
        job.startTransfer(["a.png"])
        var armed: [Double] = []
        var waits: [String] = []
        for attempt in 1...5 {
            #expect(job.machine.attempts == attempt)
            let failed = job.exit(.stream(0), exitCode(12))
            for action in failed { if case let .arm(.retry, at) = action { armed.append(at - job.now) } }
            waits += failed.logs
            guard attempt < 5 else {
                #expect(failed.jobFinished?.state == .failed)
                #expect(failed.jobFinished?.attempts == 5)
                #expect(failed.jobFinished?.exitCode == 12)
                break
            }
            #expect(job.machine.state == .waitingToRetry)
            job.now += armed.last ?? 0
            #expect(job.perform(job.machine.retryDue(at: job.now)).summary == ["slot wanted"])
            // Listed once: the retry goes straight to rsync.
            #expect(job.start().summary == ["state transferring", "publish", "spawn stream 0: a.png"])
            _ = job.machine.spawned(.stream(0), pid: 200 + Int32(attempt), at: job.now)
        }
        #expect(armed == [10, 20, 25, 25])
        #expect(waits.count == 5)
        #expect(waits[0].hasSuffix("; retrying in 10s (attempt 2 of 5)"), "\(waits[0])")
        #expect(waits[3].hasSuffix("; retrying in 25s (attempt 5 of 5)"), "\(waits[3])")
        #expect(waits[4].hasPrefix("error: gpu/outputs: "), "\(waits[4])")
    }

    @Test("a retry sends only the files not home yet; the files home stay counted")
    func retryFetchesTheRest() {
        var job = ManualJob()
        job.startTransfer(["a.png", "b.png", "c.png"])
        _ = job.send(["a.png"])
        // rsync was killed mid-way (not by mediasync): b.png is complete in staging, c.png is not.
        job.staged.insert("b.png")
        let failed = job.exit(.stream(0), ChildExit(code: 0, signal: 9, description: "killed by signal 9 (Killed)"))
        #expect(failed.summary.prefix(4) == ["sweep b.png", "home gpu/outputs/b.png", "sweep c.png",
                                             "warning: gpu/outputs: rsync was killed by signal 9 (Killed); retrying in 10s (attempt 2 of 3)"])
        _ = job.perform(job.machine.retryDue(at: job.now))
        #expect(job.start().summary.last == "spawn stream 0: c.png")
        _ = job.machine.spawned(.stream(0), pid: 300, at: job.now)
        _ = job.send(["c.png"])
        let end = job.exit()
        #expect(end.jobFinished?.files == 3)
        #expect(end.jobFinished?.attempts == 2)
        #expect(end.jobFinished?.exitCode == 0)
    }

    @Test("fatal exits end the job at once with their reason; those that may pass are retried", arguments: [
        (exitCode(12), [RsyncRecord](), true, "the rsync data stream broke"),
        (exitCode(255), [rsyncError("ssh: connect to host box port 22: Connection refused", origin: .ssh)], true, "Connection refused"),
        (exitCode(23), [rsyncError("rsync: read errors mapping \"/workspace/outputs/a.png\": Input/output error (5)")], true, "Input/output error"),
        (exitCode(1), [rsyncError("rsync: --files-from: unknown option")], false, "unknown option"),
        (exitCode(11), [rsyncError("rsync: write failed on \"a.png\": No space left on device (28)")], false, "the library disk is full"),
        (exitCode(127), [rsyncError("bash: line 1: rsync: command not found", origin: .remote)], false, "rsync is not installed on the source"),
        (exitCode(255), [rsyncError("Host key verification failed.", origin: .ssh)], false, "Host key verification failed"),
    ])
    func fatalOrRetryable(exit: ChildExit, said: [RsyncRecord], retried: Bool, reason: String) {
        var job = ManualJob()
        job.startTransfer(["a.png"])
        for record in said { _ = job.record(record) }
        let ended = job.exit(.stream(0), exit)
        let armed = ended.contains { if case .arm(.retry, _) = $0 { true } else { false } }
        #expect(armed == retried, "\(ended.summary)")
        #expect(job.machine.state == (retried ? .waitingToRetry : .failed))
        let line = retried ? ended.logs.first ?? "" : ended.jobFinished?.error ?? ""
        #expect(line.contains(reason), "\(line)")
        #expect(line.contains("gpu/outputs: "), "names the job: \(line)")
        #expect(!line.contains("\n"))
    }

    @Test("a listing whose root is missing is not retried; one that broke off is")
    func listingFailures() {
        var missing = ManualJob()
        _ = missing.start()
        _ = missing.machine.spawned(.listing, pid: 100, at: missing.now)
        let failed = missing.exit(.listing, exitCode(3))
        #expect(failed.jobFinished?.error?.hasPrefix("gpu/outputs: the root /workspace does not exist on the source") == true,
                "\(failed.summary)")
        #expect(failed.jobFinished?.attempts == 1)

        var broke = ManualJob()
        _ = broke.start()
        _ = broke.machine.spawned(.listing, pid: 100, at: broke.now)
        _ = broke.record(rsyncError("Connection to box closed by remote host.", origin: .ssh), from: .listing)
        let retried = broke.exit(.listing, exitCode(255))
        #expect(retried.summary.last == "arm retry at 110.0", "\(retried.summary)")
    }

    @Test("files that vanished at the source during the transfer are deferred, and the job is done without a retry")
    func vanishedDuringTransfer() {
        var job = ManualJob(machineSettings(purge: true))
        job.startTransfer(["a.png", "b.png", "c.png"])
        _ = job.send(["a.png"])
        _ = job.record(rsyncError("file has vanished: \"/workspace/outputs/b.png\"", origin: .rsync))
        _ = job.record(rsyncError("rsync: link_stat \"/workspace/outputs/c.png\" failed: No such file or directory (2)"))
        _ = job.record(.message(RsyncMessage(severity: .warning, origin: .rsync,
                                             text: "rsync warning: some files vanished before they could be transferred (code 24)")))
        let end = job.exit(.stream(0), exitCode(24))
        #expect(end.summary.filter { $0.hasPrefix("deferred") } == ["deferred b.png vanished", "deferred c.png vanished"])
        #expect(end.logs == ["info: gpu/outputs: 2 files vanished at the source during the transfer; the rest is home"])
        #expect(end.summary.suffix(4) == ["state purging", "publish", "flush", "start purge"], "the sync is whole: it purges")
        #expect(job.machine.attempts == 1)

        // A vanished file beside another complaint is a failure of its own, retried.
        var mixed = ManualJob()
        mixed.startTransfer(["a.png", "b.png"])
        _ = mixed.record(rsyncError("file has vanished: \"/workspace/outputs/b.png\""))
        _ = mixed.record(rsyncError("rsync: read errors mapping \"/workspace/outputs/a.png\": Input/output error (5)"))
        let retried = mixed.exit(.stream(0), exitCode(23))
        #expect(retried.summary.last == "arm retry at 110.0", "\(retried.summary)")
    }

    @Test("files that vanished while the folder was listed do not fail the listing")
    func vanishedDuringListing() {
        var job = ManualJob()
        _ = job.start()
        _ = job.machine.spawned(.listing, pid: 100, at: job.now)
        job.machine.listingOutput(listingOutput(["a.png"]), at: job.now)
        _ = job.record(rsyncError("find: './b.png': No such file or directory", origin: .remote), from: .listing)
        let listed = job.exit(.listing, exitCode(1))
        #expect(listed.summary == ["slot listed", "info: gpu/outputs: 1 file vanished while the folder was listed (deleted at the source)",
                                   "plan 1 listed"])
        #expect(job.machine.hasListed)
    }

    @Test("rsync's 23 that only says the library cannot set permissions is a whole sync")
    func harmlessComplaints() {
        var job = ManualJob(machineSettings(purge: true))
        job.startTransfer(["a.png"])
        var fat = LibraryTraits.posix
        fat.setsModes = false
        // The library's traits come with the start; this job started on posix, so start one on FAT.
        var onFat = ManualJob(machineSettings(purge: true))
        _ = onFat.perform(onFat.machine.start(at: onFat.now, library: fat))
        _ = onFat.machine.spawned(.listing, pid: 100, at: onFat.now)
        onFat.machine.listingOutput(listingOutput(["a.png"]), at: onFat.now)
        _ = onFat.exit(.listing)
        _ = onFat.perform(onFat.machine.planned(plan([transfer("a.png")]), at: onFat.now))
        _ = onFat.machine.spawned(.stream(0), pid: 101, at: onFat.now)
        _ = onFat.send(["a.png"])
        _ = onFat.record(rsyncError("rsync: [receiver] failed to set permissions on \"/lib/a.png\": Function not implemented (38)"))
        _ = onFat.record(rsyncError("rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1338)"))
        #expect(onFat.exit(.stream(0), exitCode(23)).summary.last == "start purge")

        // The same complaint on a library that can set permissions is a real one: no purge.
        _ = job.send(["a.png"])
        _ = job.record(rsyncError("rsync: [receiver] failed to set permissions on \"/lib/a.png\": Function not implemented (38)"))
        #expect(job.exit(.stream(0), exitCode(23)).summary.last == "slot finished")
        #expect(job.machine.state == .done)
    }
}
