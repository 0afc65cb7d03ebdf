import Testing
@testable import MediaSyncCore

@Suite struct ProgressThrottleTests {
    @Test func aFloodOfUpdatesGoesOutAtMostTenTimesASecond() {
        var throttle = ProgressThrottle()
        var emitted: [Double] = []
        // One update per millisecond for 3 s: a burst of small files finishing.
        for ms in 0..<3000 {
            let now = Double(ms) / 1000
            if throttle.offer(at: now) { emitted.append(now) }
        }
        for start in stride(from: 0.0, to: 2.0, by: 0.001) {
            #expect(emitted.filter { $0 >= start && $0 < start + 1 }.count <= 10)
        }
        #expect(emitted.count >= 29)   // still live: about ten a second
    }

    @Test func aHeldBackUpdateIsNotLost() throws {
        var throttle = ProgressThrottle(maxPerSecond: 10)
        let r1 = throttle.offer(at: 5.0)
        #expect(r1)
        #expect(throttle.pendingDue == nil)
        let r2 = throttle.offer(at: 5.03)
        #expect(!r2)   // the last update of a run, say: inside the 50 ms gap
        let due = try #require(throttle.pendingDue)
        #expect(abs(due - 5.05) < 1e-9)
        let r3 = throttle.flush(at: 5.04)
        #expect(!r3)
        let r4 = throttle.flush(at: due)
        #expect(r4)
        #expect(throttle.pendingDue == nil)
        let r5 = throttle.flush(at: 9)
        #expect(!r5)       // nothing pending, nothing to send
    }

    @Test func anUpdateAfterAQuietSpellGoesOutAtOnce() {
        var throttle = ProgressThrottle(maxPerSecond: 2)
        let r6 = throttle.offer(at: 0)
        #expect(r6)
        let r7 = throttle.offer(at: 0.2)
        #expect(!r7)       // closer than half a spacing (0.25 s)
        let r8 = throttle.offer(at: 0.3)
        #expect(r8)
        let r8b = throttle.offer(at: 0.9)
        #expect(!r8b)      // a third in the second from 0
        #expect(throttle.pendingDue == 1.0)
        let r9 = throttle.offer(at: 10)
        #expect(r9)
    }

    /// What `bin/bench supervisor` showed with a fixed 100 ms spacing: rsync's bursts come every 101-115 ms, and
    /// one that came just after an event waited the whole spacing, then every burst after it 3 ms less.
    @Test func burstsJustOverTheSpacingGoOutAsTheyCome() {
        var throttle = ProgressThrottle()
        let first = throttle.offer(at: 10)
        #expect(first)
        var waits: [Double] = []
        var burst = 10.0005
        for _ in 0..<40 {
            let at = throttle.nextAllowed(at: burst)
            throttle.emitted(at: at)
            waits.append(at - burst)
            burst += 0.103
        }
        #expect(waits[0] <= 0.05 + 1e-9, "the first waits at most the 50 ms gap: \(waits[0])")
        // The early extra event keeps one burst a second waiting for the window, less each second (72, 19, 42,
        // 12 ms), then none. A fixed 100 ms spacing made the first 33 wait, from 100 ms down by 3 ms a burst.
        #expect(waits.filter { $0 > 0 }.count <= 5, "\(waits)")
        #expect(waits.allSatisfy { $0 < 0.075 }, "\(waits)")
        #expect(waits.suffix(10).allSatisfy { $0 == 0 }, "\(waits)")
    }
}
