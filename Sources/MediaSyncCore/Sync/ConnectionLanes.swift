/// Which connection (lane) each rsync stream of one source rides, on transports with lanes (ssh): lane 0 is
/// the source's shared connection (listings, purges, small streams); a stream with a big share
/// (`StreamSplit.ownConnectionBytes`) gets a lane of its own, the lowest one no big stream holds, so that big
/// streams running side by side never share a window. Pure.
///
/// ```swift
/// var lanes = ConnectionLanes(hasLanes: true)
/// let a = lanes.claim(bytes: 60 << 20)   // lane 0, own: the shared connection had no big stream
/// let b = lanes.claim(bytes: 60 << 20)   // lane 1, own
/// let c = lanes.claim(bytes: 4 << 10)    // lane 0, riding: small shares need no window of their own
/// lanes.release(a)                       // lane 0 is free for the next big stream
/// ```
public struct ConnectionLanes: Sendable, Equatable {
    /// The connection one stream rides.
    public struct Lane: Sendable, Equatable {
        /// 0: the source's shared connection.
        public var number: Int
        /// True when the stream holds the lane alone (a big share); false when it rides lane 0 beside others.
        public var own: Bool
    }

    public let hasLanes: Bool
    /// The lanes big streams hold now.
    private var held: Set<Int> = []
    /// The most lanes held at once: what the next cycle opens ahead while it lists.
    public private(set) var mostAtOnce = 0

    public init(hasLanes: Bool) {
        self.hasLanes = hasLanes
    }

    /// The lane for a stream of `bytes` bytes.
    public mutating func claim(bytes: Int64) -> Lane {
        guard hasLanes, bytes >= StreamSplit.ownConnectionBytes else { return Lane(number: 0, own: false) }
        var number = 0
        while held.contains(number) { number += 1 }
        held.insert(number)
        mostAtOnce = max(mostAtOnce, held.count)
        return Lane(number: number, own: true)
    }

    /// The stream on `lane` ended.
    public mutating func release(_ lane: Lane) {
        if lane.own { held.remove(lane.number) }
    }
}
