import Testing
import UV

@Suite struct TimerTests {
    @Test func timersFireInDueOrderAndOnce() throws {
        var fired: [String] = []
        try withLoop { loop in
            for (name, ms) in [("c", UInt64(30)), ("a", 5), ("b", 15)] {
                let timer = try Timer(loop: loop)
                timer.start(after: ms) {
                    fired.append(name)
                    timer.close()
                }
            }
        }
        #expect(fired == ["a", "b", "c"])
    }

    @Test func repeatingTimerStopsWhenAsked() throws {
        var ticks = 0
        var start: UInt64 = 0
        var elapsed: UInt64 = 0
        try withLoop { loop in
            start = loop.now
            let timer = try Timer(loop: loop)
            timer.start(after: 5, repeat: 5) {
                ticks += 1
                if ticks == 4 {
                    timer.stop()
                    elapsed = loop.now - start
                    timer.close()
                }
            }
        }
        #expect(ticks == 4)
        #expect(elapsed >= 20)
    }

    @Test func stoppedTimerNeverFiresAndCloseIsIdempotent() throws {
        var fired = 0
        try withLoop { loop in
            let stopped = try Timer(loop: loop)
            stopped.start(after: 1) { fired += 1 }
            let stopper = try Timer(loop: loop)
            stopped.stop()
            stopper.start(after: 20) {
                stopper.close()
                stopped.close()
                stopped.close()
            }
            #expect(stopped.dueIn == 0)
        }
        #expect(fired == 0)
    }

    @Test func closedTimerIsReleasedByTheLoop() throws {
        weak var weakTimer: Timer?
        try withLoop { loop in
            let timer = try Timer(loop: loop)
            weakTimer = timer
            timer.start(after: 1) { timer.close() }
        }
        // The close callback balanced the loop's retain and dropped the cycle through the closure.
        #expect(weakTimer == nil)
    }

    @Test func loopCloseNamesHandlesLeftOpen() throws {
        let loop = try Loop()
        let timer = try Timer(loop: loop)
        #expect(throws: UVError.self) { try loop.close() }
        do { try loop.close() } catch {
            #expect(error.name == "EBUSY")
            #expect(error.description.contains("timer"))
        }
        _ = timer
        loop.closeAll()
        try loop.close()
    }
}
