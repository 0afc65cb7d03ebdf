import MediaSyncCore
import Testing

/// A `Host vast1` alias in the user's ssh config must work as it does in a shell: mediasync passes port,
/// user and key only when its config sets them, everywhere it runs ssh.
@Suite("ssh: the user's ssh config is honoured")
struct SSHConfigTests {
    func commands(_ transport: Transport) -> TransportCommands {
        TransportCommands(source: Source(name: "gpu", transport: transport, root: "/workspace", folders: ["output"]),
                          controlFolder: "/var/lib/mediasync/ssh", fallbackControlFolder: "/tmp/mediasync-0",
                          ioTimeoutSeconds: 30)
    }

    /// Every ssh argv of a source: listing, rsync's `-e` (split back into words), purge, checksum, control.
    func everySSHCall(_ c: TransportCommands) -> [String: [String]] {
        let rsync = c.rsyncArgv(folder: "output", destination: "/srv/staging")
        let shell = rsync[rsync.firstIndex(of: "-e")! + 1].split(separator: " ").map(String.init)
        return ["listing": c.listArgv(folder: "output"), "rsync -e": shell + [rsync.last(where: { $0.contains(":/") })!],
                "purge": c.purgeArgv(), "checksum": c.checksumArgv(), "check": c.checkSharedConnectionArgv()!,
                "exit": c.closeSharedConnectionArgv()!]
    }

    @Test("an alias with no port, user or key: ssh gets the bare alias and no -p, -l or user@ anywhere")
    func aliasAlone() throws {
        let c = commands(.ssh(host: "vast1"))
        for (what, argv) in everySSHCall(c) {
            #expect(!argv.contains("-p") && !argv.contains("-i") && !argv.contains("-F"), "\(what): \(argv)")
            #expect(!argv.contains { $0.hasSuffix("@vast1") || $0.contains("@vast1:") }, "\(what) names a user: \(argv)")
            #expect(argv.contains("vast1") || argv.contains("vast1:/workspace/output/"), "\(what): \(argv)")
        }
        #expect(c.rsyncArgv(folder: "output", destination: "/srv/staging").suffix(2)
            == ["vast1:/workspace/output/", "/srv/staging/"])
        #expect(Transport.ssh(host: "vast1").summary == "ssh vast1")
    }

    @Test("port, user, key and ssh_config, when set, reach every ssh call")
    func setValues() throws {
        let c = commands(.ssh(host: "ssh4.vast.ai", port: 40022, user: "root", identity: "/home/ada/.ssh/vast",
                              options: ["Compression=no"], configFile: "/etc/mediasync/ssh_config"))
        for (what, argv) in everySSHCall(c) {
            for pair in [["-p", "40022"], ["-i", "/home/ada/.ssh/vast"], ["-F", "/etc/mediasync/ssh_config"],
                         ["-o", "Compression=no"]] {
                #expect(argv.indices.contains { argv[$0...].starts(with: pair) }, "\(what) lacks \(pair): \(argv)")
            }
            #expect(argv.contains("root@ssh4.vast.ai") || argv.contains("root@ssh4.vast.ai:/workspace/output/"),
                    "\(what): \(argv)")
        }
        #expect(c.resolveArgv() == ["ssh", "-G", "-F", "/etc/mediasync/ssh_config", "-p", "40022",
                                    "-i", "/home/ada/.ssh/vast", "-o", "Compression=no", "--", "root@ssh4.vast.ai"])
        #expect(c.source.transport.summary == "ssh root@ssh4.vast.ai port 40022")
        #expect(Transport.ssh(host: "h", port: 22, user: "ada").summary == "ssh ada@h")
        #expect(Transport.ssh(host: "vast1", port: 2222).summary == "ssh vast1 port 2222")
    }

    @Test("the config file: ssh_config is read with ~ expanded; no port or user means none, not 22 and root")
    func parsing() throws {
        let config = try parseConfig("""
            library: /srv/media
            sources:
              - {name: a, transport: ssh, host: vast1, root: /w, folders: [o], ssh_config: ~/.ssh/gpu-boxes}
              - {name: b, transport: ssh, host: h, port: 2222, user: ubuntu, identity: ~/.ssh/k, root: /w, folders: [p]}
            """)
        #expect(config.sources[0].transport == .ssh(host: "vast1", configFile: "/home/ada/.ssh/gpu-boxes"))
        #expect(config.sources[1].transport == .ssh(host: "h", port: 2222, user: "ubuntu", identity: "/home/ada/.ssh/k"))
        let issue = configIssue("""
            library: /srv/media
            sources:
              - {name: a, transport: ssh, host: vast1, root: /w, folders: [o], ssh_config: gpu-boxes}
            """, path: "sources[0].ssh_config")
        #expect(issue?.problem == "`gpu-boxes` is a relative path")
        #expect(issue?.fix.contains("ssh_config: ~/.ssh/config") == true, "\(issue?.fix ?? "-")")
        let onDocker = configIssue("""
            library: /srv/media
            sources:
              - {name: a, transport: docker, container: c, root: /w, folders: [o], ssh_config: /x}
            """, path: "sources[0].ssh_config")
        #expect(onDocker?.problem.contains("for ssh sources") == true, "\(onDocker?.problem ?? "-")")
    }

    @Test("ssh -G output gives host, port, user and the keys that are not ssh's built-in defaults")
    func resolved() throws {
        let output = """
            user root
            hostname 127.0.0.1
            port 40022
            identityfile ~/.ssh/vast
            identityfile ~/.ssh/id_rsa
            identityfile ~/.ssh/id_ed25519
            userknownhostsfile /root/.ssh/known_hosts /root/.ssh/known_hosts2

            """
        let resolved = try #require(SSHResolved.parse(output))
        #expect(resolved == SSHResolved(hostname: "127.0.0.1", port: 40022, user: "root", identityFiles: ["~/.ssh/vast"]))
        #expect(resolved.summary == "root@127.0.0.1 port 40022, key ~/.ssh/vast")
        let defaults = try #require(SSHResolved.parse("user ada\nhostname h\nport 22\nidentityfile ~/.ssh/id_rsa\n"))
        #expect(defaults.summary == "ada@h port 22, ssh's default keys")
        #expect(SSHResolved.parse("hostname h\n") == nil)
    }

    @Test("where the link probe may connect: the host and port ssh connects to itself, not through a proxy or from a bound address")
    func directTarget() throws {
        let plain = try #require(SSHResolved.parse("user root\nhostname gpu.example\nport 40022\naddressfamily inet\n"))
        #expect(plain.directTarget?.host == "gpu.example")
        #expect(plain.directTarget?.port == 40022)
        #expect(plain.directTarget?.family == "inet")
        let jump = try #require(SSHResolved.parse("user root\nhostname gpu\nport 22\nproxyjump me@bastion:22\n"))
        #expect(jump.directTarget == nil)
        #expect(jump.proxy == "ProxyJump me@bastion:22")
        let command = try #require(SSHResolved.parse("user root\nhostname gpu\nport 22\nproxycommand nc %h %p\n"))
        #expect(command.directTarget == nil)
        let none = try #require(SSHResolved.parse("user root\nhostname gpu\nport 22\nproxyjump none\n"))
        #expect(none.directTarget?.host == "gpu", "ProxyJump none is no proxy")
        let bound = try #require(SSHResolved.parse("user root\nhostname gpu\nport 22\nbindaddress 10.0.0.2\n"))
        #expect(bound.directTarget == nil)
    }
}
