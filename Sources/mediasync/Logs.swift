import ArgumentParser
import Foundation
import MediaSyncCore
import MediaSyncEngine

/// `mediasync logs`: reads the kept log (`<state_dir>/logs.sqlite`) that `serve` and `sync` write.
struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the kept log: what serve and sync did, newest last.",
        discussion: """
            Filters combine. Entries reach the log within a quarter of a second, also while serve runs. \
            With --follow (-f), like journalctl -f: the newest 10 matching entries (or -n COUNT, or all \
            since --since), then every new entry that matches the filters as it is written, until Ctrl-C \
            (exit 0); -n 0 shows only new ones. When there is no log yet, --follow says so and waits for \
            serve or sync to make it. The log keeps the newest 100,000 entries; the journal \
            (journalctl -u mediasync) keeps what systemd is told to keep.
            """
    )

    @OptionGroup var options: ConfigOptions

    @Option(help: ArgumentHelp("Only this cycle's entries.", valueName: "id"))
    var cycle: Int64?

    @Option(help: ArgumentHelp("Only entries about this source.", valueName: "name"))
    var source: String?

    @Option(help: ArgumentHelp("This level and more severe: trace, debug, info, notice, warning, error, critical.",
                               valueName: "level"))
    var level: String?

    @Option(help: ArgumentHelp("Only entries this recent, e.g. 90s, 30m, 2h, 1d.", valueName: "duration"))
    var since: String?

    @Option(name: [.customShort("n"), .long],
            help: ArgumentHelp("Only the newest this many entries (with --follow, 0: only new ones).", valueName: "count"))
    var lines: Int?

    @Flag(name: [.customShort("f"), .long],
          help: "Keep running and print new entries as they are written, with the same filters; Ctrl-C ends it.")
    var follow = false

    @Flag(help: "One JSON object per line instead of readable lines.")
    var json = false

    func run() throws {
        let config = try options.loadOrExit()
        var query: LogQuery
        do {
            let zero = follow && lines == 0
            query = try LogQuery(cycle: cycle, source: source, level: level, since: since, limit: zero ? nil : lines,
                                 nowMs: Int64((Date().timeIntervalSince1970 * 1000).rounded()))
            // journalctl -f: the last 10 unless a count or a start time is given.
            if zero { query.limit = 0 } else if follow && lines == nil && since == nil { query.limit = 10 }
        } catch {
            throw ConfigFailure(message: "mediasync: \(error)").report()
        }
        let path = config.stateDirectory + "/" + LogStore.fileName
        if follow { return try Self.follow(path: path, query: query, json: json) }
        guard FileManager.default.fileExists(atPath: path) else {
            FileHandle.standardError.write(Data("mediasync: no log yet at \(path); `mediasync serve` and `mediasync sync` write it\n".utf8))
            return
        }
        let entries: [LogEntry]
        do {
            entries = try LogStore(path: path, readOnly: true).entries(query)
        } catch {
            FileHandle.standardError.write(Data("mediasync: \(error)\n".utf8))
            throw ExitCode(1)
        }
        Self.write(entries, json: json)
    }

    /// Prints entries to stdout, readable or as JSON lines; false when stdout is gone (a closed pipe).
    @discardableResult
    static func write(_ entries: [LogEntry], json: Bool) -> Bool {
        var out: [UInt8] = []
        for entry in entries {
            if json {
                out.append(contentsOf: entry.jsonLine())
            } else {
                out.append(contentsOf: entry.readableLine().utf8)
                out.append(0x0A)
            }
            if out.count > 1 << 16 {
                guard TerminalView.writeAll(fd: 1, out) else { return false }
                out.removeAll(keepingCapacity: true)
            }
        }
        return TerminalView.writeAll(fd: 1, out)
    }
}
