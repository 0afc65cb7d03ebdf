/// How many rsync streams one folder may run at once: the source's `streams:` setting.
public enum StreamCount: Sendable, Hashable, CustomStringConvertible {
    /// Several streams where the transport gains from them (ssh: each stream its own connection, so its own
    /// TCP and ssh windows) and the plan is big enough; one elsewhere.
    case auto
    /// Exactly this many, at most (a plan with fewer files runs fewer).
    case fixed(Int)

    /// The most `streams:` accepts.
    public static let maximum = 16

    public var description: String {
        switch self {
        case .auto: "auto"
        case let .fixed(count): String(count)
        }
    }
}

/// The split of a job's planned files into rsync streams: how many, and which files each takes. Pure.
///
/// The count: `streams: N` asks for N; `auto` on a transport whose streams gain from their own connections
/// (ssh) asks for one stream per `autoBytesPerStream` of the plan, at most `autoMaximum`; `auto` elsewhere
/// is one stream (a local or docker copy is bound by the disks and the CPU, not by a window). Never more
/// streams than files, and the cycle may grant fewer (`concurrency` counts rsync children).
///
/// The shares: balanced by bytes, big files first (each file, largest first, goes to the share with the
/// fewest bytes so far; equal sizes by name), so that the streams end close together.
///
/// ```swift
/// let count = StreamSplit.wanted(.auto, multiConnection: true, files: 160, bytes: 240_000_000)  // 8
/// let shares = StreamSplit.shares(sizes: [9, 5, 4, 3, 3], count: 2)  // [[0, 4], [1, 2, 3]]: 12 and 12 bytes
/// ```
public enum StreamSplit {
    /// `auto`'s most streams per job. On the far link of docs/benchmarks.md ("Far link": 50 ms each way,
    /// a 4 MiB window) one stream moves 18 MB/s (ssh's 2 MiB channel window per round trip); four streams
    /// took the 240 MB folder from 13.5 s to 5.6 s, eight to 4.9 s (the best hand split, eight rsyncs, 5.1 s).
    public static let autoMaximum = 8
    /// `auto` starts one stream per this many planned bytes: below it, a second stream's own connection and
    /// remote rsync cost more than its share of the transfer saves.
    public static let autoBytesPerStream: Int64 = 16 << 20
    /// A stream whose share is at least this big gets its own connection (ssh); smaller shares ride the
    /// source's first, shared connection, where a handful of small files need no window of their own.
    public static let ownConnectionBytes: Int64 = 8 << 20
    /// A source's first listing of the cycle that has not answered for this long (its login: about eight
    /// round trips plus the key exchange's CPU) is probably on a far link: its big streams' connections are
    /// opened then, while it lists (1.1 s with 50 ms each way here, 0.1-0.35 s with 5 ms).
    public static let farLinkSetupSeconds = 0.5
    /// `streams: N` opens its N connections at once, while the listing logs in, when the link probe's round
    /// trip (`LinkProbeExchange`) is at least this (two of `auto`'s streams' worth); below it the listing's
    /// login decides (`farLinkSetupSeconds`). On the far link of docs/benchmarks.md opening them at the
    /// listing's start instead of 0.5 s into it took one folder from 5.2 s to 4.8 s.
    public static let farProbeRoundTrip = 0.025

    /// What a link probe's round trip decides on a first listing: how many connections the big streams need
    /// open now (1: none), or nil when it decides nothing. `auto`: above 12.5 ms as many as it runs at that
    /// round trip (`autoMost`): on the near link of docs/benchmarks.md (12.5-16.8 ms) one, so that the second
    /// stream starts with the first instead of logging in after the plan; none at 12.5 ms or less. `streams: N`: N on
    /// a far link; on a near one nothing (the listing's login may still prove slow).
    public static func lanesAhead(_ setting: StreamCount, probedRoundTrip roundTrip: Double) -> Int? {
        switch setting {
        // Where the CPU binds, the second stream logs in after the plan: a small plan runs one stream and
        // would leave an opened connection unused.
        case .auto: roundTrip > roundTripPerStream ? autoMost(roundTrip: roundTrip) : 1
        case let .fixed(count): roundTrip >= farProbeRoundTrip ? count : nil
        }
    }

    /// What `auto` counts one stream worth per round trip: one stream per 12.5 ms (8 at 100 ms). At 12.5 ms
    /// or less one stream's ssh window (2 MiB per round trip: 160 MB/s and more) is not what binds it, the
    /// CPU is.
    public static let roundTripPerStream = 0.0125

    /// `auto`'s streams where the CPU binds (a round trip of 12.5 ms or less): one ssh connection ciphers on
    /// one core, and a second stream puts its connection on another. On the near link of docs/benchmarks.md
    /// (5 ms each way, two cores), one 240 MB folder: 1.77-1.86 s with two streams, 2.11-2.21 s with one
    /// (one rsync: 1.89-1.98 s); three took 1.87-2.04 s, four 0.8x one rsync.
    public static let cpuBoundStreams = 2

    /// The most streams `auto` runs on a link with this round trip (measured by the listing: from handing it
    /// its input to its answer). Unknown: as many as `auto` runs at all.
    public static func autoMost(roundTrip: Double?) -> Int {
        guard let roundTrip else { return autoMaximum }
        guard roundTrip > roundTripPerStream else { return cpuBoundStreams }
        return min(autoMaximum, max(cpuBoundStreams, Int((roundTrip / roundTripPerStream).rounded(.up))))
    }

    /// How many streams a plan of `files` files and `bytes` bytes asks for. `multiConnection`: the
    /// transport's streams can each have their own connection (ssh).
    public static func wanted(_ setting: StreamCount, multiConnection: Bool, files: Int, bytes: Int64) -> Int {
        let asked: Int
        switch setting {
        case let .fixed(count):
            asked = count
        case .auto:
            asked = multiConnection ? Int(min(Int64(autoMaximum), max(1, bytes / autoBytesPerStream))) : 1
        }
        return max(1, min(asked, files))
    }

    /// The most streams a setting may run: what a cycle opens connections for while the listing runs.
    public static func most(_ setting: StreamCount, multiConnection: Bool) -> Int {
        switch setting {
        case let .fixed(count): count
        case .auto: multiConnection ? autoMaximum : 1
        }
    }

    /// Splits files (given by their sizes, in the plan's order) into `count` shares balanced by bytes,
    /// biggest file first. Returns the files' positions per share, each share in ascending position; a
    /// share is never empty when there are at least `count` files.
    public static func shares(sizes: [Int64], count: Int) -> [[Int]] {
        let count = max(1, min(count, sizes.count))
        guard count > 1 else { return [Array(sizes.indices)] }
        let order = sizes.indices.sorted { sizes[$0] != sizes[$1] ? sizes[$0] > sizes[$1] : $0 < $1 }
        var shares = [[Int]](repeating: [], count: count)
        var bytes = [Int64](repeating: 0, count: count)
        for position in order {
            // The lightest share so far; on a tie the one with fewer files, then the first.
            var lightest = 0
            for share in 1..<count where bytes[share] < bytes[lightest]
                || (bytes[share] == bytes[lightest] && shares[share].count < shares[lightest].count) {
                lightest = share
            }
            shares[lightest].append(position)
            bytes[lightest] += sizes[position]
        }
        return shares.map { $0.sorted() }
    }
}
