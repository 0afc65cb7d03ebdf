/// The argv of every child that reaches a source: the folder listing, the rsync transfer, and the end of
/// a shared ssh connection. Data (paths, names) never goes into a command string: it goes on stdin.
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
    /// Where ssh's shared-connection sockets live (the engine creates it, mode 0700); nil unless ssh.
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

    /// `sun_path` holds 108 bytes with its NUL. ssh names the socket `<folder>/<%C: 40 hex>` and first
    /// binds a temporary `<that>.<16 random chars>`, so the folder may take 108 - 1 - 41 - 17 = 49 bytes.
    public static let maxControlFolderLength = 108 - 1 - 41 - 17

    /// A short folder that always fits `sun_path`; the engine creates it 0700.
    public static func fallbackControlFolder(uid: UInt32) -> String { "/tmp/mediasync-\(uid)" }

    public init(source: Source, controlFolder: String, fallbackControlFolder: String, ioTimeoutSeconds: Int,
                bwlimit: String? = nil, extraEnvironment: [String: String] = [:]) {
        self.source = source
        self.ioTimeoutSeconds = ioTimeoutSeconds
        self.bwlimit = bwlimit ?? source.bwlimit
        self.extraEnvironment = extraEnvironment
        guard case .ssh = source.transport else {
            self.controlFolder = nil
            self.controlFolderNotice = nil
            return
        }
        if let problem = Self.controlFolderProblem(controlFolder) {
            self.controlFolder = fallbackControlFolder
            self.controlFolderNotice = "ssh control-socket folder \(controlFolder) \(problem); using "
                + "\(fallbackControlFolder) instead (set state_dir to a shorter path to keep sockets there)"
        } else {
            self.controlFolder = controlFolder
            self.controlFolderNotice = nil
        }
    }

    /// Why `folder` cannot hold ssh control sockets, or nil when it can. ssh parses `-o ControlPath=` like a
    /// config line (quotes, `%` and `~` expansion), so only plain path characters are accepted.
    public static func controlFolderProblem(_ folder: String) -> String? {
        let length = folder.utf8.count
        if length > maxControlFolderLength {
            return "is \(length) bytes long, and a socket path must fit in 108 bytes (the folder at most "
                + "\(maxControlFolderLength))"
        }
        let plain = folder.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                || "/._-+,@".utf8.contains(byte)
        }
        if !plain || !folder.hasPrefix("/") {
            return "is not a plain absolute path (ssh would expand or split characters such as spaces, %, ~ or quotes)"
        }
        return nil
    }

    // MARK: listing

    /// The argv that runs `RemoteListScript` where the source lives.
    public func listArgv(folder: String) -> [String] {
        switch source.transport {
        case .local:
            return ["/bin/sh", "-c", RemoteListScript.text]
        case .ssh:
            return ["ssh"] + sshOptions + ["--", sshDestination, RemoteListScript.sshCommand]
        case let .docker(container, command):
            return [command, "exec", "-i", container, "sh", "-c", RemoteListScript.text]
        }
    }

    /// The bytes the listing child reads on stdin: the source's root and the folder below it.
    public func listStdin(folder: String) -> [UInt8] {
        RemoteListScript.stdin(root: Array(source.root.utf8), folder: Array(folder.utf8))
    }

    // MARK: transfer

    /// The argv of the rsync child that copies the planned files of `folder` into `destination`, a local
    /// staging folder. Feed it `filesFromStdin(_:)`; paths are relative to the folder and keep their
    /// sub-folders under `destination`.
    public func rsyncArgv(folder: String, destination: String) -> [String] {
        var argv = ["rsync", "--files-from=-", "--from0",
                    // mtimes are what the manifest and the next listing compare.
                    "--times",
                    "--info=progress2", "--out-format=\(RsyncOutputParser.outFormat)",
                    "--partial-dir=\(Self.partialDirectory)",
                    "--timeout=\(ioTimeoutSeconds)"]
        if let bwlimit { argv.append("--bwlimit=\(bwlimit)") }
        let sourcePath = Self.withTrailingSlash(source.path(of: folder))
        let spec: String
        switch source.transport {
        case .local:
            spec = sourcePath
        case .ssh:
            // `-s` (long name --secluded-args since 3.3, --protect-args before): the file list and paths
            // travel inside rsync's protocol, never through the remote shell.
            argv += ["-s", "-e", Self.rsyncShellCommand(["ssh"] + sshOptions)]
            spec = "\(sshDestination):\(sourcePath)"
        case let .docker(container, command):
            // `docker exec -i` has no shell behind it and needs blocking I/O (see NOTES.md).
            argv += ["-s", "--blocking-io", "-e", Self.rsyncShellCommand([command, "exec", "-i"])]
            spec = "\(container):\(sourcePath)"
        }
        return argv + ["--", spec, Self.withTrailingSlash(destination)]
    }

    /// The `--files-from=- --from0` input: each path relative to the folder, NUL-terminated.
    public static func filesFromStdin(_ paths: [[UInt8]]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(paths.reduce(0) { $0 + $1.count + 1 })
        for path in paths { bytes += path; bytes.append(0) }
        return bytes
    }

    // MARK: shared ssh connection

    /// True when ssh children of this source share one connection per cycle (`ControlMaster=auto`).
    public var sharesConnection: Bool {
        guard case .ssh = source.transport, controlFolder != nil else { return false }
        return !userSets("ControlMaster") && !userSets("ControlPath")
    }

    /// `ssh -O exit` for the end of a cycle: ends the shared connection; nil when there is none.
    public func closeSharedConnectionArgv() -> [String]? { controlArgv("exit") }

    /// `ssh -O check`: exits 0 while a shared connection is up; nil when there is none.
    public func checkSharedConnectionArgv() -> [String]? { controlArgv("check") }

    /// The control socket's name `%C` hashes the host, port and user ssh resolved, so the control command
    /// gets every option the connection got (config file, port, user, the user's `-o` options): with fewer,
    /// an alias or a `Port=` option would resolve elsewhere and miss the socket.
    private func controlArgv(_ verb: String) -> [String]? {
        guard sharesConnection, case .ssh = source.transport, controlFolder != nil else { return nil }
        return ["ssh", "-O", verb] + sshOptions + ["--", sshDestination]
    }

    /// `user@host`, or just `host` when the config names no user (ssh's config or its default decides).
    public var sshDestination: String {
        guard case let .ssh(host, _, user, _, _, _) = source.transport else { return "" }
        return user.map { "\($0)@\(host)" } ?? host
    }

    /// ssh's options from the source's own settings: `-F`, `-p`, `-i`, each only when the config sets it, so
    /// that ssh's defaults and the user's ssh config (`Host` aliases) decide the rest.
    public var sshConfigArguments: [String] {
        guard case let .ssh(_, port, _, identity, _, configFile) = source.transport else { return [] }
        var argv: [String] = []
        if let configFile { argv += ["-F", configFile] }
        if let port { argv += ["-p", String(port)] }
        if let identity { argv += ["-i", identity] }
        return argv
    }

    /// The ssh options, in order; a default is left out when the user's `ssh_options` set the same
    /// keyword (ssh keeps the first value it reads, so the user's would otherwise lose). These defaults
    /// also beat the same keywords in the user's ssh config file; `ssh_options` is where to change them.
    public var sshOptions: [String] {
        guard case let .ssh(_, _, _, _, options, _) = source.transport else { return [] }
        var argv = sshConfigArguments
        var defaults = ["BatchMode=yes", "ConnectTimeout=10", "StrictHostKeyChecking=accept-new",
                        "ServerAliveInterval=15", "ServerAliveCountMax=3"]
        if sharesConnection, let controlFolder {
            defaults += ["ControlMaster=auto", "ControlPath=\(controlFolder)/%C", "ControlPersist=60"]
        }
        for option in defaults where !userSets(Self.keyword(of: option)) {
            argv += ["-o", option]
        }
        for option in options { argv += ["-o", option] }
        return argv
    }

    private func userSets(_ keyword: String) -> Bool {
        guard case let .ssh(_, _, _, _, options, _) = source.transport else { return false }
        return options.contains { Self.keyword(of: $0).lowercased() == keyword.lowercased() }
    }

    /// `Key=Value` or `Key Value` → `Key`.
    static func keyword(of option: String) -> String {
        let trimmed = option.drop { $0 == " " || $0 == "\t" }
        return String(trimmed.prefix { $0 != "=" && $0 != " " && $0 != "\t" })
    }

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
