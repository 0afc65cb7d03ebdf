/// The supervisor's two clocks at one moment: monotonic seconds for scheduling, wall milliseconds for what
/// people read (timestamps in status, `next try at`).
public struct SupervisorTime: Sendable, Equatable {
    /// Monotonic seconds (the loop's clock).
    public var monotonic: Double
    /// Milliseconds since 1970.
    public var wallMs: Int64

    public init(monotonic: Double, wallMs: Int64) {
        self.monotonic = monotonic
        self.wallMs = wallMs
    }

    /// The wall time of monotonic `seconds`.
    public func wallMs(at seconds: Double) -> Int64 { wallMs + Int64((seconds - monotonic) * 1000) }
}

/// What a finished cycle did, as status and `trigger --wait` report it.
public struct CycleTotals: Sendable, Equatable {
    public var jobsDone: Int
    public var jobsFailed: Int
    public var files: Int
    public var bytes: Int64
    public var seconds: Double

    public init(jobsDone: Int, jobsFailed: Int, files: Int, bytes: Int64, seconds: Double) {
        self.jobsDone = jobsDone
        self.jobsFailed = jobsFailed
        self.files = files
        self.bytes = bytes
        self.seconds = seconds
    }
}

/// What the `SupervisorMachine` asks its executor (`Supervisor`) to do, in order.
public enum SupervisorAction: Sendable, Equatable {
    /// Record a new cycle in the manifest, tell the machine (`cycleStarted(id:plan:at:)`), then run it.
    case startCycle(CycleScheduler.Plan)
    /// (Re)arm the interval timer.
    case armInterval(afterMs: UInt64)
    case stopInterval
    /// A `log` event on the bus.
    case publish(level: String, message: String, cycle: Int64?, job: String?)
    /// The supervisor's own log (not an event).
    case log(level: String, message: String)
    /// The clients that asked to wait for this cycle get its `cycle_finished` reply.
    case replyCycleFinished(clients: [Int], cycle: Int64, totals: CycleTotals)
    /// systemd's STATUS= line.
    case systemdStatus(String)
    /// Shutdown's first step: STOPPING=1 to systemd, the `onStopping` hook, the log.
    case announceStopping(reason: String)
    /// The socket and the interval timer close: no new client, no new cycle.
    case stopAccepting
    /// Cancel the running cycle (its children get SIGTERM, then SIGKILL after their grace).
    case cancelCycle
    /// Past this, shutdown stops waiting for the cancelled cycle.
    case armShutdownDeadline(afterMs: UInt64)
    /// The last step: close the clients, signals and timers, end the ingest, stop the loop.
    case finishShutdown
    /// Stop the running ingest door and start one for the current config (a cycle running now gets it too).
    case replaceIngest
    /// Record a new cycle in the manifest, tell the machine (`purgeCycleStarted(id:plan:at:)`), then run the purge
    /// cycle of its own (every folder of the plan's sources whose purge is on).
    case startPurgeCycle(PurgeScheduler.Plan)
    /// (Re)arm the purge timer: the machine looks at the wall clock then (`purgeTimerFired(at:)`).
    case armPurgeTimer(afterMs: UInt64)
    /// The clients that asked to wait for this purge cycle get its `cycle_finished` reply.
    case replyPurgeFinished(clients: [Int], cycle: Int64, totals: PurgeTotals)
}
