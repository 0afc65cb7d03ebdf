import Foundation

/// A 5-field cron expression (`minute hour day-of-month month day-of-week`), as crontab(5) writes them, and the
/// times it names in a time zone. Pure: the zone comes in as a `CronZone`.
///
/// Fields take `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, and lists of those joined by `,`. Months
/// and weekdays also take their English three-letter names (`jan`, `mon-fri`); day of week 0 and 7 are Sunday.
/// `@hourly`, `@daily` (`@midnight`), `@weekly`, `@monthly` and `@yearly` (`@annually`) stand for their usual
/// expressions. As in cron, when both day fields are restricted (neither starts with `*`) a day matches when
/// either does: `0 3 1 * mon` is 03:00 on the 1st and on every Monday.
///
/// Daylight saving time: every matching local time runs exactly once. A local time the clock skips (spring
/// forward, 02:30 in Europe/Berlin on the last Sunday of March) runs at the first moment after the jump (03:00
/// summer time), together with anything else due then; a local time the clock passes twice (fall back) runs the
/// first time only. This is what cronie does for jobs at fixed times, applied to every expression.
///
/// ```swift
/// let cron = try CronExpression(parsing: "0 */6 * * *")
/// let zone = CronZone.named("Europe/Berlin")!
/// cron.nextRun(after: now, in: zone)            // seconds since the epoch
/// ```
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    /// The expression as written.
    public let text: String
    /// Bit n set: minute n (0-59), hour n (0-23), day n (1-31), month n (1-12), weekday n (0-6, Sunday 0).
    let minutes: UInt64
    let hours: UInt64
    let days: UInt64
    let months: UInt64
    let weekdays: UInt64
    /// Whether the day-of-month / day-of-week field starts with `*` (cron's rule for combining the two).
    let daysStar: Bool
    let weekdaysStar: Bool

    public var description: String { text }

    /// Why an expression was refused: one sentence that names the field and how to fix it.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public let description: String
    }

    static let macros = ["@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
                         "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *",
                         "@annually": "0 0 1 1 *"]
    static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    static let weekdayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    public init(parsing text: String) throws(Failure) {
        self.text = text
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var expression = trimmed
        if trimmed.hasPrefix("@") {
            guard let expanded = Self.macros[trimmed.lowercased()] else {
                throw Failure(description: "`\(trimmed)` is not a cron shorthand; the known ones are "
                              + "@hourly, @daily, @weekly, @monthly, @yearly")
            }
            expression = expanded
        }
        let fields = expression.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw Failure(description: "`\(trimmed)` has \(fields.count) field\(fields.count == 1 ? "" : "s"); a cron "
                          + "expression has 5: minute hour day-of-month month day-of-week, e.g. `0 3 * * *` (03:00 every day)")
        }
        minutes = try Self.field(fields[0], name: "minute", range: 0...59, names: [])
        hours = try Self.field(fields[1], name: "hour", range: 0...23, names: [])
        days = try Self.field(fields[2], name: "day of month", range: 1...31, names: [])
        months = try Self.field(fields[3], name: "month", range: 1...12, names: Self.monthNames, firstName: 1)
        var weekdays = try Self.field(fields[4], name: "day of week", range: 0...7, names: Self.weekdayNames)
        if weekdays & (1 << 7) != 0 { weekdays = (weekdays | 1) & ~(1 << 7) }
        self.weekdays = weekdays
        daysStar = fields[2].hasPrefix("*")
        weekdaysStar = fields[4].hasPrefix("*")
        // A day of month no selected month has (`0 0 30 2 *`) would never run: say so now, not never.
        if weekdaysStar {
            let selectedMonths = (1...12).filter { (months >> UInt64($0)) & 1 != 0 }
            let longest: Int = selectedMonths.map { Self.daysIn(month: $0, leap: true) }.max() ?? 0
            let firstDay: Int = (1...31).first { (days >> UInt64($0)) & 1 != 0 } ?? 32
            if firstDay > longest {
                throw Failure(description: "`\(trimmed)` never runs: no selected month has day \(firstDay)")
            }
        }
    }

    // MARK: - Parsing one field

    private static func field(_ text: String, name: String, range: ClosedRange<Int>, names: [String],
                              firstName: Int = 0) throws(Failure) -> UInt64 {
        var bits: UInt64 = 0
        let example = name == "minute" ? "`*/15` or `0,30`" : name == "hour" ? "`3` or `*/6` or `8-18`"
            : name == "month" ? "`1-6` or `jan,jul`" : name == "day of week" ? "`1-5` or `mon-fri`" : "`1` or `1,15`"
        func bad(_ problem: String) -> Failure {
            Failure(description: "the \(name) field `\(text)` \(problem); it takes \(range.lowerBound)-\(range.upperBound)"
                    + (names.isEmpty ? "" : " or names (\(names.first!)...\(names.last!))") + ", e.g. \(example)")
        }
        func value(_ part: Substring) throws(Failure) -> Int {
            if let number = Int(part) {
                guard range.contains(number) else { throw bad("has \(number), out of range") }
                return number
            }
            if let index = names.firstIndex(of: part.lowercased()) { return index + firstName }
            throw bad("has `\(part)`, which is not a number" + (names.isEmpty ? "" : " or a name"))
        }
        guard !text.isEmpty else { throw bad("is empty") }
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw bad("has an empty list item") }
            let stepParts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard stepParts.count <= 2 else { throw bad("has more than one `/`") }
            var step = 1
            if stepParts.count == 2 {
                guard let number = Int(stepParts[1]), number >= 1 else {
                    throw bad("has the step `/\(stepParts[1])`; a step is a whole number of at least 1")
                }
                step = number
            }
            let base = stepParts[0]
            var low: Int
            var high: Int
            if base == "*" {
                low = range.lowerBound
                high = range.upperBound
            } else if let dash = base.firstIndex(of: "-") {
                low = try value(base[..<dash])
                high = try value(base[base.index(after: dash)...])
                guard low <= high else { throw bad("has the range \(base), which runs backwards") }
            } else {
                low = try value(base)
                high = low
                // `5/15` is read by some crons as `5-59/15`; say what is meant instead of guessing.
                if stepParts.count == 2 {
                    throw bad("has `\(item)`; write the range the step runs over, e.g. `\(base)-\(range.upperBound)/\(step)`")
                }
            }
            var n = low
            while n <= high {
                bits |= 1 << UInt64(n)
                n += step
            }
        }
        return bits
    }

    // MARK: - Matching

    static func daysIn(month: Int, leap: Bool) -> Int {
        switch month {
        case 2: leap ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    func matches(day: CivilDay) -> Bool {
        guard months & (1 << UInt64(day.month)) != 0 else { return false }
        let dayHit = days & (1 << UInt64(day.day)) != 0
        let weekdayHit = weekdays & (1 << UInt64(day.weekday)) != 0
        if daysStar || weekdaysStar { return dayHit && weekdayHit }
        return dayHit || weekdayHit
    }

    // MARK: - The next runs

    /// The first run strictly after `instant` (seconds since the epoch), in `zone`; nil when none comes within
    /// 28 years (the calendar's weekday cycle: an expression that matches at all matches within it).
    public func nextRun(after instant: Int64, in zone: CronZone) -> Int64? {
        let startLocal = instant + Int64(zone.offset(instant))
        let firstDay = CivilDay.floorDiv(startLocal, 86_400)
        let startMinuteOfDay = Int((startLocal - firstDay * 86_400) / 60)
        let hourList = (0..<24).filter { hours & (1 << UInt64($0)) != 0 }
        let minuteList = (0..<60).filter { minutes & (1 << UInt64($0)) != 0 }
        for dayNumber in firstDay..<(firstDay + 366 * 28) {
            let day = CivilDay(daysSinceEpoch: dayNumber)
            guard matches(day: day) else { continue }
            for hour in hourList {
                for minute in minuteList {
                    let minuteOfDay = hour * 60 + minute
                    // Candidates are walked in local order; one at or before `instant` already ran (or was
                    // passed): in a repeated hour its first occurrence lies in the past.
                    if dayNumber == firstDay && minuteOfDay < startMinuteOfDay { continue }
                    let local = dayNumber * 86_400 + Int64(minuteOfDay) * 60
                    let run = zone.instant(ofLocal: local)
                    if run > instant { return run }
                }
            }
        }
        return nil
    }

    /// The next `count` runs after `instant`.
    public func nextRuns(after instant: Int64, count: Int, in zone: CronZone) -> [Int64] {
        var runs: [Int64] = []
        var from = instant
        while runs.count < count, let run = nextRun(after: from, in: zone) {
            runs.append(run)
            from = run
        }
        return runs
    }
}

/// A time zone as cron needs it: the offset from UTC at an instant, and the instant of a local wall-clock time.
public struct CronZone: Sendable {
    /// Seconds east of UTC in force at the instant (seconds since the epoch).
    public let offset: @Sendable (Int64) -> Int
    /// Its name, for messages (`Europe/Berlin`).
    public let name: String

    public init(name: String, offset: @escaping @Sendable (Int64) -> Int) {
        self.name = name
        self.offset = offset
    }

    /// A zone of the tz database (`Europe/Berlin`); nil when the name is unknown.
    public static func named(_ identifier: String) -> CronZone? {
        guard let zone = TimeZone(identifier: identifier) else { return nil }
        return CronZone(name: identifier) { zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval($0))) }
    }

    /// This process's local zone (`TZ`, else /etc/localtime), as `cron` and systemd timers use.
    public static var local: CronZone {
        let zone = TimeZone.current
        return CronZone(name: zone.identifier) { zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval($0))) }
    }

    /// UTC.
    public static let utc = CronZone(name: "UTC") { _ in 0 }

    /// The instant a local wall-clock time (seconds since the epoch as if local were UTC) happens: the first
    /// one when the clock passes it twice, and the end of the jump when the clock skips it.
    public func instant(ofLocal local: Int64) -> Int64 {
        // Offsets in force a day either side cover any transition near `local`.
        let offsets = Set([offset(local - 86_400), offset(local), offset(local + 86_400)])
        let valid = offsets.map { local - Int64($0) }.filter { Int64(offset($0)) == local - $0 }
        if let first = valid.min() { return first }
        // A gap: before the jump the clock read less than `local`, after it more. The jump is between the
        // instant `local` would be with the later (larger) offset and with the earlier one.
        var low = local - Int64(offsets.max()!)
        var high = local - Int64(offsets.min()!)
        let before = offset(low)
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if offset(middle) == before { low = middle } else { high = middle }
        }
        return high
    }

    /// `2026-03-29 03:00 CEST`-like text of an instant in this zone, for people.
    public func describe(_ instant: Int64) -> String {
        let local = instant + Int64(offset(instant))
        let day = CivilDay(daysSinceEpoch: CivilDay.floorDiv(local, 86_400))
        let seconds = Int(local - CivilDay.floorDiv(local, 86_400) * 86_400)
        let zoneOffset = offset(instant)
        let sign = zoneOffset < 0 ? "-" : "+"
        let magnitude = abs(zoneOffset)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(day.year)-\(two(day.month))-\(two(day.day)) \(two(seconds / 3600)):\(two(seconds % 3600 / 60)) "
            + "\(CronExpression.weekdayNames[day.weekday].capitalized) (UTC\(sign)\(two(magnitude / 3600)):\(two(magnitude % 3600 / 60)))"
    }
}

/// A day of the proleptic Gregorian calendar, from days since 1970-01-01.
struct CivilDay: Sendable, Equatable {
    var year: Int
    var month: Int
    var day: Int
    /// 0 = Sunday.
    var weekday: Int

    /// Howard Hinnant's `civil_from_days`.
    init(daysSinceEpoch days: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        year = Int(yoe + era * 400 + (m <= 2 ? 1 : 0))
        month = Int(m)
        day = Int(d)
        // 1970-01-01 was a Thursday.
        weekday = Int(((days % 7) + 11) % 7)
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }
}
