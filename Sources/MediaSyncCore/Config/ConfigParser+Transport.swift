import Yams

extension ConfigParser {
    /// The transport-specific keys of one source, checked against its transport.
    mutating func parseTransport(_ kind: TransportKind, keys: [String: ConfigEntry],
                                 missing: ConfigMissingKey) -> Transport? {
        switch kind {
        case .local:
            return .local
        case .docker:
            var container: String?
            if let entry = keys["container"] {
                container = word(entry, example: "forge-1", what: "container name")
            } else {
                report(missing, "container", "a docker source needs the container name (docker ps shows it), e.g. `container: forge-1`")
            }
            var command: String? = "docker"
            if let entry = keys["docker_command"] {
                command = word(entry, example: "podman", what: "program")
            }
            guard let container, let command else { return nil }
            return .docker(container: container, command: ConfigPath.expandTilde(command, home: home))
        case .ssh:
            var host: String?
            if let entry = keys["host"] {
                host = word(entry, example: "ssh4.vast.ai", what: "host name")
            } else {
                report(missing, "host", "an ssh source needs the host to connect to (the part after @ in your ssh command), e.g. `host: ssh4.vast.ai`")
            }
            // Port, user and key are passed to ssh only when set here: otherwise ssh's own defaults and the
            // user's ssh config (a `Host vast1` alias with its Port, User and IdentityFile) decide.
            var port: Int?? = .some(nil)
            if let entry = keys["port"], !ConfigReader.isNull(entry.value) {
                port = reader.int(entry, range: 1...65535, example: "22",
                                  fix: "an ssh port is between 1 and 65535 (the number after -p in your ssh command)").map { .some($0) }
            }
            var user: String?? = .some(nil)
            if let entry = keys["user"], !ConfigReader.isNull(entry.value) {
                user = word(entry, example: "root", what: "user name").map { .some($0) }
            }
            var identity: String??
            if let entry = keys["identity"], !ConfigReader.isNull(entry.value) {
                identity = parseLocalPath(entry, example: "~/.ssh/vast", what: "key file", key: "identity")
            }
            var configFile: String??
            if let entry = keys["ssh_config"], !ConfigReader.isNull(entry.value) {
                configFile = parseLocalPath(entry, example: "~/.ssh/config", what: "ssh config file", key: "ssh_config")
            }
            let options = keys["ssh_options"].map { parseSSHOptions($0) } ?? []
            if let hostText = host, let at = hostText.firstIndex(of: "@") {
                reader.report(keys["host"]!.value, keys["host"]!.path, "`\(hostText)` has a user name in it",
                              fix: "write `host: \(hostText[hostText.index(after: at)...])` and `user: \(hostText[..<at])`")
                host = nil
            }
            if case let .some(.some(name)) = user, name.contains("@") {
                reader.report(keys["user"]!.value, keys["user"]!.path, "`\(name)` has an `@` in it",
                              fix: "put only the user name here and the host in `host:`")
                return nil
            }
            guard let host, let port, let user, let options, identity != .some(nil), configFile != .some(nil) else {
                return nil
            }
            return .ssh(host: host, port: port, user: user, identity: identity ?? nil, options: options,
                        configFile: configFile ?? nil)
        }
    }

    /// Reports that the mapping `missing` points at lacks `key`.
    mutating func report(_ missing: ConfigMissingKey, _ key: String, _ fix: String) {
        reader.report(at: missing.mark, "\(missing.path).\(key)", "missing", fix: fix)
    }

    /// A single word that is handed to a command as one argument: no spaces, and no leading `-`
    /// (it would be read as an option of docker or ssh).
    private mutating func word(_ entry: ConfigEntry, example: String, what: String) -> String? {
        guard let text = reader.string(entry, example: example) else { return nil }
        if text.isEmpty {
            reader.report(entry.value, entry.path, "is empty", fix: "write the \(what), e.g. `\(example)`")
            return nil
        }
        if text.hasPrefix("-") {
            reader.report(entry.value, entry.path, "`\(text)` starts with `-`, so it would be read as an option",
                          fix: "write the \(what) itself, e.g. `\(example)`")
            return nil
        }
        if text.contains(where: { $0 == " " || $0 == "\t" || $0 == "\n" }) {
            reader.report(entry.value, entry.path, "`\(text)` has a space in it",
                          fix: "write one \(what) only, e.g. `\(example)`")
            return nil
        }
        return text
    }

    /// A file on this machine (the key, the ssh config), as an absolute path: `.some(nil)` marks a reported
    /// problem.
    private mutating func parseLocalPath(_ entry: ConfigEntry, example: String, what: String, key: String) -> String?? {
        guard let text = reader.string(entry, example: example) else { return .some(nil) }
        let path = ConfigPath.expandTilde(text, home: home)
        guard path.hasPrefix("/") else {
            reader.report(entry.value, entry.path, "`\(text)` is a relative path",
                          fix: "write the \(what)'s full path, e.g. `\(key): \(example)`")
            return .some(nil)
        }
        return .some(path)
    }

    private mutating func parseSSHOptions(_ entry: ConfigEntry) -> [String]? {
        guard let items = reader.stringList(entry, example: "[Compression=no, ServerAliveInterval=15]") else { return nil }
        var ok = true
        for item in items {
            let text = item.value
            if text.hasPrefix("-") {
                reader.report(item.node, item.path, "`\(text)` starts with `-`",
                              fix: "write the option without `-o`, e.g. `Compression=no`; mediasync adds the `-o`")
                ok = false
            } else if !text.contains("=") {
                reader.report(item.node, item.path, "`\(text)` is not an ssh option",
                              fix: "write it as Name=value, e.g. `Compression=no` (see man ssh_config)")
                ok = false
            }
        }
        return ok ? items.map(\.value) : nil
    }
}

/// Where to point when a key is missing: the mapping that should hold it.
struct ConfigMissingKey {
    let path: String
    let mark: Mark?
}
