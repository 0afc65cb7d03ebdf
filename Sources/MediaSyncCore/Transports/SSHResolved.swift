/// What ssh will use for a source after reading its config files, from `ssh -G` (check-config shows it).
public struct SSHResolved: Sendable, Equatable {
    public var hostname: String
    public var port: Int
    public var user: String
    /// Key files ssh will try that are not merely its built-in defaults (`~/.ssh/id_*`); empty when only those.
    public var identityFiles: [String]
    /// What stands between ssh and the server: a `ProxyJump` or `ProxyCommand` (and its value), or nil when
    /// ssh connects to `hostname` and `port` itself.
    public var proxy: String?
    /// `AddressFamily`: `any`, `inet` or `inet6`.
    public var addressFamily: String
    /// `BindAddress` or `BindInterface`, when set: the address ssh connects from.
    public var bindsTo: String?

    public init(hostname: String, port: Int, user: String, identityFiles: [String], proxy: String? = nil,
                addressFamily: String = "any", bindsTo: String? = nil) {
        self.hostname = hostname
        self.port = port
        self.user = user
        self.identityFiles = identityFiles
        self.proxy = proxy
        self.addressFamily = addressFamily
        self.bindsTo = bindsTo
    }

    /// Where the link probe (`LinkProbeExchange`) may connect to time the link as ssh's own connection sees
    /// it: the host and port ssh connects to itself. Nil behind a proxy (the probe would time the first hop
    /// only) or from a bound address or interface (another route than the probe's).
    public var directTarget: (host: String, port: Int, family: String)? {
        guard proxy == nil, bindsTo == nil else { return nil }
        return (hostname, port, addressFamily)
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
        let proxy = values["proxyjump"].map { "ProxyJump " + $0 } ?? values["proxycommand"].map { "ProxyCommand " + $0 }
        return SSHResolved(hostname: hostname, port: port, user: user, identityFiles: keys,
                           proxy: proxy.flatMap { $0.hasSuffix(" none") ? nil : $0 },
                           addressFamily: values["addressfamily"] ?? "any",
                           bindsTo: values["bindaddress"] ?? values["bindinterface"])
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
