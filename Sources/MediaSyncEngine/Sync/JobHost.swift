import MediaSyncCore

/// All a job may ask of its cycle. `SyncCycle` implements it; a `JobRun` calls nothing else of the cycle,
/// and everything it only reads (the loop, the config, the manifest, the library's writer) is in its
/// `SyncContext`.
protocol JobHost: AnyObject {
    /// Seconds on the loop's monotonic clock: the time every event of the job's machine carries.
    var now: Double { get }
    /// Publishes an event (logs are events too).
    func emit(_ body: EventBody)
    /// The job's state, plan or rsync output changed: the cycle's progress model follows, and publishes.
    func progressed(_ job: JobRun, _ change: JobProgressChange)
    /// A file is home: recorded in the cycle's next batch (manifest row, `file_synced`).
    func fileHome(_ job: JobRun, _ transfer: SyncPlan.Transfer, libraryPath: [UInt8])
    /// One read of a child's output has been fed as records: the progress they changed may be told now.
    func outputRead(_ job: JobRun)
    /// Makes the files home so far durable, recorded and told, now.
    func flushFilesHome()
    /// The job's listing ended, it gave its slot back, wants one again, or finished.
    func slot(_ job: JobRun, _ change: JobSlotChange)
    /// The job wants `count` rsync streams for `bytes` bytes: `granted` gets how many it may run (at least 1, its
    /// own slot), as `concurrency`, the jobs waiting for a slot and the other jobs' claims allow; at once, or when
    /// the cycle's other listings ended (`StreamClaims`). Not called when the job finished first.
    func claimStreams(_ job: JobRun, wanted count: Int, bytes: Int64, granted: @escaping (Int) -> Void)
    /// The connection (lane) a stream of `bytes` bytes rides: 0 is the source's shared one. Given back with
    /// `releaseLane` when the stream ends.
    func claimLane(_ job: JobRun, bytes: Int64) -> ConnectionLanes.Lane
    func releaseLane(_ job: JobRun, _ lane: ConnectionLanes.Lane)
    /// Runs `start` once the lane's connection, being opened ahead, is up (at once when it is not being opened).
    func whenLaneOpen(_ job: JobRun, _ lane: ConnectionLanes.Lane, _ start: @escaping () -> Void)
}
