import Testing
@testable import MediaSyncCore

@Suite("live screen")
struct ViewScreenTests {
    private func snap(_ percent: Double) -> ProgressSnapshot {
        ProgressSnapshot(overall: .init(percent: percent, filesDone: 1, filesTotal: 2, bytesDone: 10, bytesTotal: 20,
                                        rateBps: 0, etaS: nil),
                         jobs: [.init(job: "forge/out", state: .transferring, attempt: 1, percent: percent, filesDone: 1,
                                      filesTotal: 2, bytesDone: 10, bytesTotal: 20, rateBps: 0, etaS: nil,
                                      current: "a.png")])
    }
    private let done = JobFinished(job: EventJob(source: "forge", folder: "out"), state: .done, files: 2, bytes: 20,
                                   seconds: 1.5, exitCode: 0, attempts: 1)

    @Test("redraws at most 10 times a second and flush draws the last update")
    func throttled() {
        var s = LiveScreen(isTTY: true, color: false)
        var frames = 0
        for i in 0..<100 where !s.update(snap(Double(i) / 2), width: 80, at: Double(i) * 0.01).isEmpty { frames += 1 }
        #expect(frames == 10)
        let last = String(decoding: s.flush(width: 80, at: 5), as: UTF8.self)
        #expect(last.contains("49.5%"))
        #expect(s.flush(width: 80, at: 6).isEmpty)
    }

    @Test("a redraw moves up over the previous block; a result stays above it; finish shows the cursor")
    func inPlace() {
        var s = LiveScreen(isTTY: true, color: false)
        _ = s.update(snap(10), width: 80, at: 0)
        let second = String(decoding: s.update(snap(20), width: 80, at: 1), as: UTF8.self)
        #expect(second.hasPrefix("\r\u{1B}[2A"))
        let result = String(decoding: s.jobFinished(done, width: 80), as: UTF8.self)
        #expect(result.contains("\u{1B}[2A\r✓ forge/out"))
        let end = String(decoding: s.finish(width: 80), as: UTF8.self)
        #expect(end.hasSuffix("\u{1B}[?25h"))
        #expect(s.update(snap(30), width: 80, at: 9).isEmpty)
    }

    @Test("not a terminal: no progress, one plain line per finished job, no escape codes")
    func notATerminal() {
        var s = LiveScreen(isTTY: false, color: true)
        #expect(s.update(snap(10), width: 80, at: 0).isEmpty)
        let out = s.jobFinished(done, width: 80) + s.log(level: "warning", message: "slow", width: 80) + s.finish(width: 80)
        #expect(String(decoding: out, as: UTF8.self) == "✓ forge/out  2 files  20 B in 1.5s\nwarning: slow\n")
    }

    @Test("NO_COLOR with any non-empty value turns color off")
    func noColor() {
        #expect(LiveScreen.colorWanted(environment: [:], isTTY: true))
        #expect(!LiveScreen.colorWanted(environment: ["NO_COLOR": "1"], isTTY: true))
        #expect(LiveScreen.colorWanted(environment: ["NO_COLOR": ""], isTTY: true))
        #expect(!LiveScreen.colorWanted(environment: [:], isTTY: false))
    }
}
