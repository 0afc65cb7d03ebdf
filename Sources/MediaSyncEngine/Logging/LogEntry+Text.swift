import Foundation
import Logging
import MediaSyncCore

extension LogEntry {
    /// The level's name as `mediasync logs` takes and prints it: `trace` ... `critical`.
    public var levelName: String { level.rawValue }

    /// The level names `--level` accepts, least severe first.
    public static let levelNames = Logger.Level.allCases.map(\.rawValue)

    /// One line for a person: local time, level, cycle, job, message.
    ///
    /// `2026-11-26 12:39:37.123  error    cycle 12  gpu1/outputs  rsync exited 12 ...`
    public func readableLine() -> String {
        var parts = [Self.localTime(milliseconds: timeMs), level.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)]
        if let cycle { parts.append("cycle \(cycle)") }
        if let job { parts.append(job) }
        parts.append(message)
        return parts.joined(separator: "  ")
    }

    /// `YYYY-MM-DD HH:MM:SS.mmm` in this machine's time zone (TZ), like journalctl shows.
    public static func localTime(milliseconds ms: Int64) -> String {
        var seconds = time_t(ms >= 0 ? ms / 1000 : (ms - 999) / 1000)
        var parts = tm()
        localtime_r(&seconds, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        let milli = Int32(((ms % 1000) + 1000) % 1000)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2)) "
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(milli, 3))"
    }
}

extension LogQuery {
    /// Builds a query from what a person typed; throws a message naming the bad value and the fix.
    ///
    /// - Parameters:
    ///   - level: a level name; entries at that level and more severe match.
    ///   - since: a duration in the config's syntax (`90s`, `2h`, `1d`), counted back from `nowMs`.
    public init(cycle: Int64?, source: String?, level: String?, since: String?, limit: Int?, nowMs: Int64) throws(LogQueryError) {
        self.init(cycle: cycle, source: source, limit: limit)
        if let level {
            guard let parsed = Logger.Level(userText: level) else {
                throw LogQueryError(message: "--level `\(level)` is not a level; use one of \(LogEntry.levelNames.joined(separator: ", "))")
            }
            minimumLevel = parsed
        }
        if let since {
            guard let duration = DurationSyntax.parse(since) else {
                throw LogQueryError(message: "--since `\(since)` is not a duration; \(DurationSyntax.hint)")
            }
            let ms = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
            sinceMs = nowMs - ms
        }
        if let limit, limit < 1 {
            throw LogQueryError(message: "--lines \(limit): give a number of 1 or more (0 only with --follow, for new entries only)")
        }
    }
}

/// A filter for `mediasync logs` that cannot be understood; the message says which and how to fix it.
public struct LogQueryError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
