/// The stall watchdog of one child: a child silent for `limit` seconds is stalled. Time is an input.
///
/// ```swift
/// var watchdog = StallWatchdog(limit: 300, startedAt: now)
/// watchdog.activity(at: now)                 // every record the child prints
/// if watchdog.isStalled(at: now) { stop() }  // on the tick
/// ```
public struct StallWatchdog: Equatable, Sendable {
    /// Seconds of silence that count as a stall (`stall_timeout`).
    public let limit: Double
    /// When the child last showed progress (or started).
    public private(set) var lastActivity: Double

    public init(limit: Double, startedAt: Double) {
        self.limit = limit
        self.lastActivity = startedAt
    }

    public init(limit: Duration, startedAt: Double) {
        self.init(limit: Double(limit.components.seconds) + Double(limit.components.attoseconds) / 1e18,
                  startedAt: startedAt)
    }

    public mutating func activity(at now: Double) {
        lastActivity = now
    }

    /// The moment the child counts as stalled if it shows nothing before.
    public var deadline: Double { lastActivity + limit }

    /// True from exactly `limit` seconds of silence on. Times are the loop's milliseconds in seconds; a
    /// nanosecond of slack absorbs the rounding of their difference (3.3 - 0.3 is 2.9999999999999996).
    public func isStalled(at now: Double) -> Bool {
        now - lastActivity >= limit - 1e-9
    }
}
