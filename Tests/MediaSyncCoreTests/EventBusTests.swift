import Foundation
import Testing
@testable import MediaSyncCore

@Suite("event bus")
struct EventBusTests {
    private let job = EventJob(source: "forge", folder: "txt2img-images")

    private func seqOf(_ line: [UInt8]) throws -> Int64 {
        let json = try #require(try JSONSerialization.jsonObject(with: Data(line.dropLast())) as? [String: Any])
        return Int64(try #require(json["seq"] as? Int))
    }

    @Test("seq starts at 1 and rises by one; subscribers get the very line the ring keeps")
    func seqContiguous() throws {
        let bus = EventBus(capacity: 100)
        var seen: [(Int64, [UInt8])] = []
        _ = bus.subscribe { event, line in seen.append((event.seq, line)) }
        for i in 0..<50 {
            bus.publish(i % 2 == 0 ? .jobStarted(cycle: 1, job: job)
                                   : .log(level: "info", message: "m\(i)", cycle: 1, job: nil), timeMs: Int64(i))
        }
        #expect(seen.map(\.0) == Array(1...50))
        #expect(try seen.map { try seqOf($0.1) } == Array(1...50))
        #expect(bus.lastSeq == 50)
        let replay = bus.replay(since: 0)
        #expect(replay.lines.map(\.line) == seen.map(\.1))
        #expect(replay.missed == 0)
    }

    @Test("two subscribers, one removed: only the other keeps receiving")
    func unsubscribe() {
        let bus = EventBus()
        var a = 0, b = 0
        let ta = bus.subscribe { _, _ in a += 1 }
        _ = bus.subscribe { _, _ in b += 1 }
        bus.publish(.jobStarted(cycle: 1, job: job), timeMs: 0)
        bus.unsubscribe(ta)
        bus.unsubscribe(ta)
        bus.publish(.jobStarted(cycle: 1, job: job), timeMs: 0)
        #expect(a == 1 && b == 2)
        #expect(bus.subscriberCount == 1)
    }

    @Test("replay after the ring wrapped: what is held, and how many are gone")
    func ringReplay() {
        let bus = EventBus(capacity: 10)
        for i in 1...25 { bus.publish(.log(level: "info", message: "\(i)", cycle: nil, job: nil), timeMs: 0) }
        #expect(bus.oldestHeldSeq == 16)
        let fromStart = bus.replay(since: 0)
        #expect(fromStart.lines.map(\.seq) == Array(16...25))
        #expect(fromStart.missed == 15)
        let recent = bus.replay(since: 20)
        #expect(recent.lines.map(\.seq) == Array(21...25))
        #expect(recent.missed == 0)
        let edge = bus.replay(since: 15)
        #expect(edge.lines.count == 10 && edge.missed == 0)
        let oneGone = bus.replay(since: 14)
        #expect(oneGone.missed == 1)
        let upToDate = bus.replay(since: 25)
        #expect(upToDate.lines.isEmpty && upToDate.missed == 0 && !upToDate.sinceIsAhead)
        #expect(bus.replay(since: 900).sinceIsAhead)
    }

    @Test("the gap line names the missing seqs and is valid JSON")
    func gapLine() throws {
        let line = EventBus.gapLine(since: 14, missed: 3, timeMs: 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(line.dropLast())) as? [String: Any])
        #expect(json["type"] as? String == "gap")
        #expect(json["from_seq"] as? Int == 15 && json["to_seq"] as? Int == 17 && json["missed"] as? Int == 3)
    }

    private func entry(_ seq: Int64, _ type: String, size: Int = 100) -> EventLine {
        EventLine(seq: seq, type: type, line: [UInt8](repeating: 0x41, count: size - 1) + [0x0A])
    }

    @Test("coalescing keeps exactly one progress, the latest, and the order of the rest")
    func coalescing() {
        var q = ClientQueue(maxBytes: 10_000, maxCount: 100)
        let types = ["progress", "file_synced", "progress", "progress", "file_synced", "job_finished", "progress",
                     "log", "progress"]
        var outcomes: [ClientQueue.Outcome] = []
        for (i, type) in types.enumerated() { outcomes.append(q.push(entry(Int64(i + 1), type))) }
        #expect(outcomes.filter { $0 == .coalesced }.count == 4)
        var out: [EventLine] = []
        while let e = q.popFirst() { out.append(e) }
        #expect(out.map(\.seq) == [2, 5, 6, 8, 9])
        #expect(out.filter(\.isProgress).count == 1)
        #expect(q.bytes == 0 && q.count == 0)
    }

    @Test("a non-progress event that does not fit is an overflow, and the queue then takes nothing")
    func overflow() {
        var q = ClientQueue(maxBytes: 1_000, maxCount: 100)
        for i in 1...10 { #expect(q.push(entry(Int64(i), "file_synced")) == .queued) }
        #expect(q.push(entry(11, "file_synced")) == .overflow)
        #expect(q.overflowed)
        #expect(q.push(entry(12, "progress", size: 10)) == .overflow)
        #expect(q.bytes == 1_000)
        var counted = ClientQueue(maxBytes: 1 << 20, maxCount: 3)
        for i in 1...3 { counted.push(entry(Int64(i), "log")) }
        #expect(counted.push(entry(4, "log")) == .overflow)
    }

    @Test("a client that never drains: 100,000 events in, memory stays under the bound")
    func neverDrains() {
        var q = ClientQueue(maxBytes: 64 << 10, maxCount: 1_000)
        var overflowAt: Int?
        for i in 1...100_000 {
            let type = i % 50 == 0 ? "file_synced" : "progress"
            if q.push(entry(Int64(i), type, size: 200)) == .overflow, overflowAt == nil { overflowAt = i }
            #expect(q.bytes <= 64 << 10)
            #expect(q.count <= 1_000)
        }
        // 64 KiB holds 327 lines of 200 bytes; only every 50th event grows the queue.
        #expect(overflowAt == 327 * 50)
        var progressOnly = ClientQueue(maxBytes: 1_000, maxCount: 10)
        for i in 1...100_000 { #expect(progressOnly.push(entry(Int64(i), "progress")) != .overflow) }
        #expect(progressOnly.count == 1)
        #expect(progressOnly.popFirst()?.seq == 100_000)
    }

    @Test("popLines joins whole lines up to the limit, oldest first")
    func popLines() {
        var q = ClientQueue()
        for i in 1...5 { q.push(entry(Int64(i), "log", size: 100)) }
        #expect(q.popLines(maxBytes: 250).count == 200)
        #expect(q.popLines(maxBytes: 10).count == 100)
        #expect(q.count == 2)
        #expect(q.popFirst()?.seq == 4)
    }
}
