import Foundation
import MediaSyncCore
import Testing

/// The reading half of the wire form: what `attach` (and any Swift reader) gets back from a line must be the
/// event that was written, to the byte of every name; a reader that drifted from the writer would show wrong
/// numbers or lose a non-UTF-8 name.
@Suite("event wire: encode, then decode")
struct EventWireRoundTripTests {
    /// One index per event type, with no default: a new type does not compile until it is listed here, and
    /// the sample check below then asks for its sample.
    static func typeIndex(_ body: EventBody) -> Int {
        switch body {
        case .cycleStarted: 0
        case .jobStarted: 1
        case .progress: 2
        case .fileSynced: 3
        case .fileDeferred: 4
        case .jobFinished: 5
        case .cycleFinished: 6
        case .log: 7
        case .purgeStarted: 8
        case .filePurged: 9
        case .fileKept: 10
        case .purgeFinished: 11
        }
    }

    @Test("every event type has a sample")
    func everyTypeHasASample() {
        #expect(Set(EventSamples.bodies.map { Self.typeIndex($0.1) }) == Set(0...11))
    }

    @Test("every sample event decodes to the same value, with and without its newline")
    func everyTypeRoundTrips() throws {
        for event in EventSamples.events() {
            let line = event.jsonLine()
            #expect(try Event(jsonLine: line) == event, "\(String(decoding: line, as: UTF8.self))")
            #expect(try Event(jsonLine: line.dropLast()) == event)
        }
    }

    @Test("a name that is not UTF-8 comes back as its exact bytes, from its _b64 twin")
    func exactBytesOfANameThatIsNotUTF8() throws {
        let (_, body) = try #require(EventSamples.bodies.first { $0.0 == "file_synced not UTF-8" })
        let decoded = try Event(jsonLine: Event(seq: 1, timeMs: 0, body: body).jsonLine())
        guard case let .fileSynced(_, synced) = decoded.body else {
            Issue.record("decoded as \(decoded.type)")
            return
        }
        #expect(synced.path == EventSamples.latin1)
        #expect(synced.path.contains(0xE9))
        #expect(synced.renamedFrom == Array("/srv/media/".utf8) + EventSamples.latin1)
    }

    @Test("a line that is not an event says which field is at fault")
    func brokenLinesAreNamed() {
        func problem(_ text: String) -> String? {
            do {
                _ = try Event(jsonLine: Array(text.utf8))
                return nil
            } catch {
                return error.description
            }
        }
        let good = String(decoding: Event(seq: 9, timeMs: 0, body: .jobStarted(cycle: 1, job: EventSamples.box)).jsonLine(),
                          as: UTF8.self)
        #expect(problem(good) == nil)
        #expect(problem("Traceback (most recent call last):") == "the line is not one JSON object")
        #expect(problem("[1,2]") == "the line is not one JSON object")
        #expect(problem(good.replacingOccurrences(of: #""cycle":1"#, with: #""cycle":"1""#)) == "`cycle` is not a whole number")
        #expect(problem(#"{"v":2,"seq":1,"time":"1970-01-01T00:00:00.000Z","type":"file_deferred","cycle":1,"job":"box","path":"a","reason":"settling"}"#)
            == "`job` is not <source>/<folder>")
        #expect(problem(good.replacingOccurrences(of: #","source":"box""#, with: "")) == nil, "the job is read from `job`")
        #expect(problem(good.replacingOccurrences(of: "job_started", with: "job_paused"))
            == "`job_paused` is not an event type this build knows")
        #expect(problem(good.replacingOccurrences(of: #""v":2"#, with: #""v":1"#)) == "schema version 1 is not 2", "a v1 line is refused, not misread")
        #expect(problem(good.replacingOccurrences(of: "1970-01-01T00:00:00.000Z", with: "yesterday"))
            == "`time` is not an RFC 3339 time")
    }

    @Test("times come back to the millisecond, over four centuries and across leap days")
    func timestampsRoundTrip() {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15   // fixed: the same times every run
        var samples: [Int64] = [0, 1, 999, 1_795_693_596_123, 951_782_400_000, 4_107_542_399_999, 253_402_300_799_999]
        for _ in 0..<2000 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            samples.append(Int64(seed >> 20) % 12_622_780_800_000)   // 1970 ... 2370
        }
        for ms in samples {
            #expect(Timestamp.milliseconds(rfc3339: Timestamp.rfc3339(milliseconds: ms)) == ms, "\(ms)")
        }
        for text in ["", "2026-11-26T11:46:36.123", "2026-13-26T11:46:36.123Z", "2026-11-26 11:46:36.123Z",
                     "26-11-26T11:46:36.123Z", "2026-11-26T11:46:36Z", "２０２６-11-26T11:46:36.123Z"] {
            #expect(Timestamp.milliseconds(rfc3339: text) == nil, "\(text)")
        }
    }
}

/// The lines `attach` reads besides events: its switch is only as good as this reading.
@Suite("attach lines are read as what they are")
struct AttachLineTests {
    func read(_ text: String) -> AttachLine? { AttachLine(line: Array(text.utf8)) }

    @Test("hello, snapshot, gap, overflow and a refusal, as docs/protocol.md shows them")
    func repliesAndNotices() throws {
        #expect(read(#"{"ok":true,"type":"hello","version":"0.1.0","pid":4711,"protocol":1}"#)
            == .hello(version: "0.1.0", pid: 4711, protocolVersion: 1))
        #expect(read(#"{"ok":false,"error":"already attached"}"#) == .refused(error: "already attached"))
        #expect(read(#"{"ok":false}"#) == .refused(error: "the supervisor refused the request"))
        let gap = EventBus.gapLine(since: 100, missed: 42, timeMs: 0)
        #expect(AttachLine(line: gap) == .gap(missed: 42, fromSeq: 101, toSeq: 142))
        #expect(read(#"{"v":2,"time":"2026-11-26T11:47:26.123Z","type":"overflow","last_seq":9120,"message":"reconnect"}"#)
            == .overflow(lastSeq: 9120, message: "reconnect"))

        // The snapshot's progress is a whole `progress` event line, as the supervisor embeds it.
        var progressLine = Event(seq: 7, timeMs: 0, body: .progress(cycle: 3, EventSamples.progress)).jsonLine()
        progressLine.removeLast()
        let snapshot = #"{"ok":true,"type":"snapshot","seq":7,"time":"2026-11-26T11:47:26.123Z","pid":4711,"state":"syncing","#
            + #""paused":false,"pending_cycle":false,"cycle":3,"progress":"# + String(decoding: progressLine, as: UTF8.self)
            + #","next_cycle_at":"2026-11-26T11:52:26.123Z","ingest":null,"#
            + #""last_cycle":{"cycle":2,"finished_at":"2026-11-26T11:42:26.123Z","jobs_done":1,"jobs_failed":1,"files":3,"bytes":9,"seconds":1.5},"#
            + #""jobs":[]}"#
        #expect(read(snapshot) == .snapshot(AttachSnapshot(
            state: "syncing", nextCycleAt: "2026-11-26T11:52:26.123Z",
            lastCycle: .init(cycle: 2, jobsDone: 1, jobsFailed: 1), cycle: 3, progress: EventSamples.progress)))
        let idle = #"{"ok":true,"type":"snapshot","seq":0,"state":"paused","cycle":null,"progress":null,"next_cycle_at":null,"last_cycle":null}"#
        #expect(read(idle) == .snapshot(AttachSnapshot(state: "paused", nextCycleAt: nil, lastCycle: nil, progress: nil)))
    }

    @Test("every event is an event; unknown types and other replies are passed over; garbage is nothing")
    func eventsAndTheRest() {
        for event in EventSamples.events() {
            #expect(AttachLine(line: event.jsonLine()) == .event(event))
        }
        #expect(read(#"{"v":2,"seq":3,"time":"2026-11-26T11:46:36.123Z","type":"stream_started","cycle":1}"#)
            == .other(type: "stream_started"))
        #expect(read(#"{"ok":true,"queued":false,"cycle":7}"#) == .other(type: nil))
        #expect(read(#"{"ok":true,"type":"cycle_finished","cycle":7,"jobs_done":2,"jobs_failed":0,"files":12,"bytes":1,"seconds":1.5}"#)
            == .other(type: "cycle_finished"))
        #expect(read("not json") == nil)
        #expect(read(#"{"v":2,"seq":3,"time":"2026-11-26T11:46:36.123Z","type":"progress","cycle":1}"#) == nil,
                "a known type without its fields")
    }
}
