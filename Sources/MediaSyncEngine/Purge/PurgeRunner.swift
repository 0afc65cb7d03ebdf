import Foundation
import MediaSyncCore
import UV

/// What `mediasync purge` asks for.
public struct PurgeOptions: Sendable {
    /// Only these sources; nil means all of them.
    public var sources: [String]?
    /// Decide and report, delete nothing (also forced by `purge.dry_run: true`).
    public var dryRun: Bool
    /// Extra environment for every child (tests point the docker shim at its containers here).
    public var childEnvironment: [String: String]
    /// The ingest door's timeouts (tests shorten them).
    public var ingestTimings: IngestDoor.Timings

    public init(sources: [String]? = nil, dryRun: Bool = false, childEnvironment: [String: String] = [:],
                ingestTimings: IngestDoor.Timings = .init()) {
        self.sources = sources
        self.dryRun = dryRun
        self.childEnvironment = childEnvironment
        self.ingestTimings = ingestTimings
    }
}

/// Runs the purge alone, outside a sync: the selected folders, up to `concurrency` at once, on a loop of its own.
/// SIGINT and SIGTERM stop the running child; deletions already reported stay in the audit.
public enum PurgeRunner {
    /// Purges the folders of the selected sources whose purge is on (a dry run looks at every selected
    /// source, to preview one before turning purge on). `emit` gets every event in order.
    public static func run(config: Config, options: PurgeOptions, emit: @escaping (Event) -> Void) throws
        -> [PurgeResult]
    {
        let manifest = try SyncRunner.openState(config)
        let dryRun = options.dryRun || config.purge.dryRun
        var seq: Int64 = 0
        let publish: (EventBody) -> Void = { body in
            seq += 1
            emit(Event(seq: seq, timeMs: Int64((Date().timeIntervalSince1970 * 1000).rounded()), body: body))
        }
        if let note = config.purge.ageBy.note { publish(.log(level: "warning", message: note, cycle: nil, job: nil)) }
        let selected = config.jobs.filter { options.sources?.contains($0.source.name) ?? true }
        var jobs: [SyncJob] = []
        for job in selected {
            if job.source.purge || dryRun { jobs.append(job); continue }
            publish(.log(level: "info", message: "\(job.id): purge is off for source \(job.source.name) "
                         + "(set `purge: true` on it or `purge.enabled: true`); skipped", cycle: nil, job: job.id))
        }
        // A library that is not the library (its drive not mounted) proves nothing: no file is purged for it.
        if !jobs.isEmpty {
            switch LibraryIdentity.check(library: config.library, stateDirectory: config.stateDirectory, manifest: manifest) {
            case let .ready(note):
                if let note { publish(.log(level: "info", message: note, cycle: nil, job: nil)) }
            case let .refused(reason):
                publish(.log(level: "error", message: reason, cycle: nil, job: nil))
                return jobs.map { PurgeResult(job: $0.id, deleted: 0, kept: 0, bytesFreed: 0, dryRun: dryRun,
                                              error: "\($0.id): purge: \(reason)") }
            }
        }
        Loop.prepareProcess()
        let loop = try Loop()
        // The ingest confirms files before they go (verify_before_purge) and hears of each deletion.
        let ingest = jobs.isEmpty ? nil : IngestDoor.start(
            loop: loop, store: manifest, config: config, timings: options.ingestTimings,
            environment: options.childEnvironment) { level, message in
            publish(.log(level: level, message: message, cycle: nil, job: nil))
        }
        // Up to `concurrency` folders at once, as a sync runs its jobs: each folder's listing, its plan and its
        // delete calls wait on children, and one folder after the other left the cores idle in between. One at
        // a time when the ingest confirms files first (one question at a time to it).
        let width = config.ingest?.verifyBeforePurge == true ? 1 : max(1, config.concurrency)
        // Over a shared connection (ssh) the first folder runs alone until its listing ended: children started
        // together would each open a connection of their own, racing to become its master.
        let shared = jobs.contains { job in
            TransportCommands(source: job.source, controlFolder: config.stateDirectory + "/ssh",
                              fallbackControlFolder: TransportCommands.fallbackControlFolder(uid: getuid()),
                              ioTimeoutSeconds: 1).controlFolder != nil
        }
        var opened = !shared
        var finished: [(Int, PurgeResult)] = []
        var running: [Int: PurgeRun] = [:]
        var stopped = false
        var closed = false
        var signals: [UV.Signal] = []
        for signum in [SIGINT, SIGTERM] {
            if let watcher = try? UV.Signal(loop: loop) {
                try? watcher.start(signum) { _ in
                    stopped = true
                    for run in running.values { run.cancel() }
                    ingest?.shutdown()
                }
                signals.append(watcher)
            }
        }
        func closeSignals() {
            for watcher in signals { watcher.close() }
            signals.removeAll()
        }
        var pending = Array(jobs.enumerated())[...]
        func next() {
            while !stopped, running.count < (opened ? width : 1), let (index, job) = pending.popFirst() {
                let run = PurgeRun(loop: loop, config: config, manifest: manifest, cycleID: 0, job: job, dryRun: dryRun,
                                   childEnvironment: options.childEnvironment, ingest: ingest, emit: publish)
                running[index] = run
                if !opened { run.onListed = { opened = true; next() } }
                run.start { result in
                    running[index] = nil
                    finished.append((index, result))
                    next()
                }
            }
            guard running.isEmpty, stopped || pending.isEmpty, !closed else { return }
            closed = true
            closeSharedConnections(loop: loop, config: config, sources: jobs.map(\.source),
                                   childEnvironment: options.childEnvironment)
            if let ingest { ingest.finish { closeSignals() } } else { closeSignals() }
        }
        next()
        _ = loop.run()
        loop.closeAll()
        _ = loop.run()
        try? loop.close()
        return finished.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// Ends the ssh master connections the folders shared (`ControlPersist` would keep one for a minute after
    /// we exit); `-O exit` where there is none is harmless. The loop runs until these children ended.
    static func closeSharedConnections(loop: Loop, config: Config, sources: [Source], childEnvironment: [String: String]) {
        var seen: Set<String> = []
        for source in sources where seen.insert(source.name).inserted {
            let commands = TransportCommands(
                source: source, controlFolder: config.stateDirectory + "/ssh",
                fallbackControlFolder: TransportCommands.fallbackControlFolder(uid: getuid()),
                ioTimeoutSeconds: Int(config.ioTimeout.components.seconds), extraEnvironment: childEnvironment)
            guard let argv = commands.closeSharedConnectionArgv() else { continue }
            let command = Command(argv[0], Array(argv.dropFirst()),
                                  environment: commands.environment(parent: Command.currentEnvironment()),
                                  stdout: .ignore, stderr: .ignore)
            _ = try? Child(loop: loop, command: command, onFinished: { _, _ in })
        }
    }
}
