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

    public init(sources: [String]? = nil, refetch: Bool = false, childEnvironment: [String: String] = [:],
                stopGraceMs: UInt64 = 5_000) {
        self.sources = sources
        self.refetch = refetch
        self.childEnvironment = childEnvironment
        self.stopGraceMs = stopGraceMs
    }
}

/// How a cycle ended, for the exit code and the summary.
public struct CycleResult: Sendable, Equatable {
    public var jobsDone: Int
    public var jobsFailed: Int
    public var files: Int
    public var bytes: Int64
    public var seconds: Double
    /// One line per failed job, as shown to the user.
    public var errors: [String]
    public var succeeded: Bool { jobsFailed == 0 }
}
