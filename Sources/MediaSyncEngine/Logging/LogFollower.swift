import Foundation

/// Reads the kept log as it grows, for `mediasync logs --follow`: first the recent entries, then each new one
/// that matches, once, in the order written.
///
/// It keeps the id of the newest entry it has read (ids only grow, even across trims) and asks for what lies
/// above it. Each call is one short read transaction, over before the call returns, so a follower never holds
/// back the writer's checkpoints however long it runs.
///
/// ```swift
/// let follower = LogFollower(store: try LogStore(path: path, readOnly: true), query: query, recent: 10)
/// show(try follower.start())
/// while !stopped { show(try follower.next()); sleep(LogFollower.pollInterval) }
/// ```
public final class LogFollower {
    /// How often `mediasync logs --follow` asks for new entries.
    ///
    /// Polling, not inotify on the WAL: the writer commits at most every `LogSink.interval` (0.25 s), so a poll
    /// as often adds at most as much again, well inside the 1 s a person expects; a poll is one primary-key
    /// range read that costs microseconds when nothing is new. inotify would wake on every page the writer and
    /// its checkpoints touch, and would have to follow the `-wal` file as SQLite creates, truncates and deletes
    /// it (and the database before it exists), for a gain no one watching could see.
    public static let pollInterval: TimeInterval = 0.25

    public let store: LogStore
    /// The filters for the recent entries, `limit` included.
    public let query: LogQuery
    /// The filters for new entries: the same without `limit` and `sinceMs`; new entries are recent by
    /// definition, and a clock stepped back must not hide them.
    public let followQuery: LogQuery
    /// The id of the newest entry read so far; new entries are those above it.
    public private(set) var position: Int64 = 0

    public init(store: LogStore, query: LogQuery) {
        self.store = store
        self.query = query
        var follow = query
        follow.limit = nil
        follow.sinceMs = nil
        followQuery = follow
    }

    /// The entries `mediasync logs` would show for `query` (none when its limit is 0), and the place to go on
    /// from: everything written after them.
    public func start() throws -> [LogEntry] {
        let recent = try store.recent(query)
        position = recent.newestId
        return recent.entries
    }

    /// The matching entries written since the last call, oldest first, at most `max` (call again at once when
    /// it returns that many: more are waiting).
    public func next(max: Int = 1000) throws -> [LogEntry] {
        let read = try store.entries(after: position, matching: followQuery, max: max)
        position = read.readThrough
        return read.entries
    }
}
