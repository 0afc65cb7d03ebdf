import Foundation

/// One line of the event stream that `sync --json`, `attach` and the ingest read (docs/events.md).
///
/// Every event carries `v` (schema version 2: a `progress` event's `jobs` hold only the jobs that are running
/// or changed since the previous one; see docs/events.md, "From v1 to v2"), `seq` (one more than the event before it),
/// `time` (RFC 3339, UTC, milliseconds) and `type`, then its own fields.
public struct Event: Sendable, Equatable {
    public static let schemaVersion = 2

    public var seq: Int64
    /// Milliseconds since the Unix epoch, wall clock.
    public var timeMs: Int64
    public var body: EventBody

    public init(seq: Int64, timeMs: Int64, body: EventBody) {
        self.seq = seq
        self.timeMs = timeMs
        self.body = body
    }

    public var type: String { body.type }

    /// The event as one JSON line, ending in `\n`.
    public func jsonLine() -> [UInt8] {
        var w = JSONWriter()
        w.object { o in
            o.field("v", Self.schemaVersion)
            o.field("seq", seq)
            o.field("time", Timestamp.rfc3339(milliseconds: timeMs))
            o.field("type", body.type)
            body.writeFields(&o)
        }
        var bytes = w.bytes
        bytes.append(0x0A)
        return bytes
    }
}

/// A job as events name it: `job` is `"<source>/<folder>"`.
public struct EventJob: Sendable, Equatable {
    public var source: String
    public var folder: String
    public var job: String { "\(source)/\(folder)" }
    public init(source: String, folder: String) {
        self.source = source
        self.folder = folder
    }
}

/// A file that finished syncing: it is in the library for good and in the manifest.
public struct FileSynced: Sendable, Equatable {
    public var job: EventJob
    /// Path inside the source folder, exact bytes.
    public var path: [UInt8]
    /// Absolute path of the library copy, exact bytes.
    public var libraryPath: [UInt8]
    public var size: Int64
    /// Modification time, seconds since the epoch.
    public var mtime: Int64
    /// The library path the name would have had, when a reused name got a new one.
    public var renamedFrom: [UInt8]?

    public init(job: EventJob, path: [UInt8], libraryPath: [UInt8], size: Int64, mtime: Int64,
                renamedFrom: [UInt8]? = nil) {
        self.job = job
        self.path = path
        self.libraryPath = libraryPath
        self.size = size
        self.mtime = mtime
        self.renamedFrom = renamedFrom
    }
}

/// How a job ended.
public struct JobFinished: Sendable, Equatable {
    public enum State: String, Sendable { case done, failed }
    public var job: EventJob
    public var state: State
    public var files: Int
    public var bytes: Int64
    public var seconds: Double
    /// rsync's last exit code; nil when rsync never ran (the listing failed).
    public var exitCode: Int32?
    public var attempts: Int
    /// The most rsync streams the job ran at once (0 when rsync never ran).
    public var streams: Int
    /// One line a person understands, e.g. "ssh: connect to host 1.2.3.4 port 41022: Connection refused".
    public var error: String?
    /// What else a person should know of a job that succeeded, e.g. "not created yet" for a folder the
    /// generator has not made yet.
    public var note: String?

    public init(job: EventJob, state: State, files: Int, bytes: Int64, seconds: Double, exitCode: Int32?,
                attempts: Int, streams: Int = 1, error: String? = nil, note: String? = nil) {
        self.job = job
        self.state = state
        self.files = files
        self.bytes = bytes
        self.seconds = seconds
        self.exitCode = exitCode
        self.attempts = attempts
        self.streams = streams
        self.error = error
        self.note = note
    }
}

/// How a cycle ended.
public struct CycleFinished: Sendable, Equatable {
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

/// The typed payload of an event; `type` is its wire name.
public enum EventBody: Sendable, Equatable {
    case cycleStarted(cycle: Int64, jobs: [EventJob])
    /// `streams`: the most rsync streams the job may run at once (its source's `streams:` setting, resolved).
    case jobStarted(cycle: Int64, job: EventJob, streams: Int = 1)
    case progress(cycle: Int64, ProgressSnapshot)
    case fileSynced(cycle: Int64, FileSynced)
    case fileDeferred(cycle: Int64, job: EventJob, path: [UInt8], reason: String)
    case jobFinished(cycle: Int64, JobFinished)
    case cycleFinished(cycle: Int64, CycleFinished)
    case log(level: String, message: String, cycle: Int64?, job: String?)
    /// A folder's purge begins (after its sync succeeded, or from `mediasync purge`).
    case purgeStarted(cycle: Int64, job: EventJob, dryRun: Bool)
    /// A file was deleted from its source (with `dryRun`: would be).
    case filePurged(cycle: Int64, job: EventJob, path: [UInt8], size: Int64, ageS: Int64, dryRun: Bool)
    /// A file stays on its source; `reason` is a `PurgeKeepReason` raw value.
    case fileKept(cycle: Int64, job: EventJob, path: [UInt8], reason: String)
    case purgeFinished(cycle: Int64, job: EventJob, deleted: Int, kept: Int, bytesFreed: Int64, dryRun: Bool)

    public var type: String {
        switch self {
        case .cycleStarted: "cycle_started"
        case .jobStarted: "job_started"
        case .progress: "progress"
        case .fileSynced: "file_synced"
        case .fileDeferred: "file_deferred"
        case .jobFinished: "job_finished"
        case .cycleFinished: "cycle_finished"
        case .log: "log"
        case .purgeStarted: "purge_started"
        case .filePurged: "file_purged"
        case .fileKept: "file_kept"
        case .purgeFinished: "purge_finished"
        }
    }
}

extension ObjectWriter {
    /// Writes a path as a JSON string; when the bytes are not valid UTF-8 the string has U+FFFD in
    /// their place and `<name>_b64` carries the exact bytes in base64, so a consumer can recover them.
    public mutating func pathField(_ name: String, _ bytes: [UInt8]) {
        field(name, bytes: bytes)
        if !JSONWriter.isValidUTF8(bytes) {
            field(name + "_b64", Data(bytes).base64EncodedString())
        }
    }
}
