import Testing
@testable import MediaSyncCore

@Suite("live view renderer")
struct ViewRendererTests {
    private func job(_ name: String, current: String?, state: JobState = .transferring) -> ProgressSnapshot.Job {
        ProgressSnapshot.Job(job: name, state: state, attempt: 1, percent: 45.27, filesDone: 12, filesTotal: 120,
                             bytesDone: 10_590_617, bytesTotal: 157_496_115, rateBps: 12_897_485, etaS: 65,
                             current: current)
    }

    private func snapshot(_ jobs: [ProgressSnapshot.Job]) -> ProgressSnapshot {
        ProgressSnapshot(overall: .init(percent: 45.2, filesDone: 12, filesTotal: 300, bytesDone: 10_590_617,
                                        bytesTotal: 1_288_490_189, rateBps: 12_897_485, etaS: 3725), jobs: jobs)
    }

    private let names = [
        "forge/txt2img-images",
        "comfy/output",
        "🎨box/出力フォルダ🚀",
    ]
    private let currents = [
        "2026-11-24/00012-3912345.png",
        "a very long sub folder name/with more/ComfyUI_00001_🐱🐱🐱🐱🐱🐱🐱🐱🐱🐱🐱🐱🐱.png",
        "bad\nname\u{1B}[2J.png",
        "漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字.png",
    ]

    @Test("no line is wider than the terminal, with emoji, CJK and a newline in names", arguments: [40, 80, 200])
    func widths(width: Int) {
        for color in [false, true] {
            let r = LiveViewRenderer(width: width, color: color)
            var jobs: [ProgressSnapshot.Job] = []
            for (i, name) in names.enumerated() { jobs.append(job(name, current: currents[i % currents.count])) }
            jobs.append(job("box/new\nline", current: currents[3]))
            let failed = JobFinished(job: EventJob(source: "box", folder: "out\nput🚀"), state: .failed, files: 0,
                                     bytes: 0, seconds: 3, exitCode: 255, attempts: 3,
                                     error: "ssh: connect to host 203.0.113.7 port 41022: Connection refused")
            let done = JobFinished(job: EventJob(source: "forge", folder: "txt2img-images"), state: .done, files: 120,
                                   bytes: 157_496_115, seconds: 12.34, exitCode: 0, attempts: 1)
            let lines = r.render(snapshot: snapshot(jobs), results: [done, failed])
                + r.logLines(level: "warning", message: String(repeating: "disk almost full ", count: 20))
            for line in lines {
                let visible = stripANSI(line)
                #expect(DisplayText.width(visible) <= width, "\(width) columns: \(visible)")
                #expect(!visible.contains("\n") && !visible.contains("\u{1B}"), "control chars leak: \(visible)")
            }
            #expect(lines.contains { $0.contains("Connection") } || width < 40)
        }
    }

    @Test("a running job at 80 columns shows state, percent, files, bytes, rate, ETA and the file")
    func jobLine() {
        let line = LiveViewRenderer(width: 200, color: false).jobLine(job("forge/txt2img-images",
                                                                          current: "2026-11-24/00012-3912345.png"))
        #expect(line == "forge/txt2img-images  copying  45.2%  12/120 files  10.1 MiB/150.2 MiB  12.3 MiB/s  ETA 1m05s  2026-11-24/00012-3912345.png")
        let narrow = LiveViewRenderer(width: 80, color: false).jobLine(job("forge/txt2img-images",
            current: "2026-11-24/a-long-prompt-derived-file-name-00012-3912345.png"))
        #expect(narrow.hasPrefix("forge/txt2img-images  copying  45.2%"))
        #expect(narrow.hasSuffix("45.png"), "the end of the name tells files apart: \(narrow)")
        #expect(narrow.contains("…"))
        #expect(DisplayText.width(narrow) <= 80)
    }

    @Test("the total line has a bar that fills with the percent")
    func totalLine() {
        let line = LiveViewRenderer(width: 120, color: false).liveLines(snapshot([])).last!
        #expect(line.hasPrefix("total  [#############-----------------]  45.2%  12/300 files  10.1 MiB/1.2 GiB"))
        #expect(line.hasSuffix("ETA 1h02m"))
    }

    @Test("formatting of bytes, durations and percents")
    func formatting() {
        #expect(ViewFormat.bytes(0) == "0 B")
        #expect(ViewFormat.bytes(1023) == "1023 B")
        #expect(ViewFormat.bytes(1536) == "1.5 KiB")
        #expect(ViewFormat.bytes(157_496_115) == "150.2 MiB")
        #expect(ViewFormat.bytes(1_048_575) == "1.0 MiB")
        #expect(ViewFormat.bytes(5 * 1 << 40) == "5.0 TiB")
        #expect(ViewFormat.duration(nil) == "--")
        #expect(ViewFormat.duration(7) == "7s")
        #expect(ViewFormat.duration(65) == "1m05s")
        #expect(ViewFormat.duration(3725) == "1h02m")
        #expect(ViewFormat.elapsed(12.34) == "12.3s")
        #expect(ViewFormat.percent(99.96) == "99.9%")
        #expect(ViewFormat.percent(100) == "100.0%")
        #expect(ViewFormat.percent(0) == "0.0%")
    }

    @Test("color codes only when color is on")
    func color() {
        let done = JobFinished(job: EventJob(source: "forge", folder: "txt2img-images"), state: .done, files: 120,
                               bytes: 157_496_115, seconds: 12.34, exitCode: 0, attempts: 1)
        let plain = LiveViewRenderer(width: 80, color: false)
        let colored = LiveViewRenderer(width: 80, color: true)
        #expect(plain.resultLines(done) == ["✓ forge/txt2img-images  120 files  150.2 MiB in 12.3s"])
        #expect(colored.resultLines(done)[0].contains("\u{1B}[32m✓\u{1B}[0m"))
        #expect(stripANSI(colored.resultLines(done)[0]) == plain.resultLines(done)[0])
        let all = plain.render(snapshot: snapshot([job("a/b", current: "x.png")]), results: [done])
        #expect(!all.joined().contains("\u{1B}"))
        #expect(colored.liveLines(snapshot([])).joined().contains("\u{1B}[1m"))
        // A job of several streams says so; the word goes first when the line is narrow.
        var streamed = done
        streamed.streams = 8
        #expect(plain.resultLines(streamed) == ["✓ forge/txt2img-images  120 files  150.2 MiB in 12.3s  8 streams"])
        #expect(LiveViewRenderer(width: 50, color: false).resultLines(streamed) == LiveViewRenderer(width: 50, color: false).resultLines(done))
    }

    @Test("a failed job's line says how many attempts and the error, wrapped when long")
    func failed() {
        let f = JobFinished(job: EventJob(source: "box", folder: "output"), state: .failed, files: 0, bytes: 0,
                            seconds: 31, exitCode: 255, attempts: 3,
                            error: "ssh: connect to host 203.0.113.7 port 41022: Connection refused")
        let wide = LiveViewRenderer(width: 200, color: false).resultLines(f)
        #expect(wide == ["✗ box/output  failed after 3 attempts: ssh: connect to host 203.0.113.7 port 41022: Connection refused"])
        let narrow = LiveViewRenderer(width: 40, color: false).resultLines(f)
        #expect(narrow.count > 1)
        #expect(narrow.map { $0.trimmingPrefix("    ") }.joined().contains("Connection refused"))
    }

    @Test("display width: emoji and CJK take two columns, combining marks none")
    func displayWidth() {
        #expect(DisplayText.width("abc") == 3)
        #expect(DisplayText.width("出力") == 4)
        #expect(DisplayText.width("🚀") == 2)
        #expect(DisplayText.width("e\u{301}") == 1)
        #expect(DisplayText.sanitize("a\nb\u{1B}c\u{202E}") == "a?b?c?")
        let cut = DisplayText.truncateMiddle("漢字漢字漢字漢字.png", to: 9)
        #expect(DisplayText.width(cut) <= 9 && cut.hasSuffix(".png") && cut.contains("…"))
    }

    private func stripANSI(_ s: String) -> String {
        var out = "", inEscape = false
        for c in s {
            if inEscape { if c.isLetter { inEscape = false }; continue }
            if c == "\u{1B}" { inEscape = true; continue }
            out.append(c)
        }
        return out
    }
}
