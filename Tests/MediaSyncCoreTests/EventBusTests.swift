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

    @Test("a lagging reader gets every line in order, progress too (since v2 each carries only what changed)")
    func noProgressSkipped() {
        let log = ClientLog(maxLagBytes: 10_000, maxLagCount: 100)
        let types = ["progress", "file_synced", "progress", "progress", "file_synced", "job_finished", "progress",
                     "log", "progress"]
        for (i, type) in types.enumerated() { log.append(entry(Int64(i + 1), type, size: 100 + i)) }
        let read = log.read(from: 0, maxBytes: 1 << 20)
        #expect(read.chunk.count == (0..<9).reduce(0) { $0 + 100 + $1 }, "all nine lines, none skipped")
        #expect(read.next == 9 && read.lastSeq == 9)
        // A reader that was up to date sees each progress as it comes.
        let current = ClientLog()
        current.append(entry(1, "progress"))
        #expect(current.read(from: 0, maxBytes: 1 << 20).lastSeq == 1)
        current.append(entry(2, "progress"))
        #expect(current.read(from: 1, maxBytes: 1 << 20).lastSeq == 2)
    }

    @Test("too far behind in bytes or in lines; progress lines count in bytes only")
    func overflow() {
        let log = ClientLog(maxLagBytes: 1_000, maxLagCount: 9)
        for i in 1...8 { log.append(entry(Int64(i), "file_synced")) }
        log.append(entry(9, "progress", size: 150))
        #expect(!log.isTooFarBehind(0), "950 bytes, 8 lines")
        log.append(entry(10, "file_synced"))
        #expect(log.isTooFarBehind(0), "1,050 bytes")
        #expect(!log.isTooFarBehind(1), "a client one line further on is within the bound")
        let progress = ClientLog(maxLagBytes: 1 << 20, maxLagCount: 3)
        for i in 1...10 { progress.append(entry(Int64(i), "progress")) }
        #expect(!progress.isTooFarBehind(0), "progress lines do not count as lines")
        let counted = ClientLog(maxLagBytes: 1 << 20, maxLagCount: 3)
        for i in 1...3 { counted.append(entry(Int64(i), "log")) }
        #expect(!counted.isTooFarBehind(0))
        counted.append(entry(4, "log"))
        #expect(counted.isTooFarBehind(0))
    }

    @Test("a client that never reads is cut off at the bound; the log keeps nothing nobody needs")
    func neverDrains() {
        let log = ClientLog(maxLagBytes: 64 << 10, maxLagCount: 1_000)
        var cutAt: Int?
        for i in 1...100_000 {
            log.append(entry(Int64(i), i % 50 == 0 ? "file_synced" : "progress", size: 200))
            if cutAt == nil, log.isTooFarBehind(0) { cutAt = i }
            // Once it is cut off, its cursor no longer holds lines back.
            if cutAt != nil { log.trim(before: nil) }
        }
        // 64 KiB holds 327 lines of 200 bytes (progress counts in bytes): the 328th is one too many.
        #expect(cutAt == 328)
        #expect(log.heldCount == 0)
        // A reader that is behind on progress alone is bounded by bytes, not lines, and gets every one of them.
        let progressOnly = ClientLog(maxLagBytes: 1 << 20, maxLagCount: 10)
        for i in 1...1_000 { progressOnly.append(entry(Int64(i), "progress")) }
        #expect(!progressOnly.isTooFarBehind(0))
        let read = progressOnly.read(from: 0, maxBytes: 1 << 20)
        #expect(read.lastSeq == 1_000 && read.chunk.count == 100 * 1_000)
    }

    @Test("read joins whole lines up to the limit and stops where asked; trim drops what all have read")
    func readAndTrim() {
        let log = ClientLog()
        for i in 1...5 { log.append(entry(Int64(i), "log", size: 100)) }
        let first = log.read(from: 0, maxBytes: 250)
        #expect(first.chunk.count == 200 && first.next == 2)
        let single = log.read(from: 2, maxBytes: 10)
        #expect(single.chunk.count == 100 && single.next == 3, "at least one line")
        let stopped = log.read(from: 3, maxBytes: 1 << 20, stop: 4)
        #expect(stopped.next == 4 && stopped.lastSeq == 4)
        log.trim(before: 3)
        #expect(log.startIndex == 3 && log.heldCount == 2)
        #expect(log.read(from: 3, maxBytes: 1 << 20).lastSeq == 5)
        #expect(log.endIndex == 5)
    }
}
