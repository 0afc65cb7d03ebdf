/// The bytes the live view writes to stderr, decided without any I/O: redraws of the live block in
/// place (at most `maxPerSecond`), results and warnings printed once above it, and on a stream that
/// is not a terminal one plain line per finished job and no ANSI at all.
///
/// ```swift
/// var screen = LiveScreen(isTTY: true, color: true)
/// write(screen.update(snapshot, width: 80, at: now))   // may be empty: throttled, kept pending
/// write(screen.flush(width: 80, at: now))              // draws what is pending once its time came
/// write(screen.jobFinished(result, width: 80))
/// write(screen.finish(width: 80))                      // final lines stay, cursor shown again
/// ```
public struct LiveScreen: Sendable {
    public let isTTY: Bool
    public let color: Bool
    private var throttle: ProgressThrottle
    private var snapshot: ProgressSnapshot?
    private var drawnLines = 0
    private var cursorHidden = false
    private var finished = false

    public init(isTTY: Bool, color: Bool, maxPerSecond: Int = 10) {
        self.isTTY = isTTY
        self.color = isTTY && color
        throttle = ProgressThrottle(maxPerSecond: maxPerSecond)
    }

    /// True when `NO_COLOR` is unset or empty and `TERM` is not `dumb` (https://no-color.org).
    public static func colorWanted(environment: [String: String], isTTY: Bool) -> Bool {
        isTTY && (environment["NO_COLOR"] ?? "").isEmpty && environment["TERM"] != "dumb"
    }

    /// When a held-back redraw may go out (arm a timer for it); nil when none is pending.
    public var pendingDue: Double? { isTTY && !finished ? throttle.pendingDue : nil }

    /// New progress: redraws now if the rate limit allows, else keeps it for `flush`.
    public mutating func update(_ snapshot: ProgressSnapshot, width: Int, at now: Double) -> [UInt8] {
        guard isTTY, !finished else { return [] }
        self.snapshot = snapshot
        return throttle.offer(at: now) ? redraw(above: [], width: width) : []
    }

    /// Draws the pending progress if there is one and its time has come.
    public mutating func flush(width: Int, at now: Double) -> [UInt8] {
        guard isTTY, !finished, throttle.flush(at: now) else { return [] }
        return redraw(above: [], width: width)
    }

    /// A job ended: its result line goes above the live block for good (or, not on a TTY, alone). `progress`,
    /// when given, is the picture to draw below it (the job no longer running).
    public mutating func jobFinished(_ result: JobFinished, width: Int, progress: ProgressSnapshot? = nil) -> [UInt8] {
        if let progress, isTTY, !finished { snapshot = progress }
        let lines = LiveViewRenderer(width: isTTY ? width : Int.max / 4, color: color).resultLines(result)
        guard isTTY, !finished else { return Self.plain(lines) }
        return redraw(above: lines, width: width)
    }

    /// A warning or error line above the live block.
    public mutating func log(level: String, message: String, width: Int) -> [UInt8] {
        let lines = LiveViewRenderer(width: isTTY ? width : Int.max / 4, color: color)
            .logLines(level: level, message: message)
        guard isTTY, !finished else { return Self.plain(lines) }
        return redraw(above: lines, width: width)
    }

    /// The last frame: the final live block stays on screen and the cursor is shown again.
    public mutating func finish(width: Int) -> [UInt8] {
        guard isTTY, !finished else { return [] }
        var out = redraw(above: [], width: width)
        finished = true
        if cursorHidden { out += Array("\u{1B}[?25h".utf8); cursorHidden = false }
        return out
    }

    private mutating func redraw(above: [String], width: Int) -> [UInt8] {
        let renderer = LiveViewRenderer(width: width, color: color)
        var out = ""
        if !cursorHidden { out += "\u{1B}[?25l"; cursorHidden = true }
        // Back to the first line of the previous block; each line is cleared as it is rewritten and
        // whatever the old block had below the new one is cleared at the end.
        if drawnLines > 0 { out += "\r\u{1B}[\(drawnLines)A" }
        let live = snapshot.map(renderer.liveLines) ?? []
        for line in above + live { out += "\r" + line + "\u{1B}[K\n" }
        out += "\u{1B}[J"
        drawnLines = live.count
        return Array(out.utf8)
    }

    private static func plain(_ lines: [String]) -> [UInt8] {
        Array(lines.map { $0 + "\n" }.joined().utf8)
    }
}
