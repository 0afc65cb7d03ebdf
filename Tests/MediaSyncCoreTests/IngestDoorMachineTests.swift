import MediaSyncCore
import Testing

/// The ingest door's decisions on manual time, with the default timings a user gets: the window, the
/// handshake and ack timeouts to the millisecond, the exact backoff sequence, refusal, and the outbox's
/// warnings. (Tests/MediaSyncEngineTests/IngestDoorTests.swift runs the same door against a real child.)
@Suite("ingest door machine: the child, the window and the timeouts")
struct IngestDoorMachineTests {
    let command = "/usr/local/bin/ingest"

    @Test("a child starts at once and hears hello; no ready within 30 s: stopped at the first check past it, restarted 1 s after it is gone")
    func handshakeTimeout() throws {
        var bench = DoorBench()
        bench.start()
        #expect(bench.spawnTimes == [0])
        let hello = try #require(bench.sent.first)
        #expect(hello["type"] as? String == "hello" && hello["pid"] as? Int == 4242 && hello["protocol"] as? Int == 1)
        #expect(bench.door.stateName == "starting")
        bench.advance(to: 29_999)
        #expect(bench.stops.isEmpty && !bench.stdinClosed)
        bench.advance(to: 30_000)
        #expect(bench.stdinClosed && bench.stops == [5_000])
        #expect(bench.messages("error") == ["ingest: \(command) (pid 1001) broke the protocol: no `ready` within 30 s of `hello`; restarting it"])
        #expect(bench.door.stateName == "restarting")
        bench.advance(to: 31_500)
        bench.exit(signal: 15)
        // The reason was logged once; the exit it caused adds no second error.
        #expect(bench.messages("error").count == 1)
        #expect(bench.timers[.restart]?.due == 32_500)
        bench.advance(to: 32_500)
        #expect(bench.spawnTimes == [0, 32_500])
        #expect(bench.sent.filter { $0["type"] as? String == "hello" }.count == 2)
    }

    @Test("never more than the window in flight while the child holds its acks; each ack frees exactly one slot")
    func windowIsNeverExceeded() {
        var timings = IngestTimings()
        timings.window = 8
        var bench = DoorBench(timings: timings)
        bench.start()
        bench.ready()
        bench.store(count: 30)
        #expect(bench.sentEventIDs == Array(1...8))
        // More events, metadata read and a drained pipe: nothing more goes out while the acks are held.
        bench.store(count: 5)
        bench.feed { $0.canSend(at: $1) }
        bench.advance(by: 60_000)
        #expect(bench.sentEventIDs == Array(1...8))
        #expect(bench.door.inFlight.count == 8)
        bench.ack(1, 2, 3)
        #expect(bench.sentEventIDs == Array(1...11))
        // An ack for an event not in flight frees nothing.
        bench.ack(99)
        #expect(bench.sentEventIDs == Array(1...11))
        while let oldest = bench.door.inFlight.keys.min() { bench.ack(oldest) }
        #expect(bench.sentEventIDs == Array(1...35))
        #expect(bench.table.isEmpty)
        #expect(bench.mostInFlight == 8)
        #expect(bench.door.outboxCount == 0)
    }

    @Test("megabytes waiting in the child's stdin hold loading back until the pipe drains")
    func pipeBacklogHoldsLoading() {
        var bench = DoorBench()
        bench.start()
        bench.ready()
        bench.pipeBacklog = 8 << 20
        bench.store(count: 3)
        #expect(bench.sentEventIDs.isEmpty)
        bench.pipeBacklog = 0
        bench.feed { $0.canSend(at: $1) }
        #expect(bench.sentEventIDs == [1, 2, 3])
    }

    @Test("no ack within 300 s of the send: restarted at the first check past it; acks it still writes count; the next child gets the rest again")
    func ackTimeoutRestarts() {
        var bench = DoorBench()
        bench.start()
        bench.store(count: 3)
        bench.advance(to: 500)
        bench.ready()
        #expect(bench.sentEventIDs == [1, 2, 3])
        // Checks run every second from the child's start; 300 s after the send (500 ms) is not due at 300,000.
        bench.advance(to: 300_000)
        #expect(bench.stops.isEmpty)
        bench.advance(to: 301_000)
        #expect(bench.stops == [5_000] && bench.stdinClosed)
        #expect(bench.messages("error") == ["ingest: \(command) (pid 1001) did not acknowledge event 1 within 300 s; restarting it"])
        bench.ack(1)
        #expect(bench.table.map(\.id) == [2, 3])
        bench.exit(signal: 15)
        #expect(bench.timers[.restart]?.due == 302_000)
        bench.advance(to: 302_000)
        bench.ready()
        #expect(bench.sentEventIDs == [1, 2, 3, 2, 3])
    }

    @Test("restarts back off exactly: 1, 2, 4 ... 256 s, then 300 s; a run of a minute after the handshake starts over at 1 s")
    func backoffSequence() throws {
        var bench = DoorBench()
        bench.start()
        for _ in 0..<11 {
            bench.exit(code: 1)
            bench.advance(to: try #require(bench.timers[.restart]).due)
        }
        let gaps = zip(bench.spawnTimes.dropFirst(), bench.spawnTimes).map { $0 - $1 }
        #expect(gaps == [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000])
        #expect(bench.messages("error").first == "ingest: \(command) (pid 1001) exited with status 1; restarting it in 1 s; "
            + "its unacknowledged events are sent again")
        // Up 59.999 s after its handshake: not stable, the wait stays at the cap.
        bench.ready()
        bench.advance(by: 59_999)
        bench.exit(signal: 9)
        #expect(bench.messages("error").last?.contains("exited: killed by signal 9; restarting it in 300 s") == true)
        bench.advance(to: try #require(bench.timers[.restart]).due)
        bench.ready()
        bench.advance(by: 60_000)
        bench.exit(code: 1)
        #expect(bench.timers[.restart]?.due == bench.now + 1_000)
    }

    @Test("with the tests' fast timings the waits are 0.1, 0.2, 0.4 and 0.4 s")
    func fastBackoffSequence() throws {
        var timings = IngestTimings()
        timings.firstBackoffMs = 100
        timings.maxBackoffMs = 400
        var bench = DoorBench(timings: timings)
        bench.start()
        for _ in 0..<4 {
            bench.exit(code: 1)
            bench.advance(to: try #require(bench.timers[.restart]).due)
        }
        #expect(zip(bench.spawnTimes.dropFirst(), bench.spawnTimes).map { $0 - $1 } == [100, 200, 400, 400])
        #expect(bench.messages("error").first?.hasSuffix("restarting it in 0.1 s; its unacknowledged events are sent again") == true)
    }

    @Test("a command that cannot start is tried again after the backoff, and the message says how to fix it")
    func spawnFailureRetries() {
        var bench = DoorBench()
        bench.failingSpawns = 1
        bench.start()
        #expect(bench.messages("error") == ["ingest: cannot start \(command): no such file or directory; fix `ingest.command` in the "
            + "config (an absolute path to a program, no shell); trying again in 1 s"])
        #expect(bench.child == nil)
        bench.advance(to: 1_000)
        #expect(bench.spawnTimes == [0, 1_000])
        #expect(bench.child == 1001)
    }

    @Test("a refusal halts the door: no restart however long, verify says the ingest is not running")
    func refusalHalts() {
        var bench = DoorBench()
        bench.start()
        bench.say(#"{"type":"error","message":"this ingest speaks protocol 2 or later"}"#)
        bench.exit(code: 1)
        #expect(bench.door.isHalted)
        #expect(bench.door.stateName == "stopped")
        #expect(bench.timers[.restart] == nil)
        bench.advance(by: 3_600_000)
        #expect(bench.spawnTimes == [0])
        #expect(bench.messages("error") == [
            "ingest: \(command) refused the handshake: this ingest speaks protocol 2 or later",
            "ingest: \(command) (pid 1001) cannot speak protocol 1 and exited with status 1; it is not restarted until the config "
                + "is reloaded or mediasync restarts",
        ])
        let batch = bench.verify(["/lib/x.png"])
        #expect(bench.verifyAnswers[batch]?.answers.isEmpty == true)
        #expect(bench.verifyAnswers[batch]?.note == "the ingest is not running")
        // New events wait in the outbox for the next ingest; none is sent.
        bench.store(count: 2)
        #expect(bench.sentEventIDs.isEmpty)
    }

    @Test("exit status 3 during the handshake is a refusal too; after ready it is an ordinary crash")
    func exitThreeMeansRefusalOnlyBeforeReady() {
        var refusing = DoorBench()
        refusing.start()
        refusing.exit(code: 3)
        #expect(refusing.door.isHalted)

        var crashing = DoorBench()
        crashing.start()
        crashing.ready()
        crashing.exit(code: 3)
        #expect(!crashing.door.isHalted)
        #expect(crashing.timers[.restart]?.due == 1_000)
    }

    @Test("garbage on stdout: restarted with the line quoted; the next child gets every unacknowledged event from the first id")
    func garbageRestarts() {
        var bench = DoorBench()
        bench.start()
        bench.ready()
        bench.store(count: 3)
        bench.ack(1)
        bench.say("Traceback (most recent call last): oops")
        #expect(bench.messages("error").contains { $0.contains("broke the protocol") && $0.contains("Traceback (most recent call last)") })
        bench.exit(code: 1)
        bench.advance(to: bench.now + 1_000)
        bench.ready()
        #expect(bench.sentEventIDs == [1, 2, 3, 2, 3])
    }

    @Test("the outbox warns at 80 %, reports drops at most once a minute, and says when it is back under half")
    func outboxLevels() {
        var bench = DoorBench(outboxLimit: 10)
        bench.start()
        bench.ready()
        bench.store(count: 7)
        #expect(bench.messages("warning").isEmpty)
        bench.store(count: 1)
        #expect(bench.messages("warning") == ["ingest: the outbox holds 8 of at most 10 events: the ingest is not acknowledging them "
            + "(state: ready); at the limit new events are not stored. Check the ingest (`mediasync logs`), or raise `ingest.outbox_limit`"])
        bench.feed { $0.appended(OutboxAppend(stored: 2, dropped: 4, total: 10), at: $1) }
        #expect(bench.messages("error").count == 1)
        #expect(bench.messages("error").last?.hasPrefix("ingest: the outbox is full (10 events): 4 new events were not stored") == true)
        bench.advance(by: 59_999)
        bench.feed { $0.appended(OutboxAppend(stored: 0, dropped: 1, total: 10), at: $1) }
        #expect(bench.messages("error").count == 1, "a second report within the minute")
        bench.advance(by: 1)
        bench.feed { $0.appended(OutboxAppend(stored: 0, dropped: 2, total: 10), at: $1) }
        #expect(bench.messages("error").last?.hasPrefix("ingest: the outbox is full (10 events): 3 new events were not stored") == true)
        bench.feed { $0.appended(OutboxAppend(stored: 0, dropped: 1, total: 10), at: $1) }
        // Acks bring it under half: the drop not yet told is told, then the good news.
        for id in Int64(1)...6 { bench.ack(id) }
        #expect(Array(bench.messages().suffix(2)) == [
            "ingest: 1 more event was not stored while the outbox was full; `mediasync backfill` sends every library file again",
            "ingest: the outbox is down to 4 events",
        ])
    }
}
