import ArgumentParser
import Foundation
import MediaSyncCore
import MediaSyncEngine

/// `mediasync sync`: one cycle in this process, no daemon needed.
struct Sync: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bring every new file home from every source once, then exit.",
        discussion: """
            After a folder synced completely, it is purged when purge is on for its source (see \
            `mediasync purge --help` for the checks); --no-purge skips that. A folder whose sync failed or was \
            partial is not purged in that run. \
            Exit status: 0 when every job succeeded, 1 when any job failed after its retries or any purge \
            failed, 2 for usage or config errors.
            """
    )

    @OptionGroup var options: ConfigOptions

    @Option(name: .customLong("source"), help: ArgumentHelp("Sync only this source (repeatable).", valueName: "name"))
    var sources: [String] = []

    @Flag(help: "Write JSON events to stdout, one per line (docs/events.md).")
    var json = false

    @Flag(name: .customLong("no-purge"), help: "Do not purge the sources after syncing.")
    var noPurge = false

    @Flag(help: "Fetch again the files you deleted from the library.")
    var refetch = false

    func run() throws {
        let config = try options.loadOrExit()
        try ConfigOptions.requireSources(sources, in: config)
        var syncOptions = SyncOptions(sources: sources.isEmpty ? nil : sources, refetch: refetch, noPurge: noPurge)
        // Only the JSON stream promises its readers the 10-a-second spacing up to the cycle's last progress.
        syncOptions.paceLastProgress = json
        syncOptions.exitsAfter = true
        let result = try SyncCommandRun.run(config: config, options: syncOptions, json: json)
        if !result.succeeded { throw ExitCode(1) }
    }
}

/// Runs a cycle with the chosen outputs: JSON events on stdout, the live view or plain lines on stderr.
enum SyncCommandRun {
    static func run(config: Config, options: SyncOptions, json: Bool) throws -> CycleResult {
        let view = OutputView(json: json)
        // The kept log only: stderr belongs to the live view here (serve writes JSON lines there instead).
        let logging = MediaSyncLogging.bootstrap(stateDirectory: config.stateDirectory, stderr: false)
        defer { logging.close() }
        let bridge = EventLogBridge(logger: logging.logger)
        do {
            let result = try SyncRunner.runOnce(config: config, options: options) { event in
                view.handle(event)
                bridge.handle(event)
            }
            view.finish(result)
            if !json && (result.filesPurged > 0 || result.purgesFailed > 0) {
                // The live view's summary counts the sync; this line tells what the purge did.
                let verb = config.purge.dryRun ? "would be deleted (purge.dry_run)" : "deleted"
                let line = "purge: \(result.filesPurged) file\(result.filesPurged == 1 ? "" : "s") \(verb) from the sources"
                    + (result.purgesFailed > 0 ? "; \(result.purgesFailed) folder purge\(result.purgesFailed == 1 ? "" : "s") failed" : "")
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
            return result
        } catch let failure as SyncRunner.Failure {
            logging.logger.error("sync did not start: \(failure)")
            throw ConfigFailure(message: "mediasync: \(failure)").report()
        }
    }
}
