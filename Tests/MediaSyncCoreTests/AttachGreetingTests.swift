import Foundation
import MediaSyncCore
import Testing

/// What an attaching client is sent before the live events: a client that reconnects with `since` must get
/// every event it missed that the ring still holds, and be told plainly about the ones it cannot have.
@Suite("attach greeting: hello, snapshot, gap and replay")
struct AttachGreetingTests {
    func bus(publishing count: Int, capacity: Int) -> EventBus {
        let bus = EventBus(capacity: capacity)
        for i in 0..<count {
            _ = bus.publish(.log(level: "info", message: "event \(i + 1)", cycle: nil, job: nil), timeMs: 1_795_690_000_000)
        }
        return bus
    }

    func types(_ lines: [EventLine]) -> [String] { lines.map(\.type) }

    func object(_ line: EventLine) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.line)) as? [String: Any])
    }

    @Test("without since: hello with our pid and protocol, then the snapshot, nothing else")
    func withoutSince() throws {
        let lines = AttachGreeting.lines(version: "9.9.9", pid: 4242, snapshot: Array("{\"type\":\"snapshot\"}\n".utf8),
                                         replay: nil, since: nil, timeMs: 0)
        #expect(types(lines) == ["hello", "snapshot"])
        let hello = try object(lines[0])
        #expect(hello["version"] as? String == "9.9.9" && hello["pid"] as? Int == 4242)
        #expect(hello["protocol"] as? Int == ControlProtocol.version)
    }

    @Test("since older than the ring: a gap names exactly the lost seqs, then every held event in order")
    func sinceOlderThanTheRing() throws {
        let bus = bus(publishing: 5, capacity: 3)
        let lines = AttachGreeting.lines(version: "1", pid: 1, snapshot: [], replay: bus.replay(since: 1), since: 1, timeMs: 0)
        #expect(types(lines) == ["hello", "snapshot", "gap", "log", "log", "log"])
        let gap = try object(lines[2])
        #expect(gap["missed"] as? Int == 1 && gap["from_seq"] as? Int == 2 && gap["to_seq"] as? Int == 2)
        #expect(lines.suffix(3).map(\.seq) == [3, 4, 5])
    }

    @Test("since within the ring: the missed events, no gap; since at the last seq: nothing to replay")
    func sinceWithinTheRing() {
        let bus = bus(publishing: 5, capacity: 10)
        let replayed = AttachGreeting.lines(version: "1", pid: 1, snapshot: [], replay: bus.replay(since: 3), since: 3, timeMs: 0)
        #expect(replayed.map(\.seq) == [0, 0, 4, 5])
        let current = AttachGreeting.lines(version: "1", pid: 1, snapshot: [], replay: bus.replay(since: 5), since: 5, timeMs: 0)
        #expect(types(current) == ["hello", "snapshot"])
    }
}
