import Foundation
import ArgumentParser
import MediaSyncCore
import MediaSyncEngine

/// `mediasync check-config`: validates the config file and shows what would be synced where.
struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check the config file and show what would be synced where.",
        discussion: "Prints every problem found, each with its line and a fix, and exits with status 2; otherwise prints a summary and exits 0."
    )

    @OptionGroup var options: ConfigOptions

    func run() throws {
        do {
            let (location, config) = try options.load()
            print(Self.summary(of: config, from: location, ssh: { SSHConfigProbe.probe($0, config: config) },
                               libraryFileSystem: Self.libraryFileSystem(config.library)),
                  terminator: "")
        } catch let failure as ConfigFailure {
            throw failure.report()
        }
    }

    /// What the library's file system can do, as information (a USB drive's exFAT has limits mediasync works
    /// around, and a person should know them); the probe's files are removed again.
    static func libraryFileSystem(_ library: String) -> String {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: library, isDirectory: &isFolder), isFolder.boolValue else {
            return "nothing yet: the folder does not exist (create it, or mount its disk)"
        }
        return LibraryProbe.probe(library: library).summary
    }

    /// What a user needs to see to trust the config: where things land and what gets deleted.
    /// `ssh` tells what ssh resolves for an ssh source (nil for the others); `now` and `zone` place a purge
    /// schedule's next runs.
    static func summary(of config: Config, from location: ConfigLocation,
                        ssh: (Source) -> SSHConfigProbe.Outcome? = { _ in nil },
                        libraryFileSystem: String? = nil,
                        now: Int64 = Int64(Date().timeIntervalSince1970), zone: CronZone = .local) -> String {
        let format = DurationSyntax.format
        var lines = ["config:    \(location)"]
        lines.append("library:   \(config.library)")
        if let libraryFileSystem { lines.append("           on \(libraryFileSystem)") }
        lines.append("state dir: \(config.stateDirectory)")
        lines.append("socket:    \(config.socket)" + (config.socketGroup.map { " (group \($0))" } ?? ""))
        lines.append("cycle:     every \(format(config.interval)), up to \(config.concurrency) rsync children at once, "
            + "settle \(format(config.settle))")
        lines.append("retry:     \(config.retry.attempts) attempts, backoff \(format(config.retry.backoff)) "
            + "up to \(format(config.retry.maxBackoff)); stall timeout \(format(config.stallTimeout)), "
            + "io timeout \(format(config.ioTimeout))")
        let purge = config.purge
        let purging = config.sources.filter(\.purge).count
        if purging > 0 {
            var text = purging == config.sources.count ? "on" : "on for \(purging) of \(config.sources.count) sources"
            text += " (min age \(format(purge.minAge)), verify \(purge.verify.rawValue)"
            if !purge.protect.isEmpty { text += ", protect \(purge.protect.joined(separator: " "))" }
            text += ")"
            if purge.dryRun { text += ", DRY RUN: nothing is deleted" }
            lines.append("purge:     " + text)
            lines.append("           " + Self.scheduleText(purge.schedule, now: now, zone: zone))
            if purge.ageBy != .modified { lines.append("           age by the file's \(purge.ageBy == .created ? "birth" : "access") time") }
            if let note = purge.ageBy.note { lines.append("           warning: " + note) }
        } else {
            lines.append("purge:     off (sources keep their files)")
        }
        if let ingest = config.ingest {
            var notes: [String] = []
            if ingest.verifyBeforePurge { notes.append("purge waits for its confirmation") }
            if ingest.outboxLimit != IngestSettings.defaultOutboxLimit { notes.append("outbox up to \(ingest.outboxLimit) events") }
            lines.append("ingest:    \(ingest.command.joined(separator: " "))" + (notes.isEmpty ? "" : " (\(notes.joined(separator: "; ")))"))
            if let problem = Self.programProblem(ingest.command[0]) {
                lines.append("           warning: \(problem); mediasync will keep trying to start it (install it, or fix `ingest.command`)")
            }
        }
        let jobs = config.jobs.count
        lines.append("")
        lines.append("\(config.sources.count) source\(config.sources.count == 1 ? "" : "s"), \(jobs) folder\(jobs == 1 ? "" : "s"):")
        for source in config.sources {
            var details = [source.transport.summary, "root \(source.root)"] + source.transport.details
            if let bwlimit = source.bwlimit { details.append("bwlimit \(bwlimit)") }
            details.append("purge \(source.purge ? "on" : "off")")
            if source.settle != config.settle { details.append("settle \(format(source.settle))") }
            let most = StreamSplit.most(source.streams, multiConnection: source.transport.hasLanes)
            if most > 1 {
                details.append(source.streams == .auto ? "up to \(most) rsync streams per folder (auto)" : "up to \(most) rsync streams per folder")
            }
            lines.append("  \(source.name): " + details.joined(separator: ", "))
            switch ssh(source) {
            case let .resolved(resolved, warnings)?:
                lines.append("    ssh resolves: \(resolved.summary) (ssh -G)")
                for warning in warnings { lines.append("    ssh warns: \(warning)") }
            case .sshMissing?: lines.append("    ssh resolves: unknown, ssh is not installed here (install openssh-client)")
            case .failed(let why)?: lines.append("    ssh resolves: unknown, ssh -G said: \(why)")
            case nil: break
            }
            for folder in source.folders {
                lines.append("    \(source.path(of: folder)) -> \(config.destination(of: source, folder: folder))")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// When `serve` purges, with the next three runs of a cron schedule in local time.
    static func scheduleText(_ schedule: PurgeSchedule, now: Int64, zone: CronZone) -> String {
        switch schedule {
        case .afterSync:
            return "schedule after_sync: each folder right after its sync"
        case .manual:
            return "schedule manual: only `mediasync trigger --purge` (under serve) or `mediasync purge`"
        case let .cron(expression):
            let runs = expression.nextRuns(after: now, count: 3, in: zone).map(zone.describe)
            return "schedule \"\(expression.text)\" (\(zone.name) time), a purge cycle of its own: next "
                + runs.joined(separator: ", ")
        }
    }

    /// Why the ingest program cannot be started as configured, or nil. A bare name is looked up in PATH.
    static func programProblem(_ program: String) -> String? {
        let candidates = program.contains("/") ? [program]
            : (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map { "\($0)/\(program)" }
        if candidates.contains(where: { FileManager.default.isExecutableFile(atPath: $0) }) { return nil }
        if program.contains("/"), FileManager.default.fileExists(atPath: program) { return "\(program) is not executable" }
        return program.contains("/") ? "\(program) does not exist" : "\(program) is not in PATH"
    }
}
