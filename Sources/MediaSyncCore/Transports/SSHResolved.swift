/// What ssh will use for a source after reading its config files, from `ssh -G` (check-config shows it).
public struct SSHResolved: Sendable, Equatable {
    public var hostname: String
    public var port: Int
    public var user: String
    /// Key files ssh will try that are not merely its built-in defaults (`~/.ssh/id_*`); empty when only those.
    public var identityFiles: [String]

    public init(hostname: String, port: Int, user: String, identityFiles: [String]) {
        self.hostname = hostname
        self.port = port
        self.user = user
        self.identityFiles = identityFiles
    }

    /// ssh's built-in key list, which `ssh -G` prints when nothing names a key.
    static let defaultIdentityFiles: Set<String> = [
        "~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ecdsa_sk", "~/.ssh/id_ed25519", "~/.ssh/id_ed25519_sk",
        "~/.ssh/id_xmss", "~/.ssh/id_dsa",
    ]

    /// Reads `ssh -G` output (`keyword value` lines); nil when it lacks hostname, port or user.
    public static func parse(_ output: String) -> SSHResolved? {
        var values: [String: String] = [:]
        var keys: [String] = []
        for line in output.split(separator: "\n") {
            guard let space = line.firstIndex(of: " ") else { continue }
            let keyword = String(line[line.startIndex..<space])
            let value = String(line[line.index(after: space)...])
            if keyword == "identityfile" {
                if !defaultIdentityFiles.contains(value) && !keys.contains(value) { keys.append(value) }
            } else if values[keyword] == nil {
                values[keyword] = value
            }
        }
        guard let hostname = values["hostname"], let port = values["port"].flatMap({ Int($0) }),
              let user = values["user"] else { return nil }
        return SSHResolved(hostname: hostname, port: port, user: user, identityFiles: keys)
    }

    /// `root@127.0.0.1 port 2222, key ~/.ssh/vast`.
    public var summary: String {
        "\(user)@\(hostname) port \(port), "
            + (identityFiles.isEmpty ? "ssh's default keys" : "key " + identityFiles.joined(separator: ", key "))
    }
}

extension TransportCommands {
    /// `ssh -G ...`: prints the settings ssh would connect with (after `-F`, `~/.ssh/config` and the
    /// user's `-o` options) without connecting; nil unless the source is reached by ssh.
    public func resolveArgv() -> [String]? {
        guard let ssh = source.transport.as(SSHTransport.self) else { return nil }
        return ["ssh", "-G"] + ssh.configArguments + ssh.options.flatMap { ["-o", $0] } + ["--", ssh.destination]
    }
}
