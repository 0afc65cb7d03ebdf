import ArgumentParser
import Foundation
import MediaSyncCore
import MediaSyncEngine

/// `mediasync logs`: reads the kept log (`<state_dir>/logs.sqlite`) that `serve` and `sync` write.
struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the kept log: what serve and sync did, newest last.",
        discussion: """
            Filters combine. The log keeps the newest 100,000 entries; the journal (journalctl -u mediasync) \
            keeps what systemd is told to keep.
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

    @Option(name: [.customShort("n"), .long], help: ArgumentHelp("Only the newest this many entries.", valueName: "count"))
    var lines: Int?

    @Flag(help: "One JSON object per line instead of readable lines.")
    var json = false

    func run() throws {
        let config = try options.loadOrExit()
        let query: LogQuery
        do {
            query = try LogQuery(cycle: cycle, source: source, level: level, since: since, limit: lines,
                                 nowMs: Int64((Date().timeIntervalSince1970 * 1000).rounded()))
        } catch {
            throw ConfigFailure(message: "mediasync: \(error)").report()
        }
        let path = config.stateDirectory + "/" + LogStore.fileName
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
        var out: [UInt8] = []
        for entry in entries {
            if json {
                out.append(contentsOf: entry.jsonLine())
            } else {
                out.append(contentsOf: entry.readableLine().utf8)
                out.append(0x0A)
            }
            if out.count > 1 << 16 { TerminalView.writeAll(fd: 1, out); out.removeAll(keepingCapacity: true) }
        }
        TerminalView.writeAll(fd: 1, out)
    }
}
