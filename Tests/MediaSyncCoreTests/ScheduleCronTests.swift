import Foundation
import MediaSyncCore
import Testing

/// `purge.schedule`'s cron expressions: what they accept, what they refuse and why, and when they run, in UTC and
/// across Europe/Berlin's daylight saving changes (2026-03-29 02:00 -> 03:00, 2026-10-25 03:00 -> 02:00).
@Suite("Schedule: cron expressions and their next runs")
struct ScheduleCronTests {
    static let berlin = CronZone.named("Europe/Berlin")!

    /// Seconds since the epoch of a UTC time `yyyy-MM-dd HH:mm`.
    static func utc(_ text: String) -> Int64 {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return Int64(formatter.date(from: text)!.timeIntervalSince1970)
    }

    static func utcText(_ instant: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(instant)))
    }

    func runs(_ expression: String, after: String, count: Int, zone: CronZone = .utc) throws -> [String] {
        try CronExpression(parsing: expression).nextRuns(after: Self.utc(after), count: count, in: zone).map(Self.utcText)
    }

    // MARK: - Syntax

    @Test func stepsListsRangesAndNames() throws {
        #expect(try runs("0 */6 * * *", after: "2026-01-01 05:59", count: 4)
                == ["2026-01-01 06:00", "2026-01-01 12:00", "2026-01-01 18:00", "2026-01-02 00:00"])
        #expect(try runs("*/15 * * * *", after: "2026-01-01 10:07", count: 3)
                == ["2026-01-01 10:15", "2026-01-01 10:30", "2026-01-01 10:45"])
        #expect(try runs("5,35 8-9 * * *", after: "2026-01-01 00:00", count: 5)
                == ["2026-01-01 08:05", "2026-01-01 08:35", "2026-01-01 09:05", "2026-01-01 09:35", "2026-01-02 08:05"])
        #expect(try runs("10-40/15 * * * *", after: "2026-01-01 00:00", count: 3)
                == ["2026-01-01 00:10", "2026-01-01 00:25", "2026-01-01 00:40"])
        // 2026-01-02 is a Friday: Monday to Friday skips the weekend.
        #expect(try runs("0 3 * * mon-fri", after: "2026-01-02 04:00", count: 2) == ["2026-01-05 03:00", "2026-01-06 03:00"])
        #expect(try runs("0 3 * * 1-5", after: "2026-01-02 04:00", count: 1) == ["2026-01-05 03:00"])
        // Sunday is 0 and 7.
        #expect(try runs("0 0 * * 7", after: "2026-01-01 00:00", count: 1) == ["2026-01-04 00:00"])
        #expect(try runs("0 0 * * SUN", after: "2026-01-01 00:00", count: 1) == ["2026-01-04 00:00"])
        #expect(try runs("0 0 1 jul,Jan *", after: "2026-01-01 00:00", count: 2) == ["2026-07-01 00:00", "2027-01-01 00:00"])
        #expect(try runs("0 0 29 2 *", after: "2026-01-01 00:00", count: 1) == ["2028-02-29 00:00"])
        #expect(try runs("@daily", after: "2026-01-01 00:00", count: 1) == ["2026-01-02 00:00"])
        #expect(try runs("@hourly", after: "2026-01-01 00:30", count: 1) == ["2026-01-01 01:00"])
        #expect(try runs("@weekly", after: "2026-01-01 00:00", count: 1) == ["2026-01-04 00:00"])
        #expect(try runs("@monthly", after: "2026-01-01 00:00", count: 1) == ["2026-02-01 00:00"])
        #expect(try runs("@yearly", after: "2026-01-01 00:00", count: 1) == ["2027-01-01 00:00"])
    }

    /// Both day fields restricted: either matches (cron's rule). One of them `*`-led: both must.
    @Test func dayOfMonthAndWeekdayCombineLikeCron() throws {
        // The 1st of February 2026 is a Sunday; Mondays are the 2nd, 9th...
        #expect(try runs("0 0 1 * mon", after: "2026-01-31 12:00", count: 3)
                == ["2026-02-01 00:00", "2026-02-02 00:00", "2026-02-09 00:00"])
        #expect(try runs("0 0 */1 * mon", after: "2026-01-31 12:00", count: 2) == ["2026-02-02 00:00", "2026-02-09 00:00"])
        #expect(try runs("0 0 13 * *", after: "2026-01-31 12:00", count: 1) == ["2026-02-13 00:00"])
    }

    /// "The next run" is strictly after the instant, including a run due at that very second.
    @Test func theNextRunIsStrictlyLater() throws {
        #expect(try runs("0 3 * * *", after: "2026-01-01 03:00", count: 1) == ["2026-01-02 03:00"])
        let cron = try CronExpression(parsing: "* * * * *")
        #expect(cron.nextRun(after: Self.utc("2026-01-01 03:00") + 59, in: .utc) == Self.utc("2026-01-01 03:01"))
    }

    @Test(arguments: [
        ("0 3 * *", "has 4 fields"),
        ("0 3 * * * *", "has 6 fields"),
        ("60 * * * *", "the minute field `60` has 60, out of range"),
        ("0 24 * * *", "the hour field `24` has 24, out of range"),
        ("0 0 0 * *", "the day of month field `0` has 0, out of range"),
        ("0 0 * 13 *", "the month field `13` has 13, out of range"),
        ("0 0 * * 8", "the day of week field `8` has 8, out of range"),
        ("5-1 * * * *", "runs backwards"),
        ("*/0 * * * *", "the step `/0`"),
        ("*/x * * * *", "the step `/x`"),
        ("5/15 * * * *", "write the range the step runs over, e.g. `5-59/15`"),
        ("0 0 * * monday", "`monday`, which is not a number or a name"),
        ("a * * * *", "`a`, which is not a number"),
        ("1,,2 * * * *", "an empty list item"),
        ("0 0 30 2 *", "never runs: no selected month has day 30"),
        ("0 0 31 4,6 *", "never runs"),
        ("@reboot", "not a cron shorthand"),
    ])
    func badExpressionsSayWhatIsWrong(text: String, expected: String) {
        #expect(throws: CronExpression.Failure.self) { try CronExpression(parsing: text) }
        do {
            _ = try CronExpression(parsing: text)
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
        }
    }

    // MARK: - Daylight saving time (Europe/Berlin)

    /// Spring forward: 02:00-02:59 local does not exist on 2026-03-29. A daily 02:30 runs at 03:00 summer time that
    /// day (not skipped), every quarter hour runs once at 03:00 for the whole missing hour (not four times).
    @Test func springForwardNeitherSkipsNorDoubles() throws {
        let zone = Self.berlin
        // 02:30 CET = 01:30 UTC; 03:00 CEST = 01:00 UTC; 02:30 CEST = 00:30 UTC.
        #expect(try runs("30 2 * * *", after: "2026-03-27 12:00", count: 3, zone: zone)
                == ["2026-03-28 01:30", "2026-03-29 01:00", "2026-03-30 00:30"])
        #expect(try runs("*/15 * * * *", after: "2026-03-29 00:40", count: 3, zone: zone)
                == ["2026-03-29 00:45", "2026-03-29 01:00", "2026-03-29 01:15"])
        #expect(try runs("0 * * * *", after: "2026-03-28 23:30", count: 3, zone: zone)
                == ["2026-03-29 00:00", "2026-03-29 01:00", "2026-03-29 02:00"])
        // A time right after the jump is not run again for the skipped ones before it.
        #expect(try runs("0 2,3 * * *", after: "2026-03-29 00:30", count: 2, zone: zone)
                == ["2026-03-29 01:00", "2026-03-30 00:00"])
    }

    /// Fall back: 02:00-02:59 local happens twice on 2026-10-25 (first summer time, then winter time). Each local
    /// time runs once, the first time; the repeated hour runs nothing more.
    @Test func fallBackNeitherSkipsNorDoubles() throws {
        let zone = Self.berlin
        // 02:30 CEST = 00:30 UTC; on the 26th 02:30 CET = 01:30 UTC.
        #expect(try runs("30 2 * * *", after: "2026-10-24 12:00", count: 3, zone: zone)
                == ["2026-10-25 00:30", "2026-10-26 01:30", "2026-10-27 01:30"])
        // Hourly: 01:00 CEST, 02:00 CEST, then 03:00 CET (02:00 UTC); nothing at the second 02:00 (01:00 UTC).
        #expect(try runs("0 * * * *", after: "2026-10-24 22:30", count: 3, zone: zone)
                == ["2026-10-24 23:00", "2026-10-25 00:00", "2026-10-25 02:00"])
        // Looking from inside the repeated hour (02:10 CET = 01:10 UTC): the next is 03:00 CET.
        #expect(try runs("*/30 * * * *", after: "2026-10-25 01:10", count: 2, zone: zone)
                == ["2026-10-25 02:00", "2026-10-25 02:30"])
        // And from the first pass (02:10 CEST = 00:10 UTC) the rest of the first pass comes first.
        #expect(try runs("*/30 * * * *", after: "2026-10-25 00:10", count: 2, zone: zone)
                == ["2026-10-25 00:30", "2026-10-25 02:00"])
    }

    /// A local time comes out in the zone's own words, with its offset.
    @Test func describedInLocalTime() {
        #expect(Self.berlin.describe(Self.utc("2026-03-29 01:00")) == "2026-03-29 03:00 Sun (UTC+02:00)")
        #expect(Self.berlin.describe(Self.utc("2026-01-05 02:00")) == "2026-01-05 03:00 Mon (UTC+01:00)")
        #expect(CronZone.utc.describe(Self.utc("1969-12-31 23:59")) == "1969-12-31 23:59 Wed (UTC+00:00)")
    }

    @Test func schedulesParse() throws {
        #expect(try PurgeSchedule(parsing: "after_sync") == .afterSync)
        #expect(try PurgeSchedule(parsing: "manual") == .manual)
        #expect(try PurgeSchedule(parsing: "0 3 * * *").description == "0 3 * * *")
        #expect(try PurgeSchedule(parsing: "after_sync").purgesAfterSync)
        #expect(try !PurgeSchedule(parsing: "@daily").purgesAfterSync)
    }

    /// check-config's view: a bad expression is refused with its line and column and the fix; a good one is read.
    @Test func theConfigReadsTheScheduleAndRefusesABadOne() throws {
        let base = "library: /srv/media\nsources:\n  - {name: a, transport: local, root: /src, folders: [x]}\n"
        #expect(try parseConfig(base).purge.schedule == .afterSync)
        #expect(try parseConfig(base + "purge:\n  schedule: manual\n").purge.schedule == .manual)
        let cron = try parseConfig(base + "purge:\n  enabled: true\n  schedule: \"0 */6 * * *\"\n").purge.schedule
        #expect(cron == .cron(try CronExpression(parsing: "0 */6 * * *")))
        let issue = try #require(configIssue(base + "purge:\n  enabled: true\n  schedule: \"0 25 * * *\"\n",
                                             path: "purge.schedule"))
        #expect(issue.line == 6 && issue.column == 13, "\(issue)")
        #expect(issue.problem.contains("the hour field `25` has 25, out of range"), "\(issue)")
        #expect(issue.fix.contains("after_sync") && issue.fix.contains("manual"), "\(issue)")
        #expect(configIssue(base + "purge: {schedule: [1]}\n", path: "purge.schedule") != nil)
    }
}
