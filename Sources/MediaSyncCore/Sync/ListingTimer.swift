/// What one listing tells of its link, timed as its output arrives. Pure: bytes and times in, the moment to
/// hand the listing its input out.
///
/// - **setup**: from the listing's start to its first byte. For a source's first listing of a cycle that is
///   the ssh login; a first listing that has not answered for `StreamSplit.farLinkSetupSeconds` is probably
///   far (`isSlow`).
/// - **round trip** (only when the input is held, on ssh): the list script prints its start marker, then reads
///   its input; the input is handed over when the marker arrives, and the answer (the source's clock) comes
///   back one round trip later. A shell that prints no marker gets its input after `heldInputLimit`, or once
///   64 KiB came without one, and no round trip is measured.
///
/// ```swift
/// var timer = ListingTimer(startedAt: 0, input: bytes, holdInput: true)
/// timer.printed(Array("mediasync-listing-begin\n".utf8), at: 1.1)   // -> bytes: hand them over now
/// timer.printed(Array("1800000000\n".utf8), at: 1.2)                 // -> nil; roundTrip == 0.1
/// ```
public struct ListingTimer: Sendable {
    public static let heldInputLimit = 5.0
    static let markerLimit = 65_536

    public let startedAt: Double
    public private(set) var setup: Double?
    public private(set) var roundTrip: Double?
    private var held: [UInt8]?
    private var seen: [UInt8] = []
    private var handedAt: Double?
    private static let marker = Array((RemoteListingParser.startMarker + "\n").utf8)

    /// `holdInput` false: the input goes with the start (`input(atStart:)`), and only the setup is timed.
    public init(startedAt: Double, input: [UInt8], holdInput: Bool) {
        self.startedAt = startedAt
        held = holdInput ? input : nil
        initialInput = holdInput ? nil : input
    }

    /// The input to hand over when the child starts: all of it, unless it is held.
    public let initialInput: [UInt8]?

    /// The listing has run this long without a byte: probably on a far link.
    public func isSlow(at now: Double) -> Bool {
        setup == nil && now - startedAt >= StreamSplit.farLinkSetupSeconds
    }

    /// The listing printed `bytes`; returns the held input when it is to be handed over now.
    public mutating func printed<Bytes: Collection<UInt8>>(_ bytes: Bytes, at now: Double) -> [UInt8]? {
        if setup == nil { setup = now - startedAt }
        if let handedAt {
            roundTrip = now - handedAt
            self.handedAt = nil
        }
        guard held != nil else { return nil }
        seen += bytes.prefix(max(0, Self.markerLimit - seen.count))
        let found = Self.contains(seen, Self.marker)
        guard found || seen.count >= Self.markerLimit else { return nil }
        if found { handedAt = now }
        return release()
    }

    /// The time passed: the held input, when it has waited `heldInputLimit` (no round trip then).
    public mutating func tick(at now: Double) -> [UInt8]? {
        guard held != nil, now - startedAt >= Self.heldInputLimit else { return nil }
        return release()
    }

    private mutating func release() -> [UInt8]? {
        defer { held = nil; seen = [] }
        return held
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }
}
