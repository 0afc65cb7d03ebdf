/// The whole of a parsed, validated config file, with every default filled in.
///
/// Build one with ``Config/parse(yaml:fileName:environment:homeDirectory:)``; every path in it is
/// absolute and `~` is already expanded, so nothing downstream re-reads the environment.
public struct Config: Sendable, Equatable {
    /// Where media lands; each source writes under `<library>/<dest>/<folder>`.
    public var library: String
    /// Manifest, logs and the ingest outbox live here.
    public var stateDirectory: String
    /// The control socket that `status`, `attach` and friends talk to.
    public var socket: String
    /// Group allowed to use the socket (its file gets this group and mode 0660); nil keeps the owner only.
    public var socketGroup: String?
    /// Time between the start of one cycle and the next when serving.
    public var interval: Duration
    /// How many rsync children run at once.
    public var concurrency: Int
    /// Files modified more recently than this (by the source's clock) wait for a later cycle.
    public var settle: Duration
    /// A job that shows no progress for this long is stopped and retried.
    public var stallTimeout: Duration
    /// rsync's `--timeout`: seconds of no I/O before rsync gives up by itself.
    public var ioTimeout: Duration
    public var retry: RetryPolicy
    public var purge: PurgeSettings
    public var sources: [Source]
    /// The ingest door; nil when no ingest command is configured.
    public var ingest: IngestSettings?
    /// Where `serve` writes its metrics (Prometheus text) after every cycle; nil: nowhere.
    public var metricsFile: String?

    public init(library: String, stateDirectory: String, socket: String, socketGroup: String? = nil,
                interval: Duration = Config.defaultInterval, concurrency: Int = Config.defaultConcurrency,
                settle: Duration = Config.defaultSettle, stallTimeout: Duration = Config.defaultStallTimeout,
                ioTimeout: Duration = Config.defaultIOTimeout, retry: RetryPolicy = RetryPolicy(),
                purge: PurgeSettings = PurgeSettings(), sources: [Source], ingest: IngestSettings? = nil,
                metricsFile: String? = nil) {
        self.library = library
        self.stateDirectory = stateDirectory
        self.socket = socket
        self.socketGroup = socketGroup
        self.interval = interval
        self.concurrency = concurrency
        self.settle = settle
        self.stallTimeout = stallTimeout
        self.ioTimeout = ioTimeout
        self.retry = retry
        self.purge = purge
        self.sources = sources
        self.ingest = ingest
        self.metricsFile = metricsFile
    }

    public static let defaultInterval: Duration = .seconds(5 * 60)
    public static let defaultConcurrency = 8
    public static let defaultSettle: Duration = .seconds(2 * 60)
    public static let defaultStallTimeout: Duration = .seconds(2 * 60)
    public static let defaultIOTimeout: Duration = .seconds(60)

    /// Every (source, folder) pair in file order: one rsync child each per cycle.
    public var jobs: [SyncJob] {
        sources.flatMap { source in
            source.folders.map { SyncJob(source: source, folder: $0, destination: destination(of: source, folder: $0)) }
        }
    }

    /// The library folder that `folder` of `source` is copied into.
    public func destination(of source: Source, folder: String) -> String {
        ConfigPath.join(library, source.dest, folder)
    }
}

/// One place media is pulled from: a container, an ssh host or a local folder, and its folders.
public struct Source: Sendable, Equatable, Hashable {
    /// Unique name: letters, digits, `.`, `_`, `-`. Used in logs, events and the manifest.
    public var name: String
    public var transport: Transport
    /// Absolute path the folders are relative to, as seen inside the container / on the host.
    public var root: String
    /// Relative folder paths under `root`; each one is one job.
    public var folders: [String]
    /// Relative path under the library; defaults to `name`.
    public var dest: String
    /// rsync `--bwlimit` value exactly as written (`20M`, `500K`, `800` = KiB/s); nil means no limit.
    public var bwlimit: String?
    /// Whether files of this source are purged after they are safe; the source's own `purge` switch
    /// if set, else the top-level `purge.enabled`.
    public var purge: Bool
    /// The settle time for this source: its own `settle` if set, else the top-level one.
    public var settle: Duration
    /// How many rsync streams one of its folders may run at once (`streams:`).
    public var streams: StreamCount

    public init(name: String, transport: Transport, root: String, folders: [String], dest: String? = nil,
                bwlimit: String? = nil, purge: Bool = false, settle: Duration = Config.defaultSettle,
                streams: StreamCount = .auto) {
        self.name = name
        self.transport = transport
        self.root = root
        self.folders = folders
        self.dest = dest ?? name
        self.bwlimit = bwlimit
        self.purge = purge
        self.settle = settle
        self.streams = streams
    }

    /// `root/folder`: the folder's path inside the container / on the host.
    public func path(of folder: String) -> String { ConfigPath.join(root, folder) }
}

/// How often, and how far apart, a failed job is tried again within one cycle.
public struct RetryPolicy: Sendable, Equatable, Hashable {
    /// Tries per job per cycle, counting the first one (1 = no retry).
    public var attempts: Int
    /// Wait before the first retry; doubles for each later one.
    public var backoff: Duration
    /// The doubling stops here.
    public var maxBackoff: Duration

    public init(attempts: Int = 3, backoff: Duration = .seconds(10), maxBackoff: Duration = .seconds(600)) {
        self.attempts = attempts
        self.backoff = backoff
        self.maxBackoff = maxBackoff
    }

    /// The wait before try number `attempt` (2 is the first retry): backoff, 2x, 4x... capped at maxBackoff.
    public func delay(beforeAttempt attempt: Int) -> Duration {
        guard attempt > 1 else { return .zero }
        var delay = backoff
        for _ in 2..<attempt {
            delay *= 2
            if delay >= maxBackoff { return maxBackoff }
        }
        return min(delay, maxBackoff)
    }
}

/// When and how synced files are deleted from their source.
public struct PurgeSettings: Sendable, Equatable, Hashable {
    /// Off unless the config turns it on: deleting is irreversible, so the user opts in.
    public var enabled: Bool
    /// A file is purged only when it is at least this old by the source's clock.
    public var minAge: Duration
    /// Glob patterns (matched against the path under the folder and the file name) never purged.
    public var protect: [String]
    /// How the library copy is compared with the source before the source is deleted.
    public var verify: PurgeVerify
    /// Decide and log what would be deleted, delete nothing.
    public var dryRun: Bool
    /// When `serve` purges: after each folder's sync (the default), on a cron schedule, or only when asked.
    public var schedule: PurgeSchedule
    /// Which of a file's times its age (`min_age`) is measured from, by the source's clock.
    public var ageBy: PurgeAgeBy

    public init(enabled: Bool = false, minAge: Duration = .seconds(24 * 3600), protect: [String] = [],
                verify: PurgeVerify = .size, dryRun: Bool = false, schedule: PurgeSchedule = .afterSync,
                ageBy: PurgeAgeBy = .modified) {
        self.enabled = enabled
        self.minAge = minAge
        self.protect = protect
        self.verify = verify
        self.dryRun = dryRun
        self.schedule = schedule
        self.ageBy = ageBy
    }
}

/// The check made on the library copy before its source file may be deleted.
public enum PurgeVerify: String, Sendable, CaseIterable {
    /// Same size (and the manifest's record of the transfer).
    case size
    /// Same content: the source file's checksum is computed and compared.
    case checksum
}

/// Which time of a file on the source `purge.min_age` is measured from (`purge.age_by`).
public enum PurgeAgeBy: String, Sendable, CaseIterable {
    /// Its modification time (what the sync compares too).
    case modified
    /// Its birth time, where the source's file system and `stat` report one (statx); a file without one stays.
    case created
    /// Its last access time; as coarse as the source's mount allows (`relatime` updates it at most daily).
    case accessed

    /// The warning `accessed` deserves once per run: most mounts do not keep access times exactly.
    public var note: String? {
        guard self == .accessed else { return nil }
        return "purge.age_by: accessed measures age from the last access, which most file systems keep coarsely: "
            + "`relatime` (the Linux default) updates it at most once a day or when the file changed, `noatime` never; "
            + "the sync's own read counts as an access. Files may stay longer than min_age (never shorter)"
    }
}

/// The ingest door: a long-running child that receives `file_synced` events.
public struct IngestSettings: Sendable, Equatable, Hashable {
    /// argv of the ingest child; never run through a shell.
    public var command: [String]
    /// When true, a file is purged only after the ingest child has confirmed it.
    public var verifyBeforePurge: Bool
    /// Most events the outbox holds while the ingest is away or behind; past it new events are not stored.
    public var outboxLimit: Int

    public static let defaultOutboxLimit = 100_000

    public init(command: [String], verifyBeforePurge: Bool = true, outboxLimit: Int = IngestSettings.defaultOutboxLimit) {
        self.command = command
        self.verifyBeforePurge = verifyBeforePurge
        self.outboxLimit = outboxLimit
    }
}

/// One unit of work per cycle: one folder of one source and the library folder it lands in.
public struct SyncJob: Sendable, Equatable, Hashable {
    public var source: Source
    /// Relative folder under the source's root.
    public var folder: String
    /// Absolute library path: `<library>/<dest>/<folder>`.
    public var destination: String

    /// Stable name for logs, events and the manifest: `source/folder`.
    public var id: String { "\(source.name)/\(folder)" }
}
