import MediaSyncCore
import Testing

/// One job, several rsync streams: how a big plan is split, what the cycle is asked for, and that each stream
/// is judged on its own share while the job stays one job (one job_started, one job_finished, a retry that
/// fetches only what is not home). A wrong split or a shared sweep loses speed or, worse, calls a file that
/// another stream is still writing "changed".
@Suite("job machine: streams")
struct JobMachineStreamsTests {
    static let mib: Int64 = 1 << 20

    func settings(_ streams: StreamCount = .auto, ssh: Bool = true, attempts: Int = 3) -> JobMachine.Settings {
        var settings = machineSettings(attempts: attempts)
        settings.streams = streams
        settings.multiConnection = ssh
        return settings
    }

    /// Starts the job, lists and plans `files` (name, size); returns the actions of the plan.
    func planned(_ job: inout ManualJob, _ files: [(String, Int64)]) -> [JobAction] {
        _ = job.start()
        _ = job.machine.spawned(.listing, pid: 100, at: job.now)
        job.machine.listingOutput(listingOutput(files.map(\.0)), at: job.now)
        _ = job.perform(job.machine.exited(.listing, exitedOK, at: job.now))
        return job.perform(job.machine.planned(plan(files.map { transfer($0.0, size: $0.1) }), at: job.now))
    }

    /// The spawned streams and their files.
    func spawns(_ actions: [JobAction]) -> [JobChild: [String]] {
        var out: [JobChild: [String]] = [:]
        for action in actions {
            if case let .spawnTransfer(child, files, _, _) = action { out[child] = files.map { String(decoding: $0, as: UTF8.self) } }
        }
        return out
    }

    /// rsync sends `names` whole on `stream` (its own transfer numbers from `first`).
    func send(_ job: inout ManualJob, _ names: [String], on stream: JobChild, first: Int = 1) -> [JobAction] {
        var all: [JobAction] = []
        for (offset, name) in names.enumerated() {
            all += job.record(started(name), from: stream)
            job.staged.insert(name)
            all += job.record(finishedFile(first + offset, bytes: 100), from: stream)
        }
        all += job.tick(at: job.now)
        return all
    }

    @Test("a big plan on ssh asks the cycle for streams and splits by bytes, biggest first; one job_started says the most")
    func splitsABigPlan() throws {
        var job = ManualJob(settings())
        let started = job.start()
        #expect(started.contains { if case .emit(.jobStarted(_, _, 8)) = $0 { true } else { false } }, "\(started.summary)")
        job = ManualJob(settings())
        let files: [(String, Int64)] = [("a", 40 * Self.mib), ("b", 30 * Self.mib), ("c", 20 * Self.mib),
                                        ("d", 10 * Self.mib), ("e", 5 * Self.mib), ("f", 5 * Self.mib)]
        let actions = planned(&job, files)
        // 110 MiB: one stream per 16 MiB asks for 6; the cycle grants 4.
        #expect(actions.summary.suffix(1) == ["claim 6 streams"], "\(actions.summary)")
        let granted = job.perform(job.machine.streamsGranted(4, at: job.now))
        #expect(spawns(granted) == [.stream(0): ["a"], .stream(1): ["b"], .stream(2): ["c"], .stream(3): ["d", "e", "f"]])
        #expect(granted.logs == ["info: gpu/outputs: 6 files, 110.0 MiB in 4 rsync streams"], "\(granted.logs)")
        #expect(job.machine.streamsRunning == 4)
    }

    @Test("the cycle may grant fewer streams than asked; the shares follow the grant")
    func fewerGranted() {
        var job = ManualJob(settings())
        _ = planned(&job, (0..<8).map { ("f\($0)", 20 * Self.mib) })
        let granted = job.perform(job.machine.streamsGranted(2, at: job.now))
        let shares = spawns(granted)
        #expect(shares.count == 2)
        #expect(shares[.stream(0)] == ["f0", "f2", "f4", "f6"])
        #expect(shares[.stream(1)] == ["f1", "f3", "f5", "f7"])
    }

    @Test("auto is one stream for a small plan, on local and docker sources, and never more streams than files")
    func oneStreamWhenSplittingCannotHelp() {
        var small = ManualJob(settings())
        #expect(spawns(planned(&small, [("a", 2 * Self.mib), ("b", 2 * Self.mib)])).count == 1)
        var local = ManualJob(settings(ssh: false))
        #expect(spawns(planned(&local, (0..<8).map { ("f\($0)", 100 * Self.mib) })).count == 1)
        var fixed = ManualJob(settings(.fixed(8), ssh: false))
        #expect(planned(&fixed, [("a", 10), ("b", 10), ("c", 10)]).summary.last == "claim 3 streams")
        #expect(StreamSplit.wanted(.auto, multiConnection: true, files: 160, bytes: 240_000_000) == 8)
        #expect(StreamSplit.wanted(.auto, multiConnection: true, files: 3, bytes: 240_000_000) == 3)
        #expect(StreamSplit.wanted(.auto, multiConnection: true, files: 20_000, bytes: 40_000_000) == 2)
    }

    @Test("auto runs one stream per 12.5 ms of round trip, at most 8; two where the CPU binds; the most when not measured")
    func autoByRoundTrip() {
        #expect(StreamSplit.autoMost(roundTrip: 0.010) == 2, "5 ms each way: the CPU binds, a second stream takes a second core")
        #expect(StreamSplit.autoMost(roundTrip: 0.0125) == 2)
        #expect(StreamSplit.autoMost(roundTrip: 0.0001) == 2, "loopback")
        #expect(StreamSplit.autoMost(roundTrip: 0.020) == 2)
        #expect(StreamSplit.autoMost(roundTrip: 0.040) == 4)
        #expect(StreamSplit.autoMost(roundTrip: 0.100) == 8, "50 ms each way: one stream is bound by its window")
        #expect(StreamSplit.autoMost(roundTrip: 0.300) == 8)
        #expect(StreamSplit.autoMost(roundTrip: nil) == 8)
    }

    @Test("shares are balanced by bytes: on seeded random plans no share is heavier than the lightest plus the biggest file")
    func sharesBalanced() {
        // Seeded, so a failure replays: MEDIASYNC_TEST_SEED=<seed> swift test --filter JobMachineStreamsTests.
        let seed = SeededRandom.testSeed(fallback: 0x5742_EA35)
        var rng = SeededRandom(seed: seed)
        for _ in 0..<200 {
            let count = Int(rng.next() % 300) + 1
            let sizes = (0..<count).map { _ in Int64(rng.next() % 10_000_000) }
            let streams = Int(rng.next() % 8) + 1
            let shares = StreamSplit.shares(sizes: sizes, count: streams)
            #expect(shares.count == min(streams, count))
            #expect(shares.flatMap { $0 }.sorted() == Array(0..<count), "every file in exactly one share")
            let bytes = shares.map { $0.reduce(Int64(0)) { $0 + sizes[$1] } }
            #expect(bytes.max()! - bytes.min()! <= sizes.max()!, "seed \(seed): \(bytes)")
            #expect(shares.allSatisfy { !$0.isEmpty && $0 == $0.sorted() })
        }
    }

    @Test("a stream's sweep takes only its own share: another stream's file still on its way is not called changed")
    func sweepOwnShare() {
        var job = ManualJob(settings(.fixed(2)))
        _ = planned(&job, [("a", 100), ("b", 100), ("c", 100), ("d", 100)])
        _ = job.perform(job.machine.streamsGranted(2, at: job.now))
        _ = job.machine.spawned(.stream(0), pid: 101, at: job.now)
        _ = job.machine.spawned(.stream(1), pid: 102, at: job.now)
        _ = send(&job, ["a", "c"], on: .stream(0))
        // Stream 1 started b: a half-written b is in staging, not as planned.
        _ = job.record(started("b"), from: .stream(1))
        job.outcomes["b"] = .changed
        let ended = job.exit(.stream(0))
        #expect(!ended.summary.contains { $0.contains("b") }, "\(ended.summary)")
        #expect(ended.summary.contains("slot streamEnded"))
        #expect(ended.jobFinished == nil, "the job ends with its last stream")
        #expect(job.machine.filesHome == 2 && job.machine.streamsRunning == 1)
        job.outcomes["b"] = nil
        _ = send(&job, ["b", "d"], on: .stream(1))
        let last = job.exit(.stream(1))
        #expect(last.jobFinished?.state == .done)
        #expect(last.jobFinished?.files == 4)
        #expect(last.jobFinished?.streams == 2, "job_finished says how many streams ran")
    }

    @Test("a failed stream is retried with only its files not home; the other stream's files are not fetched again")
    func failedStreamRetriedAlone() throws {
        var job = ManualJob(settings(.fixed(2)))
        _ = planned(&job, [("a", 100), ("b", 100), ("c", 100), ("d", 100)])
        _ = job.perform(job.machine.streamsGranted(2, at: job.now))
        _ = job.machine.spawned(.stream(0), pid: 101, at: job.now)
        _ = job.machine.spawned(.stream(1), pid: 102, at: job.now)
        // Stream 1 (b, d) breaks after b; stream 0 (a, c) goes on and brings both.
        _ = send(&job, ["b"], on: .stream(1))
        let broken = job.exit(.stream(1), exitCode(12))
        #expect(broken.jobFinished == nil && job.machine.state == .transferring, "\(broken.summary)")
        _ = send(&job, ["a", "c"], on: .stream(0))
        let rest = job.exit(.stream(0))
        #expect(job.machine.state == .waitingToRetry, "\(rest.summary)")
        #expect(job.machine.filesHome == 3 && job.machine.pendingCount == 1)
        job.now += 10
        _ = job.perform(job.machine.retryDue(at: job.now))
        let retry = job.start()
        #expect(spawns(retry) == [.stream(0): ["d"]], "\(retry.summary)")
        _ = job.machine.spawned(.stream(0), pid: 103, at: job.now)
        _ = send(&job, ["d"], on: .stream(0))
        let done = job.exit(.stream(0))
        #expect(done.jobFinished?.state == .done)
        #expect(done.jobFinished?.files == 4 && done.jobFinished?.attempts == 2)
    }

    @Test("the stall watchdog stops only the stream that stalled")
    func stallPerStream() {
        var job = ManualJob(settings(.fixed(2)))
        _ = planned(&job, [("a", 100), ("b", 100)])
        _ = job.perform(job.machine.streamsGranted(2, at: job.now))
        _ = job.machine.spawned(.stream(0), pid: 101, at: job.now)
        _ = job.machine.spawned(.stream(1), pid: 102, at: job.now)
        for second in stride(from: 10.0, through: 300, by: 10) {
            job.now = 100 + second
            _ = job.record(.progress(RsyncProgress(bytes: Int64(second), percent: 1, bytesPerSecond: 1, seconds: 0,
                                                   transferNumber: nil, checkRemaining: nil, checkTotal: nil)), from: .stream(0))
        }
        let ticked = job.tick(at: 400)
        #expect(ticked.summary.filter { $0.hasPrefix("stop") } == ["stop stream 1"], "\(ticked.summary)")
    }

    @Test("a stream that cannot start stops the others; the job fails with its reason once they ended")
    func spawnFailureStopsTheOthers() {
        var job = ManualJob(settings(.fixed(3)))
        _ = planned(&job, [("a", 100), ("b", 100), ("c", 100)])
        _ = job.perform(job.machine.streamsGranted(3, at: job.now))
        #expect(job.machine.spawned(.stream(0), pid: 101, at: job.now).isEmpty)
        let failed = job.perform(job.machine.spawnFailed(.stream(1), "cannot start rsync: EMFILE", at: job.now))
        #expect(failed.summary == ["stop stream 0"])
        // The third one started after: stopped at once.
        #expect(job.machine.spawned(.stream(2), pid: 103, at: job.now).summary == ["stop stream 2"])
        _ = job.exit(.stream(0), killedByUs)
        let end = job.exit(.stream(2), killedByUs)
        #expect(end.jobFinished?.state == .failed)
        #expect(end.jobFinished?.error == "gpu/outputs: cannot start rsync: EMFILE")
    }
}

/// Which connection each stream rides: big streams side by side never share one.
@Suite("connection lanes")
struct ConnectionLanesTests {
    @Test("big streams get the lowest lane no big stream holds; small ones ride lane 0; transports without lanes use 0")
    func lanes() {
        var lanes = ConnectionLanes(hasLanes: true)
        let big = StreamSplit.ownConnectionBytes
        let a = lanes.claim(bytes: big)
        let b = lanes.claim(bytes: big)
        let small = lanes.claim(bytes: big - 1)
        #expect([a.number, b.number, small.number] == [0, 1, 0])
        #expect(a.own && b.own && !small.own)
        lanes.release(small)
        #expect(lanes.claim(bytes: big).number == 2, "a small stream's end does not free lane 0")
        lanes.release(a)
        #expect(lanes.claim(bytes: big).number == 0)
        #expect(lanes.mostAtOnce == 3)
        var none = ConnectionLanes(hasLanes: false)
        #expect(none.claim(bytes: big * 10).number == 0 && none.claim(bytes: big * 10).number == 0)
        #expect(none.mostAtOnce == 0)
    }
}
