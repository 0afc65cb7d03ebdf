import MediaSyncCore
import Testing

/// The purge's questions and the door's end, on manual time: a question is answered, held while the ingest
/// catches up, times out, or is refused without the capability; shutdown and `finish` end every wait.
/// A question that never ends would hold a purge (and its cycle) forever.
@Suite("ingest door machine: verify, shutdown and finish")
struct IngestDoorMachineVerifyTests {
    func path(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("answered: yes and no come back together, once the last file of the batch is answered")
    func verifyAnswered() {
        var bench = DoorBench()
        bench.start()
        bench.ready()
        let batch = bench.verify(["/lib/a.png", "/lib/b.png"])
        #expect(bench.sentVerifies.map { $0["library_path"] as? String } == ["/lib/a.png", "/lib/b.png"])
        #expect(bench.sentVerifies.map { $0["id"] as? Int } == [1, 2])
        bench.say(#"{"id":1,"committed":true}"#)
        #expect(bench.verifyAnswers[batch] == nil)
        bench.say(#"{"id":2,"committed":false}"#)
        #expect(bench.verifyAnswers[batch]?.answers == [path("/lib/a.png"): true, path("/lib/b.png"): false])
        #expect(bench.verifyAnswers[batch]?.note == nil)
        // A late answer is ignored, and said so at debug level.
        bench.say(#"{"id":1,"committed":true}"#)
        #expect(bench.messages("debug") == ["ingest: an answer for verify 1, which is not outstanding (late or unknown); ignored"])
    }

    @Test("held while the ingest catches up: sent once the events before it are acknowledged")
    func verifyWaitsForTheOutbox() {
        var bench = DoorBench()
        bench.start()
        bench.ready()
        bench.store(count: 1)
        _ = bench.verify(["/lib/f1.png"])
        #expect(bench.sentVerifies.isEmpty)
        bench.ack(1)
        #expect(bench.sentVerifies.count == 1)
    }

    @Test("unanswered: held until half the timeout, sent, and no answer within 10 s of the send means keep")
    func verifyUnanswered() {
        var bench = DoorBench()
        bench.start()
        bench.ready()
        bench.store(count: 1)
        bench.advance(to: 100)
        let batch = bench.verify(["/lib/f1.png"])
        // The hold ends at 5.1 s; checks run every second from the child's start.
        bench.advance(to: 5_999)
        #expect(bench.sentVerifies.isEmpty)
        bench.advance(to: 6_000)
        #expect(bench.sentVerifies.count == 1)
        bench.advance(to: 15_999)
        #expect(bench.verifyAnswers[batch] == nil)
        bench.advance(to: 16_000)
        #expect(bench.verifyAnswers[batch]?.answers.isEmpty == true)
        #expect(bench.verifyAnswers[batch]?.note == "the ingest did not answer within 10 s")
        #expect(bench.messages("warning") == ["ingest: 1 verify request got no answer within 10 s; those files stay on their sources"])
    }

    @Test("a question waits for a starting child up to the timeout, then ends without an answer")
    func verifyWaitsForTheHandshake() {
        var bench = DoorBench()
        bench.start()
        let batch = bench.verify(["/lib/x.png"])
        bench.advance(to: 9_999)
        #expect(bench.verifyAnswers[batch] == nil)
        bench.advance(to: 10_000)
        #expect(bench.verifyAnswers[batch]?.note == "the ingest did not answer within 10 s")
        bench.ready()
        #expect(bench.sentVerifies.isEmpty)
    }

    @Test("no verify capability: warned at ready when verify_before_purge is on, and every question ends at once")
    func verifyWithoutTheCapability() {
        var bench = DoorBench()
        bench.start()
        let queued = bench.verify(["/lib/a.png"])
        bench.ready(["metadata"])
        #expect(bench.verifyAnswers[queued]?.note == "the ingest does not answer verify")
        #expect(bench.messages("warning") == ["ingest: it does not answer verify, so with `ingest.verify_before_purge` on no file is "
            + "purged (reason not_committed); turn the switch off or give the ingest the verify capability"])
        let asked = bench.verify(["/lib/b.png"])
        #expect(bench.verifyAnswers[asked]?.answers.isEmpty == true)
        #expect(bench.verifyAnswers[asked]?.note == "the ingest does not answer verify")
        #expect(bench.sentVerifies.isEmpty)

        var unchecked = DoorBench(verifyBeforePurge: false)
        unchecked.start()
        unchecked.ready(["metadata"])
        #expect(unchecked.messages("warning").isEmpty)
    }

    @Test("a child that goes away ends the questions sent to it; queued ones wait for the next child")
    func verifyAfterACrash() {
        var bench = DoorBench()
        bench.start()
        bench.ready()
        let sent = bench.verify(["/lib/a.png"])
        bench.exit(signal: 9)
        #expect(bench.verifyAnswers[sent]?.note == "the ingest stopped before answering")
        let queued = bench.verify(["/lib/b.png"])
        #expect(bench.verifyAnswers[queued] == nil)
        bench.advance(to: 1_000)
        bench.ready()
        bench.say(#"{"id":2,"committed":true}"#)
        #expect(bench.verifyAnswers[queued]?.answers == [path("/lib/b.png"): true])
    }

    @Test("shutdown while waiting to restart: closed at once, no child ever starts again, questions end")
    func shutdownWhileWaiting() {
        var bench = DoorBench()
        bench.start()
        bench.exit(code: 1)
        let batch = bench.verify(["/lib/x.png"])
        bench.feed { $0.shutdown(at: $1) }
        #expect(bench.verifyAnswers[batch]?.note == "mediasync is stopping")
        #expect(bench.closedDeleting == [])
        #expect(bench.timers.isEmpty)
        #expect(bench.door.stateName == "stopped")
        bench.advance(by: 600_000)
        #expect(bench.spawnTimes == [0])
        // A closed door ignores new events and closes again at once when asked.
        bench.store(count: 1)
        #expect(bench.door.outboxCount == 0)
        #expect(bench.door.shutdown(at: bench.now) == [.close(deletes: [])])
    }

    @Test("shutdown with a child: EOF, SIGTERM 10 s later, closed when it is gone; acks it writes meanwhile are not sent again")
    func shutdownWithAChild() {
        var bench = DoorBench()
        bench.start()
        bench.ready()
        bench.store(count: 3)
        bench.holdWorker = true
        bench.advance(to: 1_000)
        bench.feed { $0.shutdown(at: $1) }
        #expect(bench.stdinClosed && bench.stops.isEmpty)
        #expect(bench.door.stateName == "stopped")
        #expect(bench.timers[.exitGrace]?.due == 11_000)
        // A question asked now gets no answer: the door is closing.
        let late = bench.verify(["/lib/x.png"])
        #expect(bench.verifyAnswers[late]?.note == "the ingest is not running")
        bench.ack(1)
        bench.ack(2)
        bench.advance(to: 10_999)
        #expect(bench.stops.isEmpty)
        bench.advance(to: 11_000)
        #expect(bench.stops == [5_000])
        #expect(bench.messages("warning") == ["ingest: pid 1001 did not exit within 10 s of end of input; stopping it"])
        #expect(bench.closedDeleting == nil)
        bench.exit(signal: 15)
        // The delete of 1 was under way (the executor waits for it); 2 came after it and is deleted at the close.
        #expect(bench.closedDeleting == [2])
        #expect(bench.spawnTimes == [0])
    }

    @Test("finish: waits while acks come, ends when the outbox is empty, and stops waiting after 10 s without one")
    func finishDrains() {
        var bench = DoorBench()
        bench.start()
        bench.ready()
        bench.store(count: 2)
        bench.feed { $0.finish(idleMs: 10_000, at: $1) }
        bench.advance(to: 9_000)
        bench.ack(1)
        #expect(bench.timers[.drainIdle]?.due == 19_000)
        #expect(!bench.drainEnded)
        bench.ack(2)
        #expect(bench.drainEnded && bench.stdinClosed)

        var idle = DoorBench()
        idle.start()
        idle.ready()
        idle.store(count: 2)
        idle.feed { $0.finish(idleMs: 10_000, at: $1) }
        idle.advance(to: 9_999)
        #expect(!idle.drainEnded)
        idle.advance(to: 10_000)
        #expect(idle.drainEnded && idle.stdinClosed)
        #expect(idle.messages("warning") == ["ingest: 2 events not yet acknowledged after 10 s without progress; they stay in the "
            + "outbox for the next run"])
        idle.exit(code: 0)
        #expect(idle.table.count == 2)
        #expect(idle.closedDeleting == [])
        // Once closed, a finish has nothing to wait for.
        idle.feed { $0.finish(idleMs: 10_000, at: $1) }
        #expect(idle.drainRefused)
    }

    @Test("finish on a halted door ends at once: no child will acknowledge anything")
    func finishWhenHalted() {
        var bench = DoorBench()
        bench.store(count: 2, tellDoor: false)
        bench.start()
        bench.exit(code: 3)
        #expect(bench.door.isHalted)
        bench.feed { $0.finish(idleMs: 10_000, at: $1) }
        #expect(bench.drainEnded)
        #expect(bench.closedDeleting == [])
    }
}
