#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MediaSyncCore

/// The live progress view on stderr: `LiveScreen` decides the bytes, this writes them, reading the
/// terminal's width on every draw (so a resized window is followed) and the clock for the rate limit.
///
/// ```swift
/// let view = TerminalView.stderr()
/// view.update(snapshot: snap)      // any number of times; at most 10 redraws a second
/// view.jobFinished(result)
/// view.finish()
/// ```
final class TerminalView {
    private var screen: LiveScreen
    private let write: ([UInt8]) -> Void
    private let width: () -> Int
    private let now: () -> Double
    /// Every job of the cycle, from the snapshot and the events (an event carries only what changed).
    private var picture = ProgressPicture()

    init(isTTY: Bool, color: Bool, write: @escaping ([UInt8]) -> Void,
         width: @escaping () -> Int = { TerminalView.terminalWidth(fd: 2) },
         now: @escaping () -> Double = TerminalView.monotonicSeconds) {
        screen = LiveScreen(isTTY: isTTY, color: color)
        self.write = write
        self.width = width
        self.now = now
    }

    /// The view for this process's stderr: live when it is a terminal, colored unless NO_COLOR.
    static func stderr(environment: [String: String] = TerminalView.environment()) -> TerminalView {
        let tty = isatty(2) == 1
        return TerminalView(isTTY: tty, color: LiveScreen.colorWanted(environment: environment, isTTY: tty),
                            write: { bytes in TerminalView.writeAll(fd: 2, bytes) })
    }

    /// When a held-back redraw is due (monotonic seconds): arm a timer that calls `flush()`.
    var pendingDue: Double? { screen.pendingDue }

    /// Shows what the view shows of an event: progress, finished jobs, and warnings and errors.
    func show(_ body: EventBody) {
        switch body {
        case let .progress(cycle, event):
            picture.apply(cycle: cycle, event)
            update(snapshot: picture.snapshot)
        case let .jobFinished(cycle, result):
            // The live block stops drawing the job with its result line, as v1's forced progress did.
            guard picture.cycle == cycle else { jobFinished(result); return }
            picture.finished(result)
            emit(screen.jobFinished(result, width: width(), progress: picture.snapshot))
        case let .log(level, message, _, _) where level == "warning" || level == "error":
            log(level: level, message: message)
        default:
            break
        }
    }

    /// A full picture of `cycle` (attach's snapshot): what the events after it update.
    func replace(cycle: Int64, with full: ProgressSnapshot) {
        picture.replace(cycle: cycle, with: full)
        update(snapshot: picture.snapshot)
    }

    func update(snapshot: ProgressSnapshot) { emit(screen.update(snapshot, width: width(), at: now())) }
    func flush() { emit(screen.flush(width: width(), at: now())) }
    func jobFinished(_ result: JobFinished) { emit(screen.jobFinished(result, width: width())) }
    func log(level: String, message: String) { emit(screen.log(level: level, message: message, width: width())) }
    func finish() { emit(screen.finish(width: width())) }

    private func emit(_ bytes: [UInt8]) { if !bytes.isEmpty { write(bytes) } }

    /// Columns of the terminal on `fd` (TIOCGWINSZ), 80 when it cannot tell.
    static func terminalWidth(fd: Int32) -> Int {
        var size = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func environment() -> [String: String] {
        var env: [String: String] = [:]
        for key in ["NO_COLOR", "TERM"] { if let v = getenv(key) { env[key] = String(cString: v) } }
        return env
    }

    /// Writes everything, retrying on EINTR and short writes; a closed stderr is not worth dying for.
    /// False when the descriptor would not take it all (a reader that went away: EPIPE).
    @discardableResult
    static func writeAll(fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return false }
            }
            return true
        }
    }
}
