/// One child process of a job: its listing, or one of its rsync streams (a big plan runs several at once,
/// each with its share of the plan; `StreamSplit`).
public enum JobChild: Hashable, Sendable, CustomStringConvertible {
    case listing
    case stream(Int)

    public var description: String {
        switch self {
        case .listing: "listing"
        case let .stream(number): "stream \(number)"
        }
    }
}

/// How a child ended, as the loop reported it.
public struct ChildExit: Equatable, Sendable {
    /// The exit code; 0 when a signal ended it.
    public var code: Int32
    /// The terminating signal, 0 when it exited by itself.
    public var signal: Int32
    /// How it ended, told to people: "exited with status 23", "killed by signal 9 (Killed)".
    public var description: String

    public init(code: Int32, signal: Int32, description: String) {
        self.code = code
        self.signal = signal
        self.description = description
    }
}

/// A planned file the machine wants moved from staging to its library name, or, when rsync placed it in the
/// library itself (`Placement.library`), looked at there.
public struct MoveHome: Equatable, Sendable {
    /// The stream that brought it.
    public var child: JobChild
    /// Its place in the plan.
    public var index: Int
    public var transfer: SyncPlan.Transfer
    /// True in the sweep after the stream exited: a file that is not as planned then changed at the source;
    /// false while the stream runs, when such a file may simply not be finished yet.
    public var final: Bool
    /// Where its stream wrote it.
    public var placement: Placement

    public init(child: JobChild, index: Int, transfer: SyncPlan.Transfer, final: Bool, placement: Placement = .staging) {
        self.child = child
        self.index = index
        self.transfer = transfer
        self.final = final
        self.placement = placement
    }
}

/// What moving one staged file home came to.
public enum MoveOutcome: Equatable, Sendable {
    /// At `libraryPath`; `asideOf` is the planned name when another file had taken it meanwhile.
    case home(libraryPath: [UInt8], asideOf: [UInt8]?)
    /// Not in staging as planned, and not there at all: rsync did not deliver it.
    case notDelivered
    /// In staging, but not as planned: rsync sent what the file is now.
    case changed
    /// The library refused it; the text says why (the system call and the file system).
    case refused(String)
}

/// A timer the machine arms and disarms.
public enum JobTimer: Hashable, Sendable {
    /// The wait before the next attempt.
    case retry
}

/// What the cycle's progress model hears of a job.
public enum JobProgressChange: Equatable, Sendable {
    /// The job moved to this state (the machine moved first; the model follows the same graph).
    case state(JobState)
    /// The plan's exact totals.
    case plan(files: Int, bytes: Int64)
    /// One parsed rsync line of stream `stream` (the n of `JobChild.stream(n)`); the job's progress sums its streams.
    case record(RsyncRecord, stream: Int)
    /// Tell the news now: a state change is always told, other news as the throttle allows.
    case publish
}

/// What the cycle's scheduler hears of a job.
public enum JobSlotChange: Equatable, Sendable {
    /// The job's listing ended (well or not): its source's other jobs may now share the connection.
    case listed
    /// The job waits for a retry and gives its slot to another.
    case released
    /// A retry is due: the job wants a slot again.
    case wanted
    /// One of several streams exited: the slot it took is free again.
    case streamEnded
    /// The job is done or failed; its `job_finished` went out.
    case finished
}

/// An event the machine refused, because it does not fit the job's state (a bug in whoever sent it): the
/// machine changes nothing and says so, and the executor logs it.
public struct IllegalMove: Equatable, Sendable, CustomStringConvertible {
    public var job: JobID
    /// The event, e.g. "retry due", or "move to done".
    public var event: String
    public var state: JobState

    public init(job: JobID, event: String, state: JobState) {
        self.job = job
        self.event = event
        self.state = state
    }

    public var description: String {
        "\(job): \(event) is not allowed while the job is \(state.rawValue); ignored (a bug in mediasync)"
    }
}

/// What the job machine asks its executor to do, in order.
public enum JobAction: Sendable {
    /// Start the listing child (and read the manifest meanwhile); answer `spawned` or `failed`.
    case spawnListing
    /// Ask the cycle for this many rsync streams for `bytes` bytes (the job's own slot and up to `count - 1`
    /// more, as `concurrency` and the other jobs' claims allow, `StreamClaims`); answer `streamsGranted` with how
    /// many, at least one, now or a moment later.
    case claimStreams(Int, bytes: Int64)
    /// Make the staging folder and start an rsync stream with these names on its list (in this order), `bytes`
    /// in all, writing into staging or straight into the library folder (`Placement`); answer `spawned` or
    /// `failed`.
    case spawnTransfer(JobChild, files: [[UInt8]], bytes: Int64, into: Placement)
    /// Stop a child (SIGTERM to its group, SIGKILL after the grace); its exit comes as `exited`.
    case stop(JobChild)
    /// Read the manifest and plan this listing; answer `planned` or `failed`.
    case plan(RemoteListing)
    /// Look at a staged file (size and mtime), or at the placed one in the library; answer `staged`.
    case checkStaged(MoveHome)
    /// Move a staged file to its library name (a placed one: look again unless just looked at, and take it
    /// back out of the library into staging when it is not as planned in the sweep); answer `moved`.
    case moveHome(MoveHome)
    /// A file is home: record it in the cycle's next batch (manifest row, `file_synced`).
    case fileHome(SyncPlan.Transfer, libraryPath: [UInt8])
    /// Make the files home so far durable, recorded and told (before a purge reads the manifest, at the end).
    case flushFilesHome
    case progress(JobProgressChange)
    case emit(EventBody)
    /// Arm a timer for this moment (seconds on the same clock as the events' `now`); answer its due event.
    case arm(JobTimer, at: Double)
    case disarm(JobTimer)
    case slot(JobSlotChange)
    /// Purge the folder in this job's slot; answer `purgeFinished`.
    case startPurge
    case stopPurge
    /// An event was refused: log it.
    case illegal(IllegalMove)
}
