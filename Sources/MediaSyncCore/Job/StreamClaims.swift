/// The cycle's answer to jobs that claim several rsync streams (`JobAction.claimStreams`): how many of the free
/// slots of `concurrency` each gets. Pure, on the caller's clock.
///
/// Given first come, first served, the first job of a source to plan took the slots while the source's other
/// folders were still listing: four equal folders on a far link ran 3, 3, 1 and 1 streams, and the last two
/// ran alone for a third of the cycle; and one busy folder beside three empty ones ran 5 of 8, the empty ones'
/// slots freed a moment later unused. So a claim made while other jobs are listing waits for their listings,
/// at most `holdLimit` (on a far link they ended 0.5-0.65 s after the first job's plan: they start only once
/// the first listing opened the shared connection, and the streams' logins load the CPU meanwhile; a limit of
/// 0.5 s let them miss it), and then every waiting
/// claim is answered at once: the free slots go one at a time to the claim with the most bytes per stream
/// (the D'Hondt rule), each claim at least one (its job's own slot) and at most its cap.
///
/// ```swift
/// var claims = StreamClaims()
/// claims.claim(job: 0, cap: 8, bytes: 60_000_000, at: now)
/// for grant in claims.settle(at: now, othersListing: false, free: 7) { reply(grant.job, grant.count) }
/// ```
public struct StreamClaims: Sendable {
    public struct Claim: Sendable, Equatable {
        public var job: Int
        /// The most streams it may run: what it asked for, within what the link calls for.
        public var cap: Int
        public var bytes: Int64
        public var at: Double
    }

    /// The longest a claim waits for other jobs' listings, in seconds.
    public static let holdLimit = 1.0

    public private(set) var pending: [Claim] = []

    public init() {}

    public mutating func claim(job: Int, cap: Int, bytes: Int64, at now: Double) {
        drop(job: job)
        pending.append(Claim(job: job, cap: max(1, cap), bytes: max(0, bytes), at: now))
    }

    /// The job ended (or was stopped) before its answer.
    public mutating func drop(job: Int) {
        pending.removeAll { $0.job == job }
    }

    /// When a waiting claim stops waiting for listings, or nil when none waits.
    public var holdEnds: Double? { pending.map(\.at).min().map { $0 + Self.holdLimit } }

    /// The answers due now, in the order the claims came: none while `othersListing` and the oldest claim is
    /// younger than `holdLimit`; else every waiting claim's count. `free`: the slots of `concurrency` not held by
    /// anyone (each claiming job holds its own one already) and not wanted by a job waiting to start.
    public mutating func settle(at now: Double, othersListing: Bool, free: Int) -> [(job: Int, count: Int)] {
        guard let ends = holdEnds, !othersListing || now >= ends else { return [] }
        let counts = Self.split(caps: pending.map(\.cap), bytes: pending.map(\.bytes), free: free)
        let answers = zip(pending, counts).map { (job: $0.job, count: $1) }
        pending = []
        return answers
    }

    /// Streams for each claim: one each, then each of the `free` slots to the claim with the most bytes per stream
    /// that is below its cap (ties to the earlier claim).
    public static func split(caps: [Int], bytes: [Int64], free: Int) -> [Int] {
        var counts = caps.map { _ in 1 }
        var left = max(0, free)
        while left > 0 {
            var best: Int?
            for index in counts.indices where counts[index] < caps[index] {
                // bytes[i] / counts[i] > bytes[best] / counts[best], without division.
                if let b = best, bytes[index].multipliedFullWidth(by: Int64(counts[b])) <= bytes[b].multipliedFullWidth(by: Int64(counts[index])) {
                    continue
                }
                best = index
            }
            guard let index = best else { break }
            counts[index] += 1
            left -= 1
        }
        return counts
    }
}
