import ArgumentParser
import Foundation
import MediaSyncCore
import MediaSyncEngine

/// `mediasync backfill`: sends the ingest every file already in the library.
struct Backfill: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tell the ingest about every file already in the library.",
        discussion: """
            For files synced before `ingest` was configured, or dropped when the ingest outbox was full: a \
            file_synced event (cycle 0) for each file of the manifest whose library copy is there, delivered \
            like any other (the ingest upserts, so files it already has are harmless). Waits while the ingest \
            acknowledges; what is left is sent by the next sync or by serve. \
            Exit status: 0 when every event was stored, 1 when the outbox was full, 2 for usage or config errors.
            """
    )

    @OptionGroup var options: ConfigOptions

    @Option(name: .customLong("source"), help: ArgumentHelp("Only this source's files (repeatable).", valueName: "name"))
    var sources: [String] = []

    @Flag(help: "Write JSON events to stdout, one per line.")
    var json = false

    func run() throws {
        let config = try options.loadOrExit()
        try ConfigOptions.requireSources(sources, in: config)
        let result: IngestBackfill.Result
        do {
            result = try IngestBackfill.run(config: config, sources: sources.isEmpty ? nil : sources) { event in
                if json {
                    FileHandle.standardOutput.write(Data(event.jsonLine()))
                } else if case let .log(level, message, _, _) = event.body, level != "info" {
                    FileHandle.standardError.write(Data("\(level): \(message)\n".utf8))
                }
            }
        } catch let failure as IngestBackfill.Failure {
            throw ConfigFailure(message: "mediasync: \(failure)").report()
        } catch let failure as SyncRunner.Failure {
            throw ConfigFailure(message: "mediasync: \(failure)").report()
        }
        if !json {
            var line = "backfill: \(result.stored) file\(result.stored == 1 ? "" : "s") sent to the ingest"
            if result.missing > 0 { line += ", \(result.missing) skipped (library copy gone)" }
            if result.waiting > 0 { line += "; \(result.waiting) not yet acknowledged (they stay in the outbox)" }
            print(line)
        }
        if result.dropped > 0 { throw ExitCode(1) }
    }
}
