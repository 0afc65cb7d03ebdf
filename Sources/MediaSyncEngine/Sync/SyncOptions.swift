import MediaSyncCore

/// What one `mediasync sync` run (or one supervisor cycle) is asked to do.
public struct SyncOptions: Sendable {
    /// Only these sources; nil means all of them.
    public var sources: [String]?
    /// Fetch again files the user deleted from the library.
    public var refetch: Bool
    /// Extra environment for every child (tests point the docker shim at its containers here).
    public var childEnvironment: [String: String]
    /// How long a stopped child gets between SIGTERM and SIGKILL, in milliseconds.
    public var stopGraceMs: UInt64
    /// Skip the purge after each folder's sync even where the config turns it on (`sync --no-purge`).
    public var noPurge: Bool
    /// The ingest door's timeouts (tests shorten them).
    public var ingestTimings: IngestDoor.Timings
    /// Per source, how many connections to open ahead while its listing runs (the lanes its big streams
    /// held at once in the previous cycle, `CycleResult.lanesUsed`); nil for a first cycle: as many as the
    /// source's `streams:` allows.
    public var laneHints: [String: Int]?
    /// The cycle's last `progress` keeps the 10-a-second spacing too, so the cycle may end up to 100 ms after
    /// its last job: what the JSON event stream promises (`sync --json`, the supervisor). `sync` without
    /// `--json` turns it off: its view paces its own drawing, and a short cycle should not wait for nothing.
    public var paceLastProgress = true
    /// The process exits right after this cycle (`mediasync sync`): the cycle's objects (each planned file's
    /// transfer, the progress sets, the machines) are left to the exit instead of being freed one by one,
    /// 3-4% of a 20,000-file sync's own CPU. Off for anything that runs cycles on (the tests, the supervisor).
    public var exitsAfter = false

    public init(sources: [String]? = nil, refetch: Bool = false, childEnvironment: [String: String] = [:],
                stopGraceMs: UInt64 = 5_000, noPurge: Bool = false, ingestTimings: IngestDoor.Timings = .init()) {
        self.sources = sources
        self.refetch = refetch
        self.childEnvironment = childEnvironment
        self.stopGraceMs = stopGraceMs
        self.noPurge = noPurge
        self.ingestTimings = ingestTimings
    }
}

/// How a cycle ended, for the exit code and the summary.
public struct CycleResult: Sendable, Equatable {
    public var jobsDone: Int
    public var jobsFailed: Int
    public var files: Int
    public var bytes: Int64
    public var seconds: Double
    /// One line per failed job and per failed purge, as shown to the user.
    public var errors: [String]
    /// Folders whose purge (after a good sync) could not run to its end; their jobs still count as done.
    public var purgesFailed: Int = 0
    /// Files deleted from the sources (or, in a dry run, that would have been).
    public var filesPurged: Int = 0
    /// Per source, the most connections of their own its big streams held at once (`SyncOptions.laneHints`).
    public var lanesUsed: [String: Int] = [:]
    /// False when any job failed or any purge failed: `mediasync sync` then exits 1.
    public var succeeded: Bool { jobsFailed == 0 && purgesFailed == 0 }
}
