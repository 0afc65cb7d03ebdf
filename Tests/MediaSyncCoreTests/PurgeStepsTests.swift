import MediaSyncCore
import Testing

/// The purge's decisions around its children, without processes: how a child's end reads, what each line of
/// the delete script means for its batch, what an interrupted purge left to record, and its stall watchdog.
@Suite("purge steps")
struct PurgeStepsTests {
    func deletion(_ name: String, size: Int64 = 10, mtime: Int64 = 1_700_000_000) -> PurgePlan.Deletion {
        PurgePlan.Deletion(path: Array(name.utf8), size: size, mtime: mtime, libraryPath: Array("src/out/\(name)".utf8),
                           ageSeconds: 0)
    }

    func error(_ text: String, origin: RsyncMessage.Origin = .remote) -> RsyncMessage {
        RsyncMessage(severity: .error, origin: origin, text: text)
    }

    @Test("a child's end: a stall, a success, a listing complete despite vanished files, ssh's reason, or the last complaint")
    func childOutcomes() {
        let target = "ssh gpu@box:22"
        var listing = PurgeChildReport(what: "listing", target: target, vanishedIsFine: true)
        #expect(listing.outcome(code: 0, signal: 15, status: "killed by signal 15 (Terminated)", stalled: true, cancelled: false,
                                stallTimeout: .seconds(300))
                == .failed("no progress for 5m; the listing on ssh gpu@box:22 was stopped (is the source frozen or paused?)"))
        #expect(listing.outcome(code: 0, signal: 0, status: "exited with status 0", stalled: false, cancelled: false,
                                stallTimeout: .seconds(300)) == .succeeded)
        listing.add(error("find: './a.png': No such file or directory"))
        listing.add(error("find: './b.png': No such file or directory"))
        #expect(listing.outcome(code: 1, signal: 0, status: "exited with status 1", stalled: false, cancelled: false,
                                stallTimeout: .seconds(300)) == .succeededDespiteVanished(2))
        #expect(listing.outcome(code: 1, signal: 0, status: "exited with status 1", stalled: false, cancelled: true,
                                stallTimeout: .seconds(300))
                == .failed("the listing on ssh gpu@box:22 failed (exited with status 1)"), "a cancelled listing is not a success")

        // The delete batch does not take vanished files as a success: the script has its own answers for them.
        var purge = PurgeChildReport(what: "purge", target: target)
        purge.add(error("find: './a.png': No such file or directory"))
        purge.add(error("sh: 3: rm: Permission denied"))
        #expect(purge.outcome(code: 2, signal: 0, status: "exited with status 2", stalled: false, cancelled: false,
                              stallTimeout: .seconds(300))
                == .failed("the purge on ssh gpu@box:22 failed (exited with status 2): sh: 3: rm: Permission denied"))
        purge.complain("cannot hand ssh its input: broken pipe (EPIPE)")
        #expect(purge.outcome(code: 2, signal: 0, status: "exited with status 2", stalled: false, cancelled: false,
                              stallTimeout: .seconds(300))
                == .failed("the purge on ssh gpu@box:22 failed (exited with status 2): cannot hand ssh its input: broken pipe (EPIPE)"))

        var refused = PurgeChildReport(what: "checksum", target: target)
        refused.add(error("ssh: connect to host box port 22: Connection refused", origin: .ssh))
        guard case let .failed(line) = refused.outcome(code: 255, signal: 0, status: "exited with status 255", stalled: false,
                                                        cancelled: false, stallTimeout: .seconds(300)) else {
            Issue.record("a refused connection is a failure")
            return
        }
        #expect(line.contains("Connection refused"), "\(line)")
    }

    @Test("a batch: deletions, kept files with the script's reason, answers twice or unasked ignored, the unanswered named")
    func batchAnswers() {
        var batch = PurgeBatch([deletion("a.png"), deletion("b.png"), deletion("c.png"), deletion("d.png")])
        #expect(batch.take(.deleted(path: Array("a.png".utf8))) == .deleted(deletion("a.png")))
        #expect(batch.take(.deleted(path: Array("a.png".utf8))) == .nothing, "an answer given twice counts once")
        #expect(batch.take(.deleted(path: Array("x.png".utf8))) == .nothing, "a file the batch did not hand over")
        #expect(batch.take(.kept(reason: "changed", path: Array("b.png".utf8)))
                == .kept(path: Array("b.png".utf8), reason: .changed, detail: "the source kept it: changed"))
        #expect(batch.take(.kept(reason: "symlink_or_not_folder", path: Array("c.png".utf8)))
                == .kept(path: Array("c.png".utf8), reason: .error, detail: "the source kept it: symlink or not folder"))
        #expect(batch.take(.removedFolder(path: Array("2026-01-01".utf8))) == .removedFolder(Array("2026-01-01".utf8)))
        #expect(batch.unanswered == [deletion("d.png")])
        #expect(batch.failure(childError: nil) == "the purge script on the source ended early (output cut short)")
        #expect(batch.take(.done) == .nothing)
        #expect(batch.failure(childError: nil) == nil)
        #expect(batch.failure(childError: "the purge on box failed (exited with status 1)")
                == "the purge on box failed (exited with status 1)")
    }

    @Test("deletions are handed out in batches of the asked size, in order, until none is left")
    func batches() {
        var batches = PurgeBatches((0..<2_500).map { deletion(String(format: "%05d.png", $0)) })
        var sizes: [Int] = []
        var first: [String] = []
        while let batch = batches.next(size: 1_000) {
            sizes.append(batch.count)
            first.append(String(decoding: batch[0].path, as: UTF8.self))
        }
        #expect(sizes == [1_000, 1_000, 500])
        #expect(first == ["00000.png", "01000.png", "02000.png"])
        #expect(batches.next(size: 1_000) == nil)
    }

    @Test("an interrupted purge's files that are gone and not audited are recorded, aged by the source's clock")
    func recovery() {
        let intent = [deletion("gone.png", mtime: 1_000), deletion("audited.png"), deletion("still-there.png"),
                      deletion("rewritten-and-gone.png", size: 99)]
        let listing = RemoteListing(now: 5_000, files: [RemoteFile(path: Array("still-there.png".utf8), size: 10, mtime: 1_700_000_000)],
                                    format: .find)
        let audited: Set<PurgeRecovery.AuditedFile> = [
            PurgeRecovery.AuditedFile(path: Array("audited.png".utf8), size: 10, mtime: 1_700_000_000),
            // The same name audited at another size is another file: this one still needs its row.
            PurgeRecovery.AuditedFile(path: Array("rewritten-and-gone.png".utf8), size: 10, mtime: 1_700_000_000),
        ]
        let gone = PurgeRecovery.unrecorded(intent: intent, listing: listing, audited: audited)
        #expect(gone.map { String(decoding: $0.path, as: UTF8.self) } == ["gone.png", "rewritten-and-gone.png"])
        #expect(gone.map(\.ageSeconds) == [4_000, 0], "aged by the listing's clock, never negative")
    }

    @Test("the stall watchdog: stalled from exactly its limit of silence on, and each sign of life starts it again")
    func stallWatchdog() {
        var watchdog = StallWatchdog(limit: .seconds(30), startedAt: 10)
        #expect(watchdog.deadline == 40)
        #expect(!watchdog.isStalled(at: 39.999))
        #expect(watchdog.isStalled(at: 40))
        watchdog.activity(at: 35)
        #expect(!watchdog.isStalled(at: 64.9))
        #expect(watchdog.isStalled(at: 65))
        let fractional = StallWatchdog(limit: .milliseconds(1500), startedAt: 0.3)
        #expect(!fractional.isStalled(at: 1.7))
        #expect(fractional.isStalled(at: 1.8))
    }
}
