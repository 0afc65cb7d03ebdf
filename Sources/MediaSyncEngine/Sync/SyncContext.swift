import Foundation
import MediaSyncCore
import UV

/// What a cycle's jobs share and only read: the loop, the config and options, the manifest, the library's
/// writer, the ingest door, and the commands of each transport. The cycle owns it and hands it to each job.
final class SyncContext {
    let loop: Loop
    let config: Config
    let manifest: ManifestStore
    let cycleID: Int64
    let options: SyncOptions
    /// The cycle's emitter: for the notices the context gives itself, and for the purges it makes.
    let emit: (EventBody) -> Void
    /// Moves files home; made anew at each cycle start with what the library's file system can do.
    var writer: LibraryWriter
    /// The ingest door, when one runs (a reload may swap it while the cycle runs).
    var ingest: IngestDoor?
    private var preparedControlFolders: Set<String> = []
    private let parentEnvironment = Command.currentEnvironment()

    init(loop: Loop, config: Config, manifest: ManifestStore, cycleID: Int64, options: SyncOptions,
         emit: @escaping (EventBody) -> Void) {
        self.loop = loop
        self.config = config
        self.manifest = manifest
        self.cycleID = cycleID
        self.options = options
        self.emit = emit
        writer = LibraryWriter(libraryRoot: config.library)
    }

    /// The transport's commands for a source; the first use of an ssh control folder makes it (0700).
    func transportCommands(for source: Source) -> TransportCommands {
        let commands = TransportCommands(
            source: source, controlFolder: config.stateDirectory + "/ssh",
            fallbackControlFolder: TransportCommands.fallbackControlFolder(uid: getuid()),
            ioTimeoutSeconds: Int(config.ioTimeout.components.seconds),
            extraEnvironment: options.childEnvironment)
        if let folder = commands.controlFolder, !preparedControlFolders.contains(folder) {
            preparedControlFolders.insert(folder)
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                     attributes: [.posixPermissions: 0o700])
            if let notice = commands.controlFolderNotice {
                emit(.log(level: "warning", message: notice, cycle: cycleID, job: nil))
            }
        }
        return commands
    }

    func childEnvironment(_ commands: TransportCommands) -> [String: String] {
        commands.environment(parent: parentEnvironment)
    }

    /// The bytes a child's arguments may take (`TransportCommands.namesAsArguments`): half of what the kernel
    /// takes in arguments and environment together, less the environment. That is a quarter of the stack limit
    /// (`sysconf(_SC_ARG_MAX)`), but never more than 6 MiB whatever the stack limit (Linux's `_STK_LIM / 4 * 3`):
    /// a raised stack limit must not give a list `execve` refuses.
    static func argumentRoom(_ environment: [String: String]) -> Int {
        let argMax = min(sysconf(Int32(_SC_ARG_MAX)), 6 << 20)
        guard argMax > 0 else { return 0 }
        let environmentBytes = environment.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count + 2 + 8 }
        return argMax / 2 - environmentBytes
    }

    /// `<library>/.mediasync/staging/<source>/<folder>`: rsync writes here; finished files are then
    /// moved to their library names, so a final name never holds a partial file.
    func stagingFolder(for job: SyncJob) -> String {
        config.library + "/.mediasync/staging/" + job.source.name + "/" + job.folder
    }

    /// `<library>/.mediasync/placing/<source>/<folder>`: what rsync displaced, and the unfinished-run marker, when it
    /// writes straight into the library (`Placement.library`, `TransportCommands.rsyncArgv(placing:)`).
    func placingFolder(for job: SyncJob) -> String {
        config.library + "/.mediasync/placing/" + job.source.name + "/" + job.folder
    }

    /// The purge of one folder, on this cycle's loop and events; `purge.dry_run` makes it a dry run.
    func makePurge(for job: SyncJob) -> PurgeRun {
        PurgeRun(loop: loop, config: config, manifest: manifest, cycleID: cycleID, job: job,
                 dryRun: config.purge.dryRun, childEnvironment: options.childEnvironment,
                 ingest: ingest, emit: emit)
    }

    /// What a job's machine knows of the job and the config.
    func machineSettings(for job: SyncJob) -> JobMachine.Settings {
        JobMachine.Settings(
            job: JobID(source: job.source.name, folder: job.folder), cycle: cycleID,
            stallTimeout: config.stallTimeout, retry: config.retry,
            purgeAfterSync: job.source.purge && config.purge.schedule.purgesAfterSync && !options.noPurge,
            library: config.library,
            sourceFolder: job.source.path(of: job.folder), transport: job.source.transport.summary,
            sourceRoot: job.source.root, streams: job.source.streams, multiConnection: job.source.transport.hasLanes)
    }
}
