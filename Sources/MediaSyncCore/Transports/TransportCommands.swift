/// The argv of every child that reaches a source: the folder listing, the rsync transfer, the purge and its
/// checksums, and the end of a shared connection. The source's transport says how each reaches it
/// (`SourceTransport`); this adds what every transport shares. Data (paths, names) never goes into a command
/// string: it goes on stdin, or for a local rsync in arguments of their own (`namesAsArguments`).
///
/// ```swift
/// let commands = TransportCommands(source: source, controlFolder: state + "/ssh",
///                                  fallbackControlFolder: TransportCommands.fallbackControlFolder(uid: getuid()),
///                                  ioTimeoutSeconds: 60)
/// spawn(commands.listArgv(folder: "outputs"), stdin: commands.listStdin(folder: "outputs"),
///       environment: commands.environment(parent: ProcessInfo.processInfo.environment))
/// ```
public struct TransportCommands: Sendable, Equatable {
    public let source: Source
    /// Where the transport keeps its connection state (ssh's shared-connection sockets; the engine creates
    /// it, mode 0700); nil when it keeps none.
    public let controlFolder: String?
    /// Set when the configured control folder could not be used and the fallback was taken, saying why.
    public let controlFolderNotice: String?
    /// rsync `--timeout` seconds.
    public let ioTimeoutSeconds: Int
    /// rsync `--bwlimit` value, exactly as configured; nil means no limit.
    public let bwlimit: String?
    /// Added to every child's environment (tests point the docker shim at its containers this way).
    public var extraEnvironment: [String: String]

    /// The folder in the staging area and in the source where rsync keeps unfinished files.
    public static let partialDirectory = ".mediasync-partial"

    /// A short folder that always fits `sun_path`; the engine creates it 0700.
    public static func fallbackControlFolder(uid: UInt32) -> String { "/tmp/mediasync-\(uid)" }

    public init(source: Source, controlFolder: String, fallbackControlFolder: String, ioTimeoutSeconds: Int,
                bwlimit: String? = nil, extraEnvironment: [String: String] = [:]) {
        self.source = source
        self.ioTimeoutSeconds = ioTimeoutSeconds
        self.bwlimit = bwlimit ?? source.bwlimit
        self.extraEnvironment = extraEnvironment
        let chosen = type(of: source.transport.method).connectionFolder(preferred: controlFolder,
                                                                        fallback: fallbackControlFolder)
        self.controlFolder = chosen?.folder
        self.controlFolderNotice = chosen?.notice
    }

    private var transport: any SourceTransport { source.transport.method }

    // MARK: listing

    /// The argv that runs `RemoteListScript` where the source lives.
    public func listArgv(folder: String) -> [String] {
        transport.scriptArgv(RemoteListScript.text, connectionFolder: controlFolder)
    }

    /// The bytes the listing child reads on stdin: the source's root and the folder below it, and for the purge
    /// which time of each file its age is measured from.
    public func listStdin(folder: String, ageBy: PurgeAgeBy = .modified) -> [UInt8] {
        RemoteListScript.stdin(root: Array(source.root.utf8), folder: Array(folder.utf8), ageBy: ageBy)
    }

    // MARK: transfer

    /// The argv of the rsync child that copies the planned files of `folder` into `destination`, a local
    /// staging folder. Feed it `filesFromStdin(_:)`; paths are relative to the folder and keep their
    /// sub-folders under `destination`.
    /// `lane` picks the connection on transports that have several (`SourceTransport.hasLanes`): 0 is the
    /// shared one.
    ///
    /// `placing` set: rsync writes straight into the library folder `destination` (`Placement.library`): its
    /// temporary file beside the final name as always (`.<name>.XXXXXX`; a `--temp-dir` elsewhere cost rsync
    /// 3.5 a walk of that whole path per file, more than the move out of staging it saves), anything it would
    /// replace moved into `displacedFolder(placing)` (`--backup-dir`); folder times are left alone
    /// (they are the library's). No `--partial-dir`: an unfinished file is not kept for a resume (see
    /// docs/architecture.md, "Placing straight into the library", for the verification failures an absolute one
    /// gave a resumed file).
    ///
    /// `names` set (`namesAsArguments`): the files are those arguments, not a `--files-from` list on stdin.
    public func rsyncArgv(folder: String, destination: String, lane: Int = 0, placing: String? = nil,
                          names: [String]? = nil) -> [String] {
        // `--files-from` implies --relative and --dirs; names given as arguments (`<folder>/./<name>`) ask for them.
        var argv = names == nil ? ["rsync", "--files-from=-", "--from0"] : ["rsync", "--relative", "--dirs"]
        argv += [// mtimes are what the manifest and the next listing compare.
                 "--times",
                 "--info=progress2", "--out-format=\(RsyncOutputParser.outFormat)",
                 "--timeout=\(ioTimeoutSeconds)"]
        if placing == nil { argv.append("--partial-dir=\(Self.partialDirectory)") }
        if let placing {
            argv += ["--backup",
                     "--backup-dir=\(Self.displacedFolder(placing))", "--omit-dir-times"]
        }
        if let bwlimit { argv.append("--bwlimit=\(bwlimit)") }
        if let names { return argv + ["--"] + names + [Self.withTrailingSlash(destination)] }
        let remote = transport.rsyncRemote(path: Self.withTrailingSlash(source.path(of: folder)),
                                           connectionFolder: controlFolder, lane: lane)
        return argv + remote.options + ["--", remote.source, Self.withTrailingSlash(destination)]
    }

    /// The names of `files` (relative to `folder`) as a local rsync's arguments, `<folder>/./<name>`; nil when
    /// they go on stdin (`filesFromStdin`) instead.
    ///
    /// Why: rsync reads a `--files-from` list one byte at a time, with a `poll` before each byte (strace: 170,591
    /// reads and 160,765 polls for 5,000 names). Given as arguments, the same 5,000 files took rsync 0.23 s
    /// of CPU instead of 0.37 s, and 0.57-0.70 s instead of 1.09-1.12 s (docs/benchmarks.md). A folder that is
    /// gone still fails as one `change_dir` error (rsync enters the part before `/./`), and a name gone since
    /// the listing still reads as vanished (`link_stat ... No such file or directory`).
    ///
    /// nil for a transport that does not take names as arguments, a folder path rsync would misread (relative,
    /// or holding a `/./` of its own), a name that is not UTF-8 (arguments are Strings here), or when the
    /// arguments would take more than `room` bytes (half the kernel's ARG_MAX, less the environment: a bigger
    /// folder goes on stdin as before).
    public func namesAsArguments(folder: String, files: [[UInt8]], room: Int) -> [String]? {
        guard type(of: transport).takesNamesAsArguments else { return nil }
        let base = Self.withTrailingSlash(source.path(of: folder))
        guard base.hasPrefix("/"), !base.contains("/./") else { return nil }
        let prefix = base + "./"
        // Each argument takes its bytes, the NUL and the pointer to it.
        let perName = prefix.utf8.count + 1 + MemoryLayout<UnsafePointer<CChar>>.size
        var left = room - 64
        var names: [String] = []
        names.reserveCapacity(files.count)
        for file in files {
            left -= perName + file.count
            guard left >= 0, let name = String(validating: file, as: UTF8.self) else { return nil }
            names.append(prefix + name)
        }
        return names
    }

    /// Where rsync moves what was at a planned name when it puts a file there (`rsyncArgv(placing:)`'s
    /// `--backup-dir`), in the job's placing folder.
    public static func displacedFolder(_ placing: String) -> String {
        placing + "/displaced"
    }

    /// The `--files-from=- --from0` input: each path relative to the folder, NUL-terminated.
    public static func filesFromStdin(_ paths: [[UInt8]]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(paths.reduce(0) { $0 + $1.count + 1 })
        for path in paths { bytes += path; bytes.append(0) }
        return bytes
    }

    // MARK: purge

    /// The argv that runs `RemotePurgeScript` where the source lives.
    public func purgeArgv() -> [String] {
        transport.scriptArgv(RemotePurgeScript.text, connectionFolder: controlFolder)
    }

    /// The stdin of the purge child for `folder`: min age, folder path, records.
    public func purgeStdin(folder: String, minAgeSeconds: Int64, records: [RemotePurgeScript.Record]) -> [UInt8] {
        RemotePurgeScript.stdin(folder: Array(source.path(of: folder).utf8), minAgeSeconds: minAgeSeconds,
                                records: records)
    }

    /// The argv that runs `RemoteChecksumScript` where the source lives.
    public func checksumArgv() -> [String] {
        transport.scriptArgv(RemoteChecksumScript.text, connectionFolder: controlFolder)
    }

    /// The stdin of the checksum child for `folder`: folder path, then the paths.
    public func checksumStdin(folder: String, paths: [[UInt8]]) -> [UInt8] {
        RemoteChecksumScript.stdin(folder: Array(source.path(of: folder).utf8), paths: paths)
    }

    // MARK: shared connection

    /// The argv that ends the source's shared connection at the end of a cycle; nil when there is none.
    public func closeSharedConnectionArgv() -> [String]? { transport.closeConnectionArgv(connectionFolder: controlFolder) }

    /// The argv that opens lane `lane`'s connection ahead of the stream that will use it (and leaves it up);
    /// nil when the transport has no lanes.
    public func openLaneArgv(_ lane: Int) -> [String]? {
        transport.openConnectionArgv(connectionFolder: controlFolder, lane: lane)
    }

    /// The argv that ends lane `lane`'s connection; nil when there is none.
    public func closeLaneArgv(_ lane: Int) -> [String]? {
        transport.closeConnectionArgv(connectionFolder: controlFolder, lane: lane)
    }

    /// The argv that exits 0 while a shared connection is up; nil when there is none.
    public func checkSharedConnectionArgv() -> [String]? { transport.checkConnectionArgv(connectionFolder: controlFolder) }

    // MARK: environment

    /// The environment of every child: ours (ssh needs SSH_AUTH_SOCK, docker DOCKER_HOST, rootless podman
    /// XDG_RUNTIME_DIR), with a fixed locale and zone because rsync's numbers and times depend on them,
    /// plus `extraEnvironment`.
    public func environment(parent: [String: String]) -> [String: String] {
        var env = parent.filter { key, _ in key != "LANG" && key != "LANGUAGE" && !key.hasPrefix("LC_") }
        env["LC_ALL"] = "C.UTF-8"
        env["TZ"] = "UTC"
        if env["PATH"] == nil { env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" }
        env.merge(extraEnvironment) { _, extra in extra }
        return env
    }

    // MARK: helpers

    /// Joins words into one rsync `-e` string. rsync splits it on spaces and honours '...' and "..."
    /// (a doubled quote inside is a literal one), so a word with a space or a quote is put in single
    /// quotes with its own single quotes doubled.
    public static func rsyncShellCommand(_ words: [String]) -> String {
        words.map { word in
            let needsQuotes = word.isEmpty || word.contains { $0 == " " || $0 == "'" || $0 == "\"" }
            guard needsQuotes else { return word }
            return "'" + word.replacingAll("'", with: "''") + "'"
        }.joined(separator: " ")
    }

    static func withTrailingSlash(_ path: String) -> String {
        path.hasSuffix("/") ? path : path + "/"
    }
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for character in self {
            if character == target { out += replacement } else { out.append(character) }
        }
        return out
    }
}
