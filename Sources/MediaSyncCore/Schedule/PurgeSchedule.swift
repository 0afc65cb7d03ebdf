import Foundation

/// When `serve` purges (`purge.schedule`): right after each folder's sync, on a cron schedule of its own, or only
/// when asked (`mediasync trigger --purge`, `mediasync purge`).
public enum PurgeSchedule: Sendable, Hashable, CustomStringConvertible {
    /// Each folder is purged in its job's slot right after it synced completely (the behaviour before schedules).
    case afterSync
    /// A purge cycle of its own at the expression's times, in the local time zone; syncs do not purge.
    case cron(CronExpression)
    /// Only `mediasync trigger --purge` or `mediasync purge`; syncs do not purge.
    case manual

    /// How the config writes it.
    public var description: String {
        switch self {
        case .afterSync: "after_sync"
        case .manual: "manual"
        case let .cron(expression): expression.text
        }
    }

    /// Whether a folder's sync purges it right away.
    public var purgesAfterSync: Bool { self == .afterSync }

    /// Reads the config's text: `after_sync`, `manual`, or a cron expression.
    public init(parsing text: String) throws(CronExpression.Failure) {
        switch text.trimmingCharacters(in: .whitespaces) {
        case "after_sync": self = .afterSync
        case "manual": self = .manual
        default: self = .cron(try CronExpression(parsing: text))
        }
    }
}
