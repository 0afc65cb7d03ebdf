/// Turns progress and job results into the lines of the live view, fitted to the terminal's width.
///
/// Pure: the terminal writer (`TerminalView` in the CLI) decides when and where to draw them.
///
/// ```
/// forge/txt2img-images  copying  45.2%  12/120 files  10.1 MiB/150.2 MiB  12.3 MiB/s  ETA 1m05s  2026-…0012.png
/// total [#########-----------]  45.2%  12/120 files  10.1 MiB/150.2 MiB  12.3 MiB/s  ETA 1m05s
/// ✓ forge/txt2img-images  120 files  150.2 MiB in 12.3s
/// ✗ box/output  failed after 3 attempts: ssh: connect to host 10.0.0.1 port 22: Connection refused
/// ```
/// Every line is at most `width` columns (emoji and CJK count two); names are `DisplayText.sanitize`d.
/// Color codes appear only when `color` is on and are not counted in the width.
public struct LiveViewRenderer: Sendable {
    public var width: Int
    public var color: Bool

    public init(width: Int, color: Bool) {
        self.width = max(width, 1)
        self.color = color
    }

    /// The live block: one line per job that is under way, then the total line.
    public func liveLines(_ snapshot: ProgressSnapshot) -> [String] {
        var lines = snapshot.jobs.filter { !$0.state.isFinal && $0.state != .queued }.map(jobLine)
        let queued = snapshot.jobs.filter { $0.state == .queued }.count
        lines.append(totalLine(snapshot.overall, queued: queued))
        return lines
    }

    /// One running job: name, state, percent, files, bytes, rate, ETA and the file in flight.
    public func jobLine(_ job: ProgressSnapshot.Job) -> String {
        var segs: [Segment] = [
            Segment(DisplayText.sanitize(job.job), flex: true),
            Segment(Self.label(job.state, attempt: job.attempt), job.state == .waitingToRetry ? .yellow : nil, drop: 2),
            Segment(ViewFormat.percent(job.percent), .bold),
            Segment("\(job.filesDone)/\(job.filesTotal) files", drop: 3),
        ]
        if job.bytesTotal > 0 || job.bytesDone > 0 {
            segs.append(Segment(ViewFormat.bytes(job.bytesDone) + "/" + ViewFormat.bytes(job.bytesTotal), drop: 5))
        }
        if job.rateBps > 0 { segs.append(Segment(ViewFormat.rate(job.rateBps), drop: 4)) }
        segs.append(Segment("ETA " + ViewFormat.duration(job.etaS), drop: 1))
        // The file in flight keeps at least 16 columns: rate and bytes give way to it first.
        let hasCurrent = !(job.current ?? "").isEmpty
        var line = fit(segs, width: hasCurrent && width >= 60 ? width - 18 : width)
        // It takes what is left, cut in the middle; under 10 columns it says nothing.
        if let current = job.current, !current.isEmpty {
            let room = width - line.width - 2
            if room >= 10 {
                line.append(Segment(DisplayText.truncateMiddle(DisplayText.sanitize(current), to: room)))
            }
        }
        return line.render(color: color)
    }

    /// The whole cycle: a bar, percent, files, bytes, rate, ETA (and how many jobs wait for a slot).
    public func totalLine(_ overall: ProgressSnapshot.Overall, queued: Int = 0) -> String {
        var segs: [Segment] = [
            Segment("total", .bold),
            Segment(ViewFormat.percent(overall.percent), .bold),
            Segment("\(overall.filesDone)/\(overall.filesTotal) files", drop: 3),
            Segment(ViewFormat.bytes(overall.bytesDone) + "/" + ViewFormat.bytes(overall.bytesTotal), drop: 5),
        ]
        if overall.rateBps > 0 { segs.append(Segment(ViewFormat.rate(overall.rateBps), drop: 4)) }
        segs.append(Segment("ETA " + ViewFormat.duration(overall.etaS), drop: 2))
        if queued > 0 { segs.append(Segment("\(queued) queued", drop: 6)) }
        var line = fit(segs)
        let room = width - line.width - 2
        if room >= 7 {
            let inner = min(room, 32) - 2
            let filled = Int((max(0, min(overall.percent, 100)) / 100 * Double(inner)).rounded(.down))
            let bar = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: inner - filled) + "]"
            line.segments.insert(Segment(bar, .bold), at: 1)
        }
        return line.render(color: color)
    }

    /// A finished job, printed once above the live block; a failure's error wraps onto more lines.
    public func resultLines(_ f: JobFinished) -> [String] {
        let name = DisplayText.sanitize(f.job.job)
        switch f.state {
        case .done:
            var segments = [
                Segment(name, .bold, flex: true),
                Segment("\(f.files) \(f.files == 1 ? "file" : "files")", drop: 2),
                Segment(ViewFormat.bytes(f.bytes) + " in " + ViewFormat.elapsed(f.seconds), drop: 1),
            ]
            // Several streams are worth a word: they are why a far folder came fast.
            if f.streams > 1 { segments.append(Segment("\(f.streams) streams", drop: 3)) }
            let line = fit(segments, lead: Segment("✓", .green))
            return [line.render(color: color)]
        case .failed:
            let attempts = "failed after \(f.attempts) \(f.attempts == 1 ? "attempt" : "attempts")"
            let reason = f.error.map { attempts + ": " + DisplayText.sanitize($0) } ?? attempts
            let head = fit([Segment(name, .bold, flex: true, minWidth: 12)], lead: Segment("✗", .red))
            return wrapped(prefix: head, text: reason, style: .red, gap: "  ")
        }
    }

    /// A warning or error printed above the live block: `warning: …`, wrapped to the width.
    public func logLines(level: String, message: String) -> [String] {
        let style: Style? = level == "error" ? .red : level == "warning" ? .yellow : nil
        return wrapped(prefix: fit([Segment(DisplayText.sanitize(level) + ":", style)]),
                       text: DisplayText.sanitize(message), style: nil, gap: " ")
    }

    /// Plain results and the live block together (what a full redraw shows).
    public func render(snapshot: ProgressSnapshot?, results: [JobFinished]) -> [String] {
        results.flatMap(resultLines) + (snapshot.map(liveLines) ?? [])
    }

    static func label(_ state: JobState, attempt: Int) -> String {
        switch state {
        case .queued: "queued"
        case .listing: "listing"
        case .transferring: attempt > 1 ? "copying #\(attempt)" : "copying"
        case .purging: "purging"
        case .waitingToRetry: "retry wait"
        case .done: "done"
        case .failed: "failed"
        }
    }

    // MARK: fitting

    /// Text after `prefix` on the same line while it fits, the rest on indented lines below.
    private func wrapped(prefix: Line, text: String, style: Style?, gap: String) -> [String] {
        let firstRoom = width - prefix.width - gap.count
        let indent = width > 8 ? "    " : ""
        guard firstRoom >= 10 else {
            return [prefix.render(color: color)] + DisplayText.wrap(text, to: width - indent.count).map {
                indent + Segment($0, style).render(color: color)
            }
        }
        let firstPiece = DisplayText.wrap(text, to: firstRoom).first ?? ""
        let rest = String(text.dropFirst(firstPiece.count))
        var lines = [prefix.render(color: color) + gap + Segment(firstPiece, style).render(color: color)]
        if !rest.isEmpty {
            lines += DisplayText.wrap(rest, to: width - indent.count).map {
                indent + Segment($0, style).render(color: color)
            }
        }
        return lines
    }

    /// Drops the most droppable segments until the line fits, then cuts the flexible one in the middle.
    private func fit(_ segments: [Segment], lead: Segment? = nil, width: Int? = nil) -> Line {
        let width = width ?? self.width
        var line = Line(segments: segments, lead: lead)
        while line.width > width, let i = line.segments.indices.max(by: {
            line.segments[$0].drop < line.segments[$1].drop
        }), line.segments[i].drop > 0 {
            line.segments.remove(at: i)
        }
        if line.width > width, let i = line.segments.firstIndex(where: \.flex) {
            let others = line.width - DisplayText.width(line.segments[i].text)
            let room = max(width - others, min(line.segments[i].minWidth, width))
            line.segments[i].text = DisplayText.truncateMiddle(line.segments[i].text, to: room)
        }
        if line.width > width {
            // Too narrow for even the essentials: one plain, cut line.
            line = Line(segments: [Segment(DisplayText.truncateEnd(line.plain, to: width))])
        }
        return line
    }
}

/// An ANSI style of the live view.
enum Style: Sendable {
    case bold, green, red, yellow
    var code: String {
        switch self {
        case .bold: "\u{1B}[1m"
        case .green: "\u{1B}[32m"
        case .red: "\u{1B}[31m"
        case .yellow: "\u{1B}[33m"
        }
    }
}

/// A piece of a line: `drop` > 0 may be left out when narrow (highest first); `flex` may be cut.
struct Segment: Sendable {
    var text: String
    var style: Style?
    var drop: Int
    var flex: Bool
    var minWidth: Int

    init(_ text: String, _ style: Style? = nil, drop: Int = 0, flex: Bool = false, minWidth: Int = 8) {
        self.text = text
        self.style = style
        self.drop = drop
        self.flex = flex
        self.minWidth = minWidth
    }

    func render(color: Bool) -> String {
        guard color, let style else { return text }
        return style.code + text + "\u{1B}[0m"
    }
}

/// Segments joined by two spaces, after an optional mark (`✓`, `✗`) and one space.
struct Line: Sendable {
    var segments: [Segment]
    var lead: Segment?

    var width: Int {
        segments.reduce(0) { $0 + DisplayText.width($1.text) } + max(segments.count - 1, 0) * 2
            + (lead.map { DisplayText.width($0.text) + 1 } ?? 0)
    }
    var plain: String { (lead.map { $0.text + " " } ?? "") + segments.map(\.text).joined(separator: "  ") }
    mutating func append(_ s: Segment) { segments.append(s) }
    func render(color: Bool) -> String {
        (lead.map { $0.render(color: color) + " " } ?? "") + segments.map { $0.render(color: color) }.joined(separator: "  ")
    }
}
