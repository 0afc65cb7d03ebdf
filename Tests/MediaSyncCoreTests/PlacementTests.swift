import MediaSyncCore
import Testing

/// Where rsync writes: straight into the library only when every promise of staging still holds. A wrong
/// choice either costs a rename per file for nothing or, worse, lets rsync's rename meet a name the plan
/// moved aside (a reused ComfyUI name, a case-folding USB disk) where only staging's no-replace move is safe.
@Suite("placement: staging or the library")
struct PlacementTests {
    static let prefix = Array("gpu/outputs".utf8)

    func natural(_ name: String, size: Int64 = 100) -> SyncPlan.Transfer {
        SyncPlan.Transfer(remotePath: Array(name.utf8), naturalUnder: Self.prefix, size: size, mtime: 1_700_000_000, reason: .new)
    }

    @Test("new files at their own free names on ext4-like file systems go straight into the library")
    func allNew() {
        #expect(Placement.choose([natural("a.png"), natural("sub/b.png")], traits: .posix, libraryPlain: true) == .library)
    }

    @Test("one reused, renamed or refetched name, or nothing to send, keeps the whole job in staging")
    func oneOddFile() {
        var reused = natural("c.png")
        reused.reason = .nameReused
        let renamed = SyncPlan.Transfer(remotePath: Array("d.png".utf8), libraryPath: Array("gpu/outputs/d~2.png".utf8),
                                        size: 1, mtime: 1, reason: .new, renamedFrom: Array("gpu/outputs/d.png".utf8))
        var refetch = natural("e.png")
        refetch.reason = .refetch
        for odd in [reused, renamed, refetch] {
            #expect(Placement.choose([natural("a.png"), odd], traits: .posix, libraryPlain: true) == .staging,
                    "\(String(decoding: odd.remotePath, as: UTF8.self))")
        }
        #expect(Placement.choose([], traits: .posix, libraryPlain: true) == .staging)
    }

    @Test("file systems without an atomic no-replace rename or that lose mtimes, and a library with symlinks on the way, keep staging")
    func libraryNotFit() {
        let files = [natural("a.png")]
        var link = LibraryTraits.posix
        link.move = .link
        var exfat = LibraryTraits.posix
        exfat.move = .checkedRename
        var fusefat = LibraryTraits.posix
        fusefat.keepsTimes = false
        for traits in [link, exfat, fusefat] {
            #expect(Placement.choose(files, traits: traits, libraryPlain: true) == .staging, "\(traits.move) keepsTimes=\(traits.keepsTimes)")
        }
        #expect(Placement.choose(files, traits: .posix, libraryPlain: false) == .staging)
    }

    @Test("the job machine asks its streams and its looks for the placement it chose with the plan")
    func machineCarriesIt() {
        for (transfers, expected) in [([natural("a.png"), natural("b.png")], Placement.library),
                                      ([natural("a.png"), transfer("b.png")], .staging)] {
            var job = ManualJob(machineSettings())
            _ = job.start()
            _ = job.machine.spawned(.listing, pid: 100, at: job.now)
            job.machine.listingOutput(listingOutput(["a.png", "b.png"]), at: job.now)
            _ = job.perform(job.machine.exited(.listing, exitedOK, at: job.now))
            let actions = job.perform(job.machine.planned(plan(transfers), at: job.now))
            let into = actions.compactMap { if case let .spawnTransfer(_, _, _, into) = $0 { into } else { nil } }
            #expect(into == [expected], "\(actions.summary)")
            #expect(job.machine.placement == expected)
            _ = job.perform(job.machine.spawned(.stream(0), pid: 101, at: job.now))
            _ = job.record(started("a.png"), from: .stream(0))
            _ = job.record(started("b.png"), from: .stream(0))
            let looks = job.tick(at: job.now + 0.1)
            let placements = looks.compactMap { if case let .checkStaged(move) = $0 { move.placement } else { nil } }
            #expect(placements == [expected], "\(looks.summary)")
        }
    }
}
