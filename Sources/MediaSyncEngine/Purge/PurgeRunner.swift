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
    /// The ingest's answer per library path when `ingest.verify_before_purge` is on; nil = no answer
    /// (everything stays with `not_committed` until the ingest door can be asked).
    public var isCommitted: (@Sendable ([UInt8]) -> Bool?)?

    public init(sources: [String]? = nil, dryRun: Bool = false, childEnvironment: [String: String] = [:],
                isCommitted: (@Sendable ([UInt8]) -> Bool?)? = nil) {
        self.sources = sources
        self.dryRun = dryRun
        self.childEnvironment = childEnvironment
        self.isCommitted = isCommitted
    }
}

/// Runs the purge alone, outside a sync: every selected folder one after the other on a loop of its own.
/// SIGINT and SIGTERM stop the running child; deletions already reported stay in the audit.
public enum PurgeRunner {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Purges the folders of the selected sources whose purge is on (a dry run looks at every selected
    /// source, to preview one before turning purge on). `emit` gets every event in order.
    public static func run(config: Config, options: PurgeOptions, emit: @escaping (Event) -> Void) throws
        -> [PurgeResult]
    {
        try SyncRunner.prepareFolders(config)
        let manifest: ManifestStore
        do {
            manifest = try ManifestStore(stateDirectory: config.stateDirectory)
        } catch {
            throw Failure(description: "\(error)")
        }
        let dryRun = options.dryRun || config.purge.dryRun
        var seq: Int64 = 0
        let publish: (EventBody) -> Void = { body in
            seq += 1
            emit(Event(seq: seq, timeMs: Int64((Date().timeIntervalSince1970 * 1000).rounded()), body: body))
        }
        let selected = config.jobs.filter { options.sources?.contains($0.source.name) ?? true }
        var jobs: [SyncJob] = []
        for job in selected {
            if job.source.purge || dryRun { jobs.append(job); continue }
            publish(.log(level: "info", message: "\(job.id): purge is off for source \(job.source.name) "
                         + "(set `purge: true` on it or `purge.enabled: true`); skipped", cycle: nil, job: job.id))
        }
        var isCommitted: (([UInt8]) -> Bool?)?
        if config.ingest?.verifyBeforePurge == true {
            let answer = options.isCommitted
            isCommitted = { path in answer?(path) ?? nil }
        }

        Loop.prepareProcess()
        let loop = try Loop()
        var results: [PurgeResult] = []
        var current: PurgeRun?
        var stopped = false
        var signals: [UV.Signal] = []
        for signum in [SIGINT, SIGTERM] {
            if let watcher = try? UV.Signal(loop: loop) {
                try? watcher.start(signum) { _ in stopped = true; current?.cancel() }
                signals.append(watcher)
            }
        }
        var pending = jobs[...]
        func next() {
            guard !stopped, let job = pending.popFirst() else {
                current = nil
                for watcher in signals { watcher.close() }
                signals.removeAll()
                closeSharedConnections(loop: loop, config: config, sources: jobs.map(\.source),
                                       childEnvironment: options.childEnvironment)
                return
            }
            let run = PurgeRun(loop: loop, config: config, manifest: manifest, cycleID: 0, job: job, dryRun: dryRun,
                               childEnvironment: options.childEnvironment, isCommitted: isCommitted, emit: publish)
            current = run
            run.start { result in
                results.append(result)
                next()
            }
        }
        next()
        _ = loop.run()
        loop.closeAll()
        _ = loop.run()
        try? loop.close()
        return results
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
