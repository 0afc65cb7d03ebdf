import Testing
@testable import MediaSyncCore

/// The progress model fed with real rsync runs, recorded with their timing (Fixtures/timed/record.py): four
/// folders of 10, 20, 30 and 60 MB, each rsync held to 8 MB/s by --bwlimit (files of 2.5 MB, so rsync
/// reports about three times a second, at each file's end). `engine-four-folders` is the same sync run by
/// `mediasync sync` itself, its rsyncs' output recorded on the way (Fixtures/timed/rsync-tee.py): there rsync's
/// first record comes at once rather than with the first file's.
@Suite struct ProgressTraceTests {
    static let folders = (0..<4).map { JobID(source: "box", folder: "f\($0)") }

    func replay(_ name: String, concurrency: Int) throws -> (TraceReplay, [TraceReplay.Reading]) {
        var replay = TraceReplay(try TimedTrace.load(name), jobs: Self.folders, concurrency: concurrency) {
            (Self.folders[$0], 0)
        }
        let readings = replay.run()
        return (replay, readings)
    }

    /// Over the middle of the run (40-60% of the bytes), read after each record and on each 100 ms tick, the
    /// ETA is within 10% of the time truly left. Reading the rate at the tick counted each gap between rsync's
    /// records as a slowdown: the ETA then ran up to 15% high between records.
    @Test(arguments: [("four-folders", 4), ("four-folders-two-slots", 2), ("engine-four-folders", 4)])
    func theEtaAroundHalfwayIsWithinTenPercent(_ name: String, _ concurrency: Int) throws {
        let (replay, readings) = try replay(name, concurrency: concurrency)
        let middle = readings.filter {
            !$0.midBurst && $0.bytesDone * 10 >= replay.total * 4 && $0.bytesDone * 10 <= replay.total * 6
        }
        #expect(middle.count >= 10, "too few readings in the middle of \(name)")
        let halfway = try #require(readings.first { !$0.midBurst && $0.bytesDone * 2 >= replay.total })
        let halfwayEta = try #require(halfway.eta, "no ETA at the halfway point of \(name)")
        #expect(abs(halfwayEta - halfway.truth) / halfway.truth < 0.1,
                "\(name) at \(halfway.time) s: ETA \(halfwayEta) s, truly \(halfway.truth) s left")
        for reading in middle {
            let eta = try #require(reading.eta, "no ETA at \(reading.time) s")
            #expect(abs(eta - reading.truth) / reading.truth < 0.1,
                    "\(name) at \(reading.time) s: ETA \(eta) s, truly \(reading.truth) s left")
        }
    }

    @Test(arguments: [("four-folders", 4), ("four-folders-two-slots", 2), ("engine-four-folders", 4)])
    func thePercentNeverFallsAndEndsAt100(_ name: String, _ concurrency: Int) throws {
        let (replay, readings) = try replay(name, concurrency: concurrency)
        for (before, after) in zip(readings, readings.dropFirst()) {
            #expect(after.percent >= before.percent, "\(name): \(before.percent)% at \(before.time) s, then \(after.percent)%")
            #expect(after.percent < 100)
        }
        #expect(replay.cycle.percent == 100)
    }

    /// With two slots the last two folders are not listed while the first two run: their bytes are guessed
    /// (the average listed folder), so the ETA exists from the first rates on instead of after the last listing.
    @Test func queuedFoldersWithoutTotalsStillHaveAnEta() throws {
        let (_, readings) = try replay("four-folders-two-slots", concurrency: 2)
        let early = try #require(readings.first { $0.time >= 1.0 })
        #expect(early.eta != nil)
        // 10 and 20 MB listed: the 30 and 60 MB folders are guessed as 15 MB each, so the guess is short, but
        // once every folder is listed (2.5 s) the ETA is right again.
        let listed = readings.filter { !$0.midBurst && $0.time > 2.7 && $0.truth > 1 }
        for reading in listed {
            let eta = try #require(reading.eta)
            #expect(abs(eta - reading.truth) / reading.truth < 0.15, "at \(reading.time) s: \(eta) vs \(reading.truth)")
        }
    }

    /// One job of three streams with unequal shares (30, 20 and 10 MB), the 20 MB stream killed 1.1 s in
    /// (its third file done, the fourth half sent) and started again: its counter restarts at 0 and it
    /// sends the half-done file again.
    @Test func aJobSumsItsStreamsAndAStreamsRestartNeverMakesItFall() throws {
        let job = JobID(source: "box", folder: "output")
        var replay = TraceReplay(try TimedTrace.load("three-streams-one-killed"), jobs: [job], concurrency: 3) {
            (job, $0)
        }
        var bytes: [Int64] = [], percents: [Double] = []
        var summedAt: Double?
        var streams = 0
        let readings = replay.run { reading, cycle in
            bytes.append(cycle.bytesDone)
            streams = max(streams, cycle[job]!.streamCount)
            percents.append(cycle[job]!.percent)
            // Before the kill every stream has finished its third file: 3 x 7.5 MB.
            if reading.time > 0.99, reading.time < 1.1, summedAt == nil {
                #expect(cycle.bytesDone == 22_500_000)
                summedAt = reading.time
            }
        }
        #expect(summedAt != nil, "no reading between the third files and the kill")
        #expect(replay.cycle[job]?.plannedBytes == 60_000_000)
        #expect(bytes == bytes.sorted(), "the job's bytes fell: \(bytes)")
        #expect(percents == percents.sorted(), "the job's percent fell: \(percents)")
        // The resent file counted once: all 24 files, 60 MB, and nothing more, before the job is done.
        let last = try #require(readings.last)
        #expect(last.bytesDone == 60_000_000)
        #expect(replay.cycle[job]?.filesDone == 24)
        #expect(replay.cycle.percent == 100)
        // The job holds three slots in the ETA's schedule while its three streams run.
        #expect(streams == 3)
    }
}
