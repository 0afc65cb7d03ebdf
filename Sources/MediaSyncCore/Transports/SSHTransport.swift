/// `transport: ssh`: a box reached with `ssh [-F configFile] [-p port] [-i identity] [user@]host` and key
/// authentication. `port`, `user` and `identity` are nil unless the config sets them: ssh then uses its own
/// defaults and the user's ssh config (`Host` aliases in `~/.ssh/config` work as in a shell). `configFile`
/// replaces `~/.ssh/config` (`-F`), e.g. for a service user whose home holds none. The children of one source
/// share one connection per cycle (ControlMaster) when they can.
public struct SSHTransport: SourceTransport {
    public var host: String
    public var port: Int?
    public var user: String?
    public var identity: String?
    /// Extra `-o` options (`ssh_options:`), `Name=value`.
    public var options: [String]
    public var configFile: String?

    public init(host: String, port: Int? = nil, user: String? = nil, identity: String? = nil, options: [String] = [],
                configFile: String? = nil) {
        self.host = host
        self.port = port
        self.user = user
        self.identity = identity
        self.options = options
        self.configFile = configFile
    }

    // MARK: config

    public static let name = "ssh"
    public static let keys = ["host", "port", "user", "identity", "ssh_options", "ssh_config"]
    public static let rootPlace = "on the host"

    public static func parse(_ keys: inout TransportKeys) -> SSHTransport? {
        var host = keys.requiredWord("host", example: "ssh4.vast.ai", what: "host name",
                                     ifMissing: "an ssh source needs the host to connect to (the part after @ in your ssh command), e.g. `host: ssh4.vast.ai`")
        // Port, user and key are passed to ssh only when set here: otherwise ssh's own defaults and the
        // user's ssh config (a `Host vast1` alias with its Port, User and IdentityFile) decide.
        var port: Int?? = .some(nil)
        if keys.isSet("port") {
            port = keys.int("port", range: 1...65535, example: "22",
                            fix: "an ssh port is between 1 and 65535 (the number after -p in your ssh command)").map { .some($0) }
        }
        var user: String?? = .some(nil)
        if keys.isSet("user") {
            user = keys.word("user", example: "root", what: "user name").map { .some($0) }
        }
        var identity: String?? = .some(nil)
        if keys.isSet("identity") {
            identity = keys.localPath("identity", example: "~/.ssh/vast", what: "key file").map { .some($0) }
        }
        var configFile: String?? = .some(nil)
        if keys.isSet("ssh_config") {
            configFile = keys.localPath("ssh_config", example: "~/.ssh/config", what: "ssh config file").map { .some($0) }
        }
        var options: [String]? = []
        if keys.isPresent("ssh_options") {
            options = keys.stringList("ssh_options", example: "[Compression=no, ServerAliveInterval=15]") { text in
                if text.hasPrefix("-") {
                    return ("`\(text)` starts with `-`",
                            "write the option without `-o`, e.g. `Compression=no`; mediasync adds the `-o`")
                }
                if !text.contains("=") {
                    return ("`\(text)` is not an ssh option", "write it as Name=value, e.g. `Compression=no` (see man ssh_config)")
                }
                return nil
            }
        }
        if let hostText = host, let at = hostText.firstIndex(of: "@") {
            keys.report("host", "`\(hostText)` has a user name in it",
                        fix: "write `host: \(hostText[hostText.index(after: at)...])` and `user: \(hostText[..<at])`")
            host = nil
        }
        if case let .some(.some(name)) = user, name.contains("@") {
            keys.report("user", "`\(name)` has an `@` in it", fix: "put only the user name here and the host in `host:`")
            return nil
        }
        guard let host, let port, let user, let identity, let configFile, let options else { return nil }
        return SSHTransport(host: host, port: port, user: user, identity: identity, options: options, configFile: configFile)
    }

    // MARK: people

    /// `ssh root@host port 2222`, or `ssh vast1` for an alias whose port and user come from the ssh config.
    public var summary: String {
        "ssh " + (user.map { "\($0)@" } ?? "") + host + (port.map { $0 == 22 ? "" : " port \($0)" } ?? "")
    }

    public var details: [String] {
        (identity.map { ["key \($0)"] } ?? []) + (configFile.map { ["ssh config \($0)"] } ?? [])
    }

    // MARK: children

    public func scriptArgv(_ script: String, connectionFolder: String?) -> [String] {
        ["ssh"] + sshOptions(connectionFolder: connectionFolder) + ["--", destination, Self.remoteCommand(script)]
    }

    public func rsyncRemote(path: String, connectionFolder: String?) -> RsyncRemote {
        rsyncRemote(path: path, connectionFolder: connectionFolder, lane: 0)
    }

    public func rsyncRemote(path: String, connectionFolder: String?, lane: Int) -> RsyncRemote {
        // `-s` (long name --secluded-args since 3.3, --protect-args before): the file list and paths travel
        // inside rsync's protocol, never through the remote shell.
        RsyncRemote(options: ["-s", "-e", TransportCommands.rsyncShellCommand(["ssh"] + sshOptions(connectionFolder: connectionFolder, lane: lane))],
                    source: "\(destination):\(path)")
    }

    /// The remote command string for a script: ssh's remote shell parses it, so `sh -c '<script>'` (the
    /// scripts hold no single quote).
    public static func remoteCommand(_ script: String) -> String { "sh -c '" + script + "'" }

    /// `user@host`, or just `host` when the config names no user (ssh's config or its default decides).
    var destination: String { user.map { "\($0)@\(host)" } ?? host }

    /// ssh's options from the source's own settings: `-F`, `-p`, `-i`, each only when the config sets it, so
    /// that ssh's defaults and the user's ssh config (`Host` aliases) decide the rest.
    var configArguments: [String] {
        var argv: [String] = []
        if let configFile { argv += ["-F", configFile] }
        if let port { argv += ["-p", String(port)] }
        if let identity { argv += ["-i", identity] }
        return argv
    }

    /// The ssh options, in order; a default is left out when the user's `ssh_options` set the same keyword
    /// (ssh keeps the first value it reads, so the user's would otherwise lose). These defaults also beat the
    /// same keywords in the user's ssh config file; `ssh_options` is where to change them.
    ///
    /// `lane` 0 is the source's shared connection (the listings, the purge, small streams); lane N > 0 is a
    /// connection of its own for a big stream (`ControlPath=<folder>/%C-N`), with its own TCP and ssh windows.
    func sshOptions(connectionFolder: String?, lane: Int = 0) -> [String] {
        var argv = configArguments
        var defaults = ["BatchMode=yes", "ConnectTimeout=10", "StrictHostKeyChecking=accept-new",
                        "ServerAliveInterval=15", "ServerAliveCountMax=3"]
        if let folder = sharedFolder(connectionFolder) {
            defaults += ["ControlMaster=auto", "ControlPath=\(folder)/%C" + (lane > 0 ? "-\(lane)" : ""), "ControlPersist=60"]
        }
        for option in defaults where !userSets(Self.keyword(of: option)) {
            argv += ["-o", option]
        }
        for option in options { argv += ["-o", option] }
        return argv
    }

    private func userSets(_ keyword: String) -> Bool {
        options.contains { Self.keyword(of: $0).lowercased() == keyword.lowercased() }
    }

    /// `Key=Value` or `Key Value` → `Key`.
    static func keyword(of option: String) -> String {
        let trimmed = option.drop { $0 == " " || $0 == "\t" }
        return String(trimmed.prefix { $0 != "=" && $0 != " " && $0 != "\t" })
    }

    // MARK: the shared connection

    public static let sharesConnection = true
    public static let hasLanes = true

    /// `sun_path` holds 108 bytes with its NUL. ssh names the socket `<folder>/<%C: 40 hex>[-<lane>]` (lanes
    /// up to 99) and first binds a temporary `<that>.<16 random chars>`, so the folder may take
    /// 108 - 1 - 41 - 3 - 17 = 46 bytes.
    public static let maxControlFolderLength = 108 - 1 - 41 - 3 - 17

    public static func connectionFolder(preferred: String, fallback: String) -> (folder: String, notice: String?)? {
        guard let problem = controlFolderProblem(preferred) else { return (preferred, nil) }
        return (fallback, "ssh control-socket folder \(preferred) \(problem); using \(fallback) instead "
            + "(set state_dir to a shorter path to keep sockets there)")
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

    /// `ssh -O exit`: ends the shared connection.
    public func closeConnectionArgv(connectionFolder: String?) -> [String]? { controlArgv("exit", connectionFolder) }

    /// `ssh -O exit` for one lane's connection.
    public func closeConnectionArgv(connectionFolder: String?, lane: Int) -> [String]? {
        controlArgv("exit", connectionFolder, lane: lane)
    }

    /// Opens a lane's connection and leaves its master running: `ssh -f -N ... <dest>` goes to the background
    /// once logged in, and runs no remote command. A command (`true`, as before) cost a session channel, two
    /// round trips and a start of the user's login shell, which sources its rc files (pyenv's, conda's on a GPU
    /// box): on loopback here a lane opened in 0.36 s with `true`, in 0.17 s without.
    public func openConnectionArgv(connectionFolder: String?, lane: Int) -> [String]? {
        guard sharedFolder(connectionFolder) != nil else { return nil }
        return ["ssh", "-f", "-N"] + sshOptions(connectionFolder: connectionFolder, lane: lane) + ["--", destination]
    }

    /// `ssh -O check`: exits 0 while a shared connection is up.
    public func checkConnectionArgv(connectionFolder: String?) -> [String]? { controlArgv("check", connectionFolder) }

    /// The folder of the shared connection's socket, nil when the children do not share one (no folder, or the
    /// user's `ssh_options` set ControlMaster or ControlPath themselves).
    private func sharedFolder(_ connectionFolder: String?) -> String? {
        guard let connectionFolder, !userSets("ControlMaster"), !userSets("ControlPath") else { return nil }
        return connectionFolder
    }

    /// The control socket's name `%C` hashes the host, port and user ssh resolved, so the control command gets
    /// every option the connection got (config file, port, user, the user's `-o` options): with fewer, an alias
    /// or a `Port=` option would resolve elsewhere and miss the socket.
    private func controlArgv(_ verb: String, _ connectionFolder: String?, lane: Int = 0) -> [String]? {
        guard sharedFolder(connectionFolder) != nil else { return nil }
        return ["ssh", "-O", verb] + sshOptions(connectionFolder: connectionFolder, lane: lane) + ["--", destination]
    }

    // MARK: failures

    public static let failureWords = TransportFailureWords(
        lines: [StderrLine(.prefix("ssh: "), .error, .ssh)]
            // Phrases only ssh prints (it does not always put `ssh:` in front).
            + ["Permission denied (", "Host key verification failed", "host key is known for",
               "REMOTE HOST IDENTIFICATION HAS CHANGED", "kex_exchange_identification", "Connection closed by ",
               "Connection reset by ", "Connection timed out during banner exchange", "Bad owner or permissions on",
               "Could not resolve hostname", "Too many authentication failures", "Load key "]
                .map { StderrLine(.contains($0), .error, .ssh) }
            + [StderrLine(.prefix("Warning: Permanently added"), .info, .ssh)],
        hopeless: ["Permission denied (", "Host key verification failed", "REMOTE HOST IDENTIFICATION HAS CHANGED"])

    public static func diagnose(_ lines: [String], target: String) -> TransportDiagnosis? {
        SSHDiagnosis.diagnose(lines, target: target).map { TransportDiagnosis(line: $0.line, retryable: $0.retryable) }
    }
}

extension Transport {
    /// `ssh [-F configFile] [-p port] [-i identity] [user@]host`; see `SSHTransport`.
    public static func ssh(host: String, port: Int? = nil, user: String? = nil, identity: String? = nil,
                           options: [String] = [], configFile: String? = nil) -> Transport {
        Transport(SSHTransport(host: host, port: port, user: user, identity: identity, options: options,
                               configFile: configFile))
    }
}

extension TransportCommands {
    /// ssh's options for this source's children (empty unless it is reached by ssh).
    public var sshOptions: [String] {
        source.transport.as(SSHTransport.self)?.sshOptions(connectionFolder: controlFolder) ?? []
    }
}
