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
        #expect(!r2)   // the last update of a run, say
        let due = try #require(throttle.pendingDue)
        #expect(abs(due - 5.1) < 1e-9)
        let r3 = throttle.flush(at: 5.05)
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
        let r7 = throttle.offer(at: 0.4)
        #expect(!r7)
        let r8 = throttle.offer(at: 0.5)
        #expect(r8)
        let r9 = throttle.offer(at: 10)
        #expect(r9)
    }
}
