import MediaSyncCore
import Testing

/// The job machine's path through a sync, on manual time and with no I/O: what a user sees of a job (its
/// events, its files in the library, its end) is decided here.
@Suite("job machine")
struct JobMachineTests {
    @Test("a whole sync: listed, planned, each file moved home as rsync finishes it, then done")
    func wholeSync() {
        var job = ManualJob()
        #expect(job.start().summary == ["job_started", "state listing", "publish", "spawn listing"])
        #expect(job.machine.state == .listing)
        _ = job.machine.spawned(.listing, pid: 100, at: job.now)
        job.machine.listingOutput(listingOutput(["a.png", "b.png"]), at: job.now)
        let listed = job.exit(.listing)
        #expect(listed.summary == ["slot listed", "plan 2 listed"])
        #expect(job.machine.hasListed)

        let planned = job.perform(job.machine.planned(plan([transfer("b.png"), transfer("a.png")]), at: job.now))
        // The stream's list goes in name order, whatever the plan's order.
        #expect(planned.summary == ["totals 2 files 200 bytes", "publish", "state transferring", "publish",
                                    "spawn stream 0: a.png,b.png"])
        _ = job.machine.spawned(.stream(0), pid: 101, at: job.now)

        // A file announced is not looked at until rsync says it finished, and then on the cycle's next tick.
        #expect(job.record(started("a.png")).summary == ["record"])
        job.staged.insert("a.png")
        #expect(job.tick(at: job.now + 0.1).isEmpty, "a.png is still on its way")
        #expect(job.record(finishedFile(1, bytes: 100)).summary == ["record"])
        #expect(job.tick(at: job.now + 0.1).summary == ["check a.png", "move a.png", "home gpu/outputs/a.png"])
        #expect(job.tick(at: job.now + 0.1).isEmpty, "a.png is home: not looked at again")
        #expect(job.send(["b.png"]).summary.filter { $0.hasPrefix("home") } == ["home gpu/outputs/b.png"])
        #expect(job.machine.filesHome == 2 && job.machine.bytesHome == 200)

        let end = job.exit()
        #expect(end.summary == ["state done", "publish", "flush", "job_finished done files 2 attempts 1 exit 0", "slot finished"])
        #expect(job.machine.succeeded)
        #expect(job.machine.state == .done)
    }

    @Test("a folder not created yet is an empty sync with a note, never purged")
    func notCreatedYet() {
        var job = ManualJob(machineSettings(purge: true))
        _ = job.start()
        _ = job.machine.spawned(.listing, pid: 100, at: job.now)
        job.machine.listingOutput(listingOutput([], absent: true), at: job.now)
        let end = job.exit(.listing)
        #expect(end.summary == [
            "slot listed",
            "info: gpu/outputs: /workspace/outputs is not created yet on the source; nothing to sync",
            "totals 0 files 0 bytes", "state done", "publish", "flush",
            "job_finished done files 0 attempts 1 exit -", "slot finished",
        ])
        #expect(end.jobFinished?.note == "not created yet")
        #expect(job.machine.note == "not created yet")
    }

    @Test("a purge follows a whole sync in the job's slot: files recorded first, done when the purge is over")
    func purgeAfterSync() {
        var job = ManualJob(machineSettings(purge: true))
        job.startTransfer(["a.png"])
        _ = job.send(["a.png"])
        let synced = job.exit()
        #expect(synced.summary == ["state purging", "publish", "flush", "start purge"])
        #expect(job.machine.state == .purging)
        #expect(job.machine.state.holdsSlot)
        // The watchdog of the sync is over: a purge has its own.
        job.now += 10_000
        #expect(job.tick(at: job.now).isEmpty)
        let end = job.perform(job.machine.purgeFinished(at: job.now))
        #expect(end.summary == ["state done", "publish", "flush", "job_finished done files 1 attempts 1 exit 0", "slot finished"])
    }

    @Test("no purge after a sync that is not whole, nor with --no-purge; an empty plan purges straight from the listing")
    func purgeOnlyAfterWholeSync() {
        // rsync 23 for a reason that is not the library's: every file is home, yet the run was not clean.
        var partial = ManualJob(machineSettings(purge: true))
        partial.startTransfer(["a.png"])
        _ = partial.send(["a.png"])
        _ = partial.record(rsyncError("rsync: chgrp \"/x\" failed: Operation not permitted (1)"))
        #expect(partial.exit(.stream(0), exitCode(23)).summary.first == "state done")

        var noPurge = ManualJob(machineSettings(purge: false))
        noPurge.startTransfer(["a.png"])
        _ = noPurge.send(["a.png"])
        #expect(noPurge.exit().summary.first == "state done")

        var nothingNew = ManualJob(machineSettings(purge: true))
        _ = nothingNew.start()
        _ = nothingNew.machine.spawned(.listing, pid: 100, at: nothingNew.now)
        nothingNew.machine.listingOutput(listingOutput([]), at: nothingNew.now)
        _ = nothingNew.exit(.listing)
        let planned = nothingNew.perform(nothingNew.machine.planned(plan([]), at: nothingNew.now))
        #expect(planned.summary == ["totals 0 files 0 bytes", "publish", "state purging", "publish", "flush", "start purge"])
    }

    @Test("settling and refused files are told, files already home adopted, before the transfer starts")
    func planOutcomes() {
        var job = ManualJob()
        _ = job.start()
        _ = job.machine.spawned(.listing, pid: 100, at: job.now)
        job.machine.listingOutput(listingOutput(["new.png", "old.png", "young.png", "a:b.png"]), at: job.now)
        _ = job.exit(.listing)
        let deferred = [
            SyncPlan.Deferred(remotePath: Array("young.png".utf8), reason: .settling, ageSeconds: 2),
            SyncPlan.Deferred(remotePath: Array("a:b.png".utf8), reason: .nameNotAllowed, ageSeconds: 900,
                              detail: "has `:`, which exfat cannot hold"),
        ]
        let actions = job.perform(job.machine.planned(plan([transfer("new.png")], deferred: deferred, adopted: [transfer("old.png")]),
                                                      at: job.now))
        #expect(actions.summary == [
            "deferred young.png settling",
            "warning: gpu/outputs: a:b.png stays at the source: has `:`, which exfat cannot hold",
            "deferred a:b.png name_not_allowed",
            "home gpu/outputs/old.png",
            "totals 1 files 100 bytes", "publish", "state transferring", "publish", "spawn stream 0: new.png",
        ])
        #expect(job.machine.filesHome == 1)
    }

    @Test("finished files are looked at on each tick; one not ready on ten ticks is left to the sweep; one moved aside keeps its planned name as renamed_from")
    func movesAsTheTransferGoes() {
        var job = ManualJob()
        job.startTransfer(["a.png", "b.png", "c.png"])
        _ = job.record(started("a.png"))
        _ = job.record(finishedFile(1, bytes: 100))
        // rsync says a file finished, but staging does not have it right yet: looked at again on each tick.
        #expect(job.tick(at: 100.1).summary == ["check a.png"])
        _ = job.record(started("b.png"))
        #expect(job.tick(at: 100.2).summary == ["check a.png"], "b.png is on its way")
        _ = job.record(started("c.png"))   // rsync moved on: b.png is finished (or failed)
        #expect(job.tick(at: 100.3).summary == ["check a.png", "check b.png"])
        for tick in 4...10 {
            #expect(job.tick(at: 100 + Double(tick) / 10).summary == ["check a.png", "check b.png"])
        }
        #expect(job.tick(at: 101.1).summary == ["check b.png"], "a.png was looked at on ten ticks: it is left to the sweep")
        #expect(job.tick(at: 101.2).summary == ["check b.png"])
        #expect(job.tick(at: 101.3).isEmpty, "b.png too")

        job.staged = ["a.png", "b.png", "c.png"]
        job.outcomes["b.png"] = .home(libraryPath: Array("gpu/outputs/b~1.png".utf8), asideOf: Array("gpu/outputs/b.png".utf8))
        let sweep = job.exit()
        #expect(sweep.summary == [
            "sweep a.png", "home gpu/outputs/a.png",
            "sweep b.png", "home gpu/outputs/b~1.png (renamed from gpu/outputs/b.png)",
            "sweep c.png", "home gpu/outputs/c.png",
            "state done", "publish", "flush", "job_finished done files 3 attempts 1 exit 0", "slot finished",
        ])
    }

    @Test("files rsync names out of the plan's order, or not planned at all, are each looked at under their own name")
    func namesOutOfOrder() {
        var job = ManualJob()
        job.startTransfer(["a.png", "b.png", "c.png", "d.png"])
        // rsync's own order can differ from the plan's (it sorts a folder's files before its sub-folders):
        // the file expected next is not the one named, and the lookup by name must find it anyway.
        _ = job.record(started("c.png"))
        _ = job.record(started("x.png"))   // not planned: never looked at
        _ = job.record(started("a.png"))
        _ = job.record(started("b.png"))   // the expected one again, after a.png
        _ = job.record(started("d.png"))
        _ = job.record(finishedFile(5, bytes: 400))
        #expect(job.tick(at: 100.1).summary == ["check c.png", "check a.png", "check b.png", "check d.png"])
        job.staged = ["a.png", "b.png", "c.png", "d.png"]
        #expect(job.tick(at: 100.2).summary == ["check c.png", "move c.png", "home gpu/outputs/c.png",
                                                 "check a.png", "move a.png", "home gpu/outputs/a.png",
                                                 "check b.png", "move b.png", "home gpu/outputs/b.png",
                                                 "check d.png", "move d.png", "home gpu/outputs/d.png"])
        _ = job.record(started("a.png"))   // named again (home already): nothing more to look at
        #expect(job.tick(at: 100.3).isEmpty)
    }

    @Test("in the sweep, a file that changed at the source is deferred; one the library refuses fails the job with why")
    func sweepOutcomes() {
        var changed = ManualJob()
        changed.startTransfer(["a.png", "b.png"])
        _ = changed.send(["a.png"])
        changed.outcomes["b.png"] = .changed
        let end = changed.exit()
        #expect(end.summary.prefix(4) == [
            "sweep b.png", "deferred b.png changed",
            "info: gpu/outputs: b.png changed during the sync; a later cycle takes it", "state done",
        ])

        var refused = ManualJob()
        refused.startTransfer(["a.png"])
        refused.outcomes["a.png"] = .refused("move into library (rename): /srv/media/gpu/outputs/a.png: Permission denied")
        let failed = refused.exit()
        #expect(!failed.contains { if case .arm = $0 { true } else { false } }, "a library that refuses does not mend by itself")
        #expect(failed.jobFinished?.state == .failed)
        #expect(failed.jobFinished?.error == "gpu/outputs: 1 file arrived but could not be moved into the library: "
                + "move into library (rename): /srv/media/gpu/outputs/a.png: Permission denied")
    }

    @Test("an event that does not fit the job's state is refused visibly and changes nothing")
    func illegalMoves() {
        var job = ManualJob()
        job.startTransfer(["a.png"])
        #expect(job.perform(job.machine.retryDue(at: job.now)).summary == ["illegal: retry due while transferring"])
        #expect(job.perform(job.machine.purgeFinished(at: job.now)).summary == ["illegal: purge finished while transferring"])
        #expect(job.perform(job.machine.start(at: job.now, library: .posix)).summary == ["illegal: start while transferring"])
        #expect(job.exit(.stream(3)).summary == ["illegal: stream 3 exited while transferring"])
        #expect(job.perform(job.machine.planned(plan([transfer("x.png")]), at: job.now)).summary == ["illegal: plan while transferring"])
        #expect(job.machine.state == .transferring)
        #expect(job.machine.attempts == 1)
        _ = job.send(["a.png"])
        _ = job.exit()
        #expect(job.machine.state == .done)
        let refused = job.perform(job.machine.failed("cannot start rsync: ENOENT", at: job.now))
        #expect(refused.summary == ["illegal: failure (cannot start rsync: ENOENT) while done"])
        if case let .illegal(move)? = refused.first {
            #expect(move.description == "gpu/outputs: failure (cannot start rsync: ENOENT) is not allowed while the job is done; ignored (a bug in mediasync)")
        }
        #expect(job.machine.state == .done)
    }

    @Test("a listing made in the process (a local folder) is judged as a child's: planned, a vanished file told, a folder that cannot be entered a failure without retry")
    func listingMadeHere() {
        let listed = RemoteListing(now: 1_800_000_000, files: [RemoteFile(path: Array("a.png".utf8), size: 100, mtime: 1_700_000_000)],
                                   format: .find)
        var job = ManualJob()
        _ = job.start()
        _ = job.machine.spawned(.listing, pid: 100, at: job.now)
        let planned = job.perform(job.machine.listedHere(listed, complaints: ["find: './gone.png': No such file or directory"],
                                                         exit: exitCode(1), at: job.now))
        #expect(planned.summary == ["slot listed", "info: gpu/outputs: 1 file vanished while the folder was listed (deleted at the source)",
                                    "plan 1 listed"])

        var denied = ManualJob()
        _ = denied.start()
        _ = denied.machine.spawned(.listing, pid: 100, at: denied.now)
        let end = denied.perform(denied.machine.listedHere(nil, complaints: ["sh: cd: can't cd to out: Permission denied"],
                                                           exit: exitCode(5), at: denied.now))
        #expect(end.jobFinished?.error == "gpu/outputs: /workspace/outputs exists on the source (ssh gpu@box:22) but cannot be entered"
                    + " (not a folder, or no permission): sh: cd: can't cd to out: Permission denied", "\(end.summary)")
        #expect(end.jobFinished?.attempts == 1, "no retry: a folder that cannot be entered does not mend itself")

        var unasked = ManualJob()
        _ = unasked.start()
        #expect(unasked.machine.listedHere(listed, complaints: [], exit: exitedOK, at: unasked.now).summary
                    == ["illegal: listing made here while listing"], "a listing that was never begun is refused")
    }

    @Test("a listing that cannot be started fails the job and still lets its source's other jobs connect")
    func listingCannotStart() {
        var job = ManualJob()
        _ = job.start()
        let failed = job.perform(job.machine.failed("cannot start ssh: no such file or directory (ENOENT)", at: job.now))
        #expect(failed.summary.first == "slot listed")
        #expect(failed.jobFinished?.error == "gpu/outputs: cannot start ssh: no such file or directory (ENOENT)")
        #expect(failed.jobFinished?.exitCode == nil)
        #expect(!job.machine.hasListed)
    }

    @Test("a listing that cannot be read fails the job without a retry, naming what was wrong")
    func unreadableListing() {
        var job = ManualJob()
        _ = job.start()
        _ = job.machine.spawned(.listing, pid: 100, at: job.now)
        job.machine.listingOutput(Array("mediasync-listing-begin\nsoon\nfind\n".utf8), at: job.now)
        let end = job.exit(.listing)
        #expect(end.jobFinished?.error?.hasPrefix("gpu/outputs: the listing from the source could not be read: remote listing, line 2") == true,
                "\(end.summary)")
        #expect(end.jobFinished?.attempts == 1)
        #expect(!job.machine.hasListed)
        #expect(job.perform(job.machine.planned(plan([transfer("a.png")]), at: job.now)).summary == ["illegal: plan while failed"])
    }

    @Test("a shell that prints before the listing fails the job at once with the box owner's fix")
    func noisyShell() {
        var job = ManualJob()
        _ = job.start()
        _ = job.machine.spawned(.listing, pid: 100, at: job.now)
        job.machine.listingOutput(Array("Welcome to the box!\n".utf8) + listingOutput(["a.png"]), at: job.now)
        let end = job.exit(.listing)
        #expect(end.summary.first == "slot listed")
        #expect(end.jobFinished?.state == .failed)
        #expect(end.jobFinished?.error?.contains("Welcome to the box!") == true)
        #expect(!job.machine.hasListed)
    }
}
