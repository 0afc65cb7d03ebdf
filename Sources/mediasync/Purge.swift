import ArgumentParser
import Foundation
import MediaSyncCore
import MediaSyncEngine

/// `mediasync purge`: deletes synced files from the sources with the same checks as after a sync, or shows
/// what was deleted (`--history`).
struct Purge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete from the sources the files that are safely in the library.",
        discussion: """
            A file goes only when it is older than purge.min_age by the source's clock, is in the manifest with \
            its current size and mtime, its library copy is there and the same, and no protect pattern matches. \
            Exit status: 0 when every folder was purged (or previewed), 1 when any failed, 2 for usage or config errors.
            """
    )

    @OptionGroup var options: ConfigOptions

    @Option(name: .customLong("source"), help: ArgumentHelp("Purge only this source (repeatable).", valueName: "name"))
    var sources: [String] = []

    @Flag(name: .customLong("dry-run"), help: "List what would be deleted and what stays; delete nothing.")
    var dryRun = false

    @Flag(help: "Write JSON events (or, with --history, audit rows) to stdout, one per line.")
    var json = false

    @Flag(help: "Show the audit of deleted files instead of purging.")
    var history = false

    @Option(help: ArgumentHelp("With --history: only deletions this recent (e.g. 7d, 12h).", valueName: "duration"))
    var since: String?

    func run() throws {
        let config = try options.loadOrExit()
        try ConfigOptions.requireSources(sources, in: config)
        if history { return try showHistory(config) }
        if since != nil {
            throw ConfigFailure(message: "mediasync: --since goes with --history (mediasync purge --history --since 7d)").report()
        }
        let view = PurgeView(json: json)
        defer { view.flush() }
        let results: [PurgeResult]
        do {
            results = try PurgeRunner.run(config: config, options: PurgeOptions(sources: sources.isEmpty ? nil : sources,
                                                                              dryRun: dryRun)) { view.handle($0) }
        } catch let failure as SyncRunner.Failure {
            throw ConfigFailure(message: "mediasync: \(failure)").report()
        }
        view.finish(results)
        if results.contains(where: { $0.error != nil }) { throw ExitCode(1) }
    }

    private func showHistory(_ config: Config) throws {
        var from: Int64 = 0
        if let since {
            guard let duration = DurationSyntax.parse(since) else {
                throw ConfigFailure(message: "mediasync: --since \(since): \(DurationSyntax.hint)").report()
            }
            from = Int64(Date().timeIntervalSince1970) - duration.components.seconds
        }
        let path = config.stateDirectory + "/" + ManifestStore.fileName
        guard FileManager.default.fileExists(atPath: path) else {
            if !json { FileHandle.standardError.write(Data("no purge has run yet (no \(path))\n".utf8)) }
            return
        }
        let entries: [PurgeAuditEntry]
        do {
            entries = try ManifestStore(path: path).purgeHistory(since: from, sources: sources.isEmpty ? nil : sources)
        } catch {
            throw ConfigFailure(message: "mediasync: \(error)").report()
        }
        var out: [UInt8] = []
        for entry in entries {
            if json {
                var w = JSONWriter()
                w.object { o in
                    o.field("time", Timestamp.rfc3339(milliseconds: entry.time * 1000))
                    o.field("source", entry.source)
                    o.field("folder", entry.folder)
                    o.pathField("path", entry.path)
                    o.field("size", entry.size)
                    o.field("mtime", entry.mtime)
                    o.pathField("library_path", entry.libraryPath)
                    o.field("cycle", entry.cycle)
                }
                out += w.bytes + [0x0A]
            } else {
                let line = "\(Timestamp.rfc3339(milliseconds: entry.time * 1000))  \(entry.source)/\(entry.folder)  "
                    + "\(PurgeView.shown(entry.path))  \(entry.size) B  -> \(PurgeView.shown(entry.libraryPath))\n"
                out += Array(line.utf8)
            }
        }
        if !json {
            let total = entries.reduce(Int64(0)) { $0 + $1.size }
            out += Array("\(entries.count) file\(entries.count == 1 ? "" : "s") deleted, \(ViewFormat.bytes(total))\n".utf8)
        }
        FileHandle.standardOutput.write(Data(out))
    }
}

/// The purge's output: JSON events on stdout, or one line per decision on stdout and problems on stderr.
///
/// Stdout is written in blocks: the lines of one file each (`file_purged`, `file_kept`) gather up to 64 KiB,
/// and any other event, a line for stderr, and the end write them out (a write per file was a tenth of the
/// purge's own time on 20,000 files).
final class PurgeView {
    private let json: Bool
    private var pending: [UInt8] = []
    static let blockBytes = 65_536

    init(json: Bool) { self.json = json }

    /// Writes what is gathered.
    func flush() {
        guard !pending.isEmpty else { return }
        FileHandle.standardOutput.write(Data(pending))
        pending.removeAll(keepingCapacity: true)
    }

    private func out(_ bytes: [UInt8], perFile: Bool) {
        pending += bytes
        if !perFile || pending.count >= Self.blockBytes { flush() }
    }

    private static func isPerFile(_ body: EventBody) -> Bool {
        switch body {
        case .filePurged, .fileKept: true
        default: false
        }
    }

    /// A path for a person: control bytes and invalid UTF-8 escaped, so one file is one line.
    static func shown(_ path: [UInt8]) -> String {
        String(decoding: path, as: UTF8.self).debugDescription.dropFirst().dropLast().description
    }

    func handle(_ event: Event) {
        if json {
            out(event.jsonLine(), perFile: Self.isPerFile(event.body))
            return
        }
        var line: String?
        var toStderr = false
        switch event.body {
        case let .filePurged(_, job, path, size, _, dryRun):
            line = "\(dryRun ? "would delete" : "deleted")  \(job.job)/\(Self.shown(path))  (\(ViewFormat.bytes(size)))"
        case let .fileKept(_, job, path, reason):
            line = "kept  \(job.job)/\(Self.shown(path))  (\(reason))"
        case let .purgeFinished(_, job, deleted, kept, bytes, dryRun):
            line = "\(job.job): \(deleted) \(dryRun ? "would be deleted" : "deleted") (\(ViewFormat.bytes(bytes))), \(kept) kept"
        case let .log(level, message, _, _) where level != "info":
            line = "\(level): \(message)"
            toStderr = true
        default:
            break
        }
        guard let line else { return }
        if toStderr {
            flush()
            FileHandle.standardError.write(Data((line + "\n").utf8))
        } else {
            out(Array((line + "\n").utf8), perFile: Self.isPerFile(event.body))
        }
    }

    func finish(_ results: [PurgeResult]) {
        flush()
        guard !json, results.count > 1 else { return }
        let deleted = results.reduce(0) { $0 + $1.deleted }
        let bytes = results.reduce(Int64(0)) { $0 + $1.bytesFreed }
        let failed = results.filter { $0.error != nil }.count
        let verb = results.first?.dryRun == true ? "would be deleted" : "deleted"
        FileHandle.standardOutput.write(Data(("all: \(deleted) \(verb) (\(ViewFormat.bytes(bytes)))"
            + (failed > 0 ? "; \(failed) folder\(failed == 1 ? "" : "s") failed" : "") + "\n").utf8))
    }
}
