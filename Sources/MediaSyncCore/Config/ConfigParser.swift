import Yams

extension Config {
    /// The top-level keys a config file may have.
    public static let topLevelKeys = ["library", "state_dir", "socket", "socket_group", "interval", "concurrency",
                                      "settle", "stall_timeout", "io_timeout", "retry", "purge", "sources", "ingest",
                                      "metrics_file"]

    /// Parses and validates a config file's text. Pure: no file is read and nothing is looked up but `environment`.
    ///
    /// - Parameters:
    ///   - fileName: printed at the start of every issue (`config.yaml:14:5: ...`).
    ///   - environment: `XDG_STATE_HOME` and `XDG_RUNTIME_DIR` pick the default state dir and socket.
    ///   - homeDirectory: what `~` expands to.
    /// - Throws: ``ConfigErrors`` holding every problem found, in file order.
    public static func parse(yaml: String, fileName: String, environment: [String: String],
                             homeDirectory: String) throws(ConfigErrors) -> Config {
        var parser = ConfigParser(reader: ConfigReader(file: fileName), environment: environment, home: homeDirectory)
        let config = parser.parse(yaml)
        let issues = parser.reader.sortedIssues
        guard let config, issues.isEmpty else { throw ConfigErrors(issues: issues) }
        return config
    }
}

/// Turns the YAML tree into a ``Config``, one section at a time.
struct ConfigParser {
    var reader: ConfigReader
    let environment: [String: String]
    let home: String

    mutating func parse(_ yaml: String) -> Config? {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                reader.report(at: nil, "", "the file is empty",
                              fix: "it needs at least `library:` and `sources:`; see contrib/example-config.yaml")
                return nil
            }
            root = node
        } catch {
            reportSyntax(error)
            return nil
        }
        if ConfigReader.isNull(root) {
            reader.report(at: nil, "", "the file has no settings (only comments or blank lines)",
                          fix: "it needs at least `library:` and `sources:`; see contrib/example-config.yaml")
            return nil
        }
        guard let mapping = reader.mapping(root, "", example: "library: /srv/media") else { return nil }
        let misplaced = Dictionary(uniqueKeysWithValues: Self.sourceOnlyKeys.map {
            ($0, (problem: "is a source key, not a top-level key", fix: "move it into one of the entries under `sources:`"))
        })
        let keys = reader.entries(of: mapping, path: "", known: Config.topLevelKeys, misplaced: misplaced)

        let library = localPath(keys["library"], required: true, mapping: mapping,
                                fix: "the library is where media lands; write e.g. `library: /srv/media`")
        var stateDirectory = localPath(keys["state_dir"], required: false, mapping: mapping, fix: "")
        if keys["state_dir"] == nil { stateDirectory = defaultStateDirectory }
        var socket = localPath(keys["socket"], required: false, mapping: mapping, fix: "")
        if keys["socket"] == nil, let stateDirectory { socket = defaultSocket(stateDirectory: stateDirectory) }
        if let socket { checkSocketLength(socket, at: (keys["socket"] ?? keys["state_dir"])?.value.mark ?? mapping.mark) }

        var socketGroup: String?
        if let entry = keys["socket_group"], !ConfigReader.isNull(entry.value) {
            socketGroup = reader.string(entry, example: "mediasync")
        }
        let interval = keys["interval"].map { reader.duration($0, minimum: .seconds(1)) } ?? Config.defaultInterval
        let concurrency = keys["concurrency"].map {
            reader.int($0, range: 1...64, example: "8", fix: "run between 1 and 64 rsync children at once, e.g. `concurrency: 8`")
        } ?? Config.defaultConcurrency
        let settle = keys["settle"].map { reader.duration($0) } ?? Config.defaultSettle
        let stallTimeout = keys["stall_timeout"].map { reader.duration($0, minimum: .seconds(1)) } ?? Config.defaultStallTimeout
        let ioTimeout = keys["io_timeout"].map { reader.duration($0, minimum: .seconds(1)) } ?? Config.defaultIOTimeout
        let retry = keys["retry"].map { parseRetry($0) } ?? RetryPolicy()
        let purge = keys["purge"].map { parsePurge($0) } ?? PurgeSettings()
        let ingest = keys["ingest"].flatMap { parseIngest($0) }
        let metricsFile = keys["metrics_file"].flatMap { entry in
            ConfigReader.isNull(entry.value) ? nil : localPath(entry, required: false, mapping: mapping, fix: "")
        }

        var sources: [Source]?
        if let entry = keys["sources"] {
            sources = parseSources(entry, purgeEnabled: purge?.enabled ?? false, settle: settle ?? Config.defaultSettle,
                                   library: library)
        } else {
            reader.report(at: mapping.mark, "sources", "missing",
                          fix: "list where media comes from, e.g. `sources: [{name: forge, transport: docker, container: forge-1, root: /app/outputs, folders: [txt2img-images]}]`")
        }

        guard let library, let stateDirectory, let socket, let interval, let concurrency, let settle,
              let stallTimeout, let ioTimeout, let retry, let purge, let sources, reader.issues.isEmpty else {
            return nil
        }
        return Config(library: library, stateDirectory: stateDirectory, socket: socket, socketGroup: socketGroup,
                      interval: interval, concurrency: concurrency, settle: settle, stallTimeout: stallTimeout,
                      ioTimeout: ioTimeout, retry: retry, purge: purge, sources: sources, ingest: ingest,
                      metricsFile: metricsFile)
    }

    /// The keys of a source that are not top-level keys too.
    static let sourceOnlyKeys = allSourceKeys.filter { !Config.topLevelKeys.contains($0) }

    private mutating func reportSyntax(_ error: any Error) {
        guard let yamlError = error as? YamlError else {
            reader.report(at: nil, "", "cannot read the file as YAML: \(error)", fix: "check the file's syntax")
            return
        }
        let fix = "check the indentation and quoting around this line (a value with `: ` or `#` in it needs quotes)"
        switch yamlError {
        case let .scanner(context, problem, mark, yaml), let .parser(context, problem, mark, yaml),
             let .composer(context, problem, mark, yaml):
            let while_ = context.map { " (\($0.text))" } ?? ""
            let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
            let hasTab = mark.line >= 1 && mark.line <= lines.count && lines[mark.line - 1].contains("\t")
            reader.report(at: mark, "", "YAML syntax error: \(problem)\(while_)",
                          fix: hasTab ? "this line has a tab; YAML indents with spaces only" : fix)
        case let .duplicatedKeysInMapping(duplicates, context):
            let names = duplicates.map { "`\($0)`" }.joined(separator: ", ")
            reader.report(at: context.mark, "", "the key \(names) appears twice in the same mapping",
                          fix: "keep one of them; a later value would silently replace the earlier one")
        case let .reader(problem, _, _, _):
            reader.report(at: nil, "", "cannot read the file: \(problem)", fix: "save the file as UTF-8 text")
        default:
            reader.report(at: nil, "", "YAML error: \(yamlError)", fix: fix)
        }
    }

    // MARK: Paths on this machine

    /// A local absolute path with `~` expanded and trailing slashes dropped.
    mutating func localPath(_ entry: ConfigEntry?, required: Bool, mapping: Node.Mapping, fix: String) -> String? {
        guard let entry else {
            if required { reader.report(at: mapping.mark, "library", "missing", fix: fix) }
            return nil
        }
        guard let text = reader.string(entry, example: "/srv/media") else { return nil }
        let path = ConfigPath.trimmingTrailingSlashes(ConfigPath.expandTilde(text, home: home))
        guard path.hasPrefix("/") else {
            reader.report(entry.value, entry.path, "`\(text)` is a relative path",
                          fix: "write the full path, starting with `/` or `~/`, e.g. `/srv/media` or `~/Pictures/ai`")
            return nil
        }
        return path
    }

    var defaultStateDirectory: String {
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") { return ConfigPath.join(xdg, "mediasync") }
        return ConfigPath.join(home, ".local/state/mediasync")
    }

    func defaultSocket(stateDirectory: String) -> String {
        if let runtime = environment["XDG_RUNTIME_DIR"], runtime.hasPrefix("/") {
            return ConfigPath.join(runtime, "mediasync.sock")
        }
        return ConfigPath.join(stateDirectory, "mediasync.sock")
    }

    /// A Unix socket path longer than `sun_path` (108 bytes with its NUL) would be cut short silently.
    mutating func checkSocketLength(_ socket: String, at mark: Mark?) {
        let limit = 107
        guard socket.utf8.count > limit else { return }
        reader.report(at: mark, "socket", "the socket path `\(socket)` is \(socket.utf8.count) bytes; Unix sockets allow \(limit)",
                      fix: "set `socket:` to a shorter path, e.g. /run/mediasync/mediasync.sock")
    }

    // MARK: Sections

    mutating func parseRetry(_ entry: ConfigEntry) -> RetryPolicy? {
        guard let mapping = reader.mapping(entry.value, entry.path, example: "retry: {attempts: 3, backoff: 10s, max_backoff: 10m}") else {
            return nil
        }
        let keys = reader.entries(of: mapping, path: entry.path, known: ["attempts", "backoff", "max_backoff"])
        let defaults = RetryPolicy()
        let attempts = keys["attempts"].map {
            reader.int($0, range: 1...100, example: "3", fix: "tries per job per cycle, counting the first: 1 (no retry) to 100")
        } ?? defaults.attempts
        let backoff = keys["backoff"].map { reader.duration($0) } ?? defaults.backoff
        let maxBackoff = keys["max_backoff"].map { reader.duration($0) } ?? backoff.map { max($0, defaults.maxBackoff) }
        guard let attempts, let backoff, let maxBackoff else { return nil }
        if maxBackoff < backoff {
            reader.report(keys["max_backoff"]?.value ?? entry.value, "\(entry.path).max_backoff",
                          "\(DurationSyntax.format(maxBackoff)) is shorter than backoff (\(DurationSyntax.format(backoff)))",
                          fix: "make max_backoff at least as long as backoff")
            return nil
        }
        return RetryPolicy(attempts: attempts, backoff: backoff, maxBackoff: maxBackoff)
    }

    mutating func parsePurge(_ entry: ConfigEntry) -> PurgeSettings? {
        guard let mapping = reader.mapping(entry.value, entry.path, example: "purge: {enabled: true, min_age: 24h}") else {
            return nil
        }
        let keys = reader.entries(of: mapping, path: entry.path,
                                  known: ["enabled", "min_age", "protect", "verify", "dry_run", "schedule", "age_by"])
        let defaults = PurgeSettings()
        let enabled = keys["enabled"].map { reader.bool($0) } ?? defaults.enabled
        let minAge = keys["min_age"].map { reader.duration($0) } ?? defaults.minAge
        let dryRun = keys["dry_run"].map { reader.bool($0) } ?? defaults.dryRun
        let protect = keys["protect"].map { reader.stringList($0, example: "[\"*.keep\", \"favorites/*\"]")?.map(\.value) }
            ?? defaults.protect
        var verify: PurgeVerify? = defaults.verify
        if let entry = keys["verify"], let text = reader.string(entry, example: "size") {
            verify = PurgeVerify(rawValue: text)
            if verify == nil {
                reader.report(entry.value, entry.path, "`\(text)` is not a verify mode",
                              fix: "write `size` (compare sizes) or `checksum` (compare content; reads every file)")
            }
        }
        var schedule: PurgeSchedule? = defaults.schedule
        if let entry = keys["schedule"] {
            schedule = reader.string(entry, example: "\"0 3 * * *\"").flatMap { text in
                do {
                    return try PurgeSchedule(parsing: text)
                } catch {
                    reader.report(entry.value, entry.path, "\(error)",
                                  fix: "write `after_sync` (purge each folder after its sync), `manual` (only `mediasync "
                                      + "trigger --purge`) or a cron expression in quotes, e.g. `schedule: \"0 3 * * *\"`")
                    return nil
                }
            }
        }
        var ageBy: PurgeAgeBy? = defaults.ageBy
        if let entry = keys["age_by"], let text = reader.string(entry, example: "modified") {
            ageBy = PurgeAgeBy(rawValue: text)
            if ageBy == nil {
                reader.report(entry.value, entry.path, "`\(text)` is not a time of a file",
                              fix: "write `modified` (the default), `created` (birth time, where the source's file "
                                  + "system records it) or `accessed` (last access)")
            }
        }
        guard let enabled, let minAge, let dryRun, let protect, let verify, let schedule, let ageBy else { return nil }
        return PurgeSettings(enabled: enabled, minAge: minAge, protect: protect, verify: verify, dryRun: dryRun,
                             schedule: schedule, ageBy: ageBy)
    }

    mutating func parseIngest(_ entry: ConfigEntry) -> IngestSettings? {
        let example = "ingest: {command: [\"/usr/local/bin/media-ingest\", \"--db\", \"postgresql:///media\"]}"
        guard let mapping = reader.mapping(entry.value, entry.path, example: example) else { return nil }
        let keys = reader.entries(of: mapping, path: entry.path, known: ["command", "verify_before_purge", "outbox_limit"])
        let verify = keys["verify_before_purge"].map { reader.bool($0) } ?? true
        let outboxLimit = keys["outbox_limit"].map {
            reader.int($0, range: 10...10_000_000, example: "100000",
                       fix: "give the most events to keep for the ingest, between 10 and 10000000, e.g. `outbox_limit: 100000`")
        } ?? IngestSettings.defaultOutboxLimit
        guard let commandEntry = keys["command"] else {
            reader.report(at: mapping.mark, "\(entry.path).command", "missing",
                          fix: "give the ingest program and its arguments as a list, e.g. `command: [/usr/local/bin/media-ingest]`")
            return nil
        }
        guard let command = reader.stringList(commandEntry, example: "[/usr/local/bin/media-ingest, --db, postgresql:///media]") else {
            return nil
        }
        guard let first = command.first else {
            reader.report(commandEntry.value, commandEntry.path, "is empty",
                          fix: "give the ingest program and its arguments, e.g. `[/usr/local/bin/media-ingest]`")
            return nil
        }
        if first.value.isEmpty {
            reader.report(first.node, first.path, "the program name is empty", fix: "write the ingest program's path")
            return nil
        }
        guard let verify, let outboxLimit else { return nil }
        // Only the program gets `~` expanded: arguments go to it verbatim, as no shell is involved.
        let argv = [ConfigPath.expandTilde(first.value, home: home)] + command.dropFirst().map(\.value)
        return IngestSettings(command: argv, verifyBeforePurge: verify, outboxLimit: outboxLimit)
    }
}
