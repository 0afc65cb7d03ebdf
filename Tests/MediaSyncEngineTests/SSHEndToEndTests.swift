import Foundation
import MediaSyncCore
import MediaSyncEngine
import Testing

/// ssh as Vast.ai users meet it, against the real loopback sshd: a `Host` alias from an ssh config, a box
/// recreated with a new host key, a key the box refuses, a host that does not exist, a port that never
/// answers, and a login shell that prints a banner. Each must work, or fail with one line naming the cause
/// and the fix, tried again only where that can help.
@Suite("ssh end to end: aliases, host keys, refused logins, noisy shells")
struct SSHEndToEndTests {
    /// An ssh config file with `Host myalias` pointing at the test sshd, as a user keeps one in ~/.ssh/config.
    func aliasConfig(_ h: SyncHarness, server: TestSSHD, user: String = "root", extra: [String] = []) throws -> String {
        let path = h.temp.sub("ssh_config")
        try ([
            "Host myalias",
            "  HostName 127.0.0.1",
            "  Port \(server.port)",
            "  User \(user)",
            "  IdentityFile \(server.identity)",
            "  IdentitiesOnly yes",
        ] + extra.map { "  " + $0 }).joined(separator: "\n").appending("\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func aliasSource(_ name: String, configFile: String, root: String, folders: [String], options: [String] = [],
                     purge: Bool = false) -> Source {
        Source(name: name, transport: .ssh(host: "myalias", options: options, configFile: configFile),
               root: root, folders: folders, purge: purge, settle: .seconds(0))
    }

    @Test("`host: myalias` with no port, user or key syncs and purges through the alias; check-config shows what ssh resolves")
    func aliasSyncsAndPurges() throws {
        let server = try TestSSHD()
        let h = try SyncHarness("al")
        let root = h.temp.sub("remote")
        let expected = try DatedTree.make(in: root + "/output")
        let before = TreeSnapshot(root + "/output")
        let configFile = try aliasConfig(h, server: server,
                                         extra: ["StrictHostKeyChecking no", "UserKnownHostsFile /dev/null", "LogLevel ERROR"])
        let source = aliasSource("vast1", configFile: configFile, root: root, folders: ["output"], purge: true)
        // Without `port:` and `user:` nothing says 22 or root: a connection that worked went through the alias.
        let commands = TransportCommands(source: source, controlFolder: h.stateDirectory + "/ssh",
                                         fallbackControlFolder: "/tmp", ioTimeoutSeconds: 30)
        #expect(!commands.listArgv(folder: "output").contains("-p"))

        let run = try h.run(h.config([source]))
        let finished = try #require(run.finished("vast1/output"))
        #expect(finished.state == .done, "\(run.summary)")
        #expect(run.result.files == expected)
        #expect(before.differences(from: TreeSnapshot(h.libraryFolder(source, "output"))) == [],
                "the library is not the source byte for byte")
        // The purge ran through the alias too: the old files left the box, each with its library copy.
        #expect(TreeSnapshot(root + "/output").files.isEmpty, "the purge did not reach the box through the alias")
        #expect(run.result.purgesFailed == 0, "\(run.result.errors)")
        // The shared connection was ended through the alias as well (its -O exit found the socket).
        #expect(h.leftovers(server: server) == [], "children outlived the cycle")

        let yaml = h.temp.sub("config.yaml")
        try """
            library: \(h.library)
            state_dir: \(h.stateDirectory)
            sources:
              - {name: vast1, transport: ssh, host: myalias, ssh_config: \(configFile), root: /workspace, folders: [output]}
            """.write(toFile: yaml, atomically: true, encoding: .utf8)
        let check = try Tool.run([try PurgeCLITests.binary(), "check-config", "--config", yaml])
        #expect(check.status == 0, "\(check.errorText)")
        #expect(check.text.contains("  vast1: ssh myalias, root /workspace, ssh config \(configFile), purge off"), "\(check.text)")
        #expect(check.text.contains("    ssh resolves: root@127.0.0.1 port \(server.port), key \(server.identity) (ssh -G)"),
                "\(check.text)")
    }

    @Test("a box recreated with a new host key: one line with host, port and the exact ssh-keygen fix; no retry; the fix works")
    func changedHostKey() throws {
        let server = try TestSSHD()
        let h = try SyncHarness("hk")
        let root = h.temp.sub("remote")
        let expected = try DatedTree.make(in: root + "/output")
        let knownHosts = h.temp.sub("known_hosts")
        // The key the old box had: another key stored for the same `[127.0.0.1]:port`.
        let oldKey = h.temp.sub("old_host_key")
        try Tool.check(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", oldKey])
        let oldPublic = try String(contentsOfFile: oldKey + ".pub", encoding: .utf8).split(separator: " ").prefix(2)
        try "[127.0.0.1]:\(server.port) \(oldPublic.joined(separator: " "))\n"
            .write(toFile: knownHosts, atomically: true, encoding: .utf8)
        // mediasync's own StrictHostKeyChecking (accept-new) is in force; only the file is the test's.
        let source = Source(name: "vast", transport: .ssh(host: "127.0.0.1", port: server.port, user: "root",
                                                          identity: server.identity,
                                                          options: ["UserKnownHostsFile=\(knownHosts)"]),
                            root: root, folders: ["output"], settle: .seconds(0))
        let config = h.config([source], attempts: 3)

        let run = try h.run(config)
        let failed = try #require(run.finished("vast/output"))
        #expect(failed.state == .failed)
        #expect(failed.attempts == 1, "a changed host key does not change back: no retry")
        let error = try #require(failed.error)
        #expect(error.hasPrefix("vast/output: the host key of 127.0.0.1 port \(server.port) has changed"), "\(error)")
        #expect(error.contains("probably recreated"))
        let fix = "ssh-keygen -f '\(knownHosts)' -R '[127.0.0.1]:\(server.port)'"
        #expect(error.contains("`\(fix)`"), "\(error)")
        #expect(!error.contains("\n") && !error.contains("@@@"), "\(error.debugDescription)")
        #expect(TreeSnapshot(h.libraryFolder(source, "output")).files.isEmpty)

        // What the user does next: run the line as given; the next cycle learns the new key and syncs.
        let ran = try Tool.run(["/bin/sh", "-c", fix])
        #expect(ran.status == 0, "\(ran.errorText)")
        let again = try h.run(config)
        #expect(again.finished("vast/output")?.state == .done, "\(again.summary)")
        #expect(again.result.files == expected)
        // The box's new key is what known_hosts holds now (the host name may be hashed: HashKnownHosts).
        let newKey = try String(contentsOfFile: server.folder.appendingPathComponent("host_key.pub").path, encoding: .utf8)
            .split(separator: " ")[1]
        let learned = try String(contentsOfFile: knownHosts, encoding: .utf8)
        #expect(learned.contains(newKey) && !learned.contains(oldPublic[oldPublic.index(after: oldPublic.startIndex)]))
        #expect(h.leftovers(server: server) == [], "children outlived the cycles")
    }

    @Test("a refused key and an unknown host fail at once with the cause and the fix; a silent port is retried and named")
    func refusedUnknownAndTimeout() throws {
        let server = try TestSSHD()
        let h = try SyncHarness("rk")
        let strangerKey = h.temp.sub("stranger_key")
        try Tool.check(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", strangerKey])
        let quiet = ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null"]
        let refused = Source(name: "refused", transport: .ssh(host: "127.0.0.1", port: server.port, user: "root",
                                                              identity: strangerKey, options: quiet + ["IdentitiesOnly=yes"]),
                             root: "/workspace", folders: ["output"], settle: .seconds(0))
        let unknown = Source(name: "unknown", transport: .ssh(host: "no-such-box.invalid", options: quiet),
                             root: "/workspace", folders: ["output"], settle: .seconds(0))
        let silentPort = try SilentPort()
        let silent = Source(name: "silent", transport: .ssh(host: "127.0.0.1", port: silentPort.number,
                                                            options: quiet + ["ConnectTimeout=2"]),
                            root: "/workspace", folders: ["output"], settle: .seconds(0))

        let run = try h.run(h.config([refused, unknown, silent], attempts: 2))
        #expect(run.result.jobsFailed == 3, "\(run.summary)")
        for line in run.result.errors { #expect(!line.contains("\n"), "one line: \(line.debugDescription)") }

        let denied = try #require(run.finished("refused/output"))
        #expect(denied.attempts == 1, "a refused key is not accepted on the next try")
        #expect(denied.error?.hasPrefix("refused/output: the box refused the login of root@127.0.0.1 (Permission denied (publickey")
                == true, "\(denied.error ?? "-")")
        #expect(denied.error?.contains("check `user:`") == true && denied.error?.contains("`identity:`") == true)

        let nowhere = try #require(run.finished("unknown/output"))
        #expect(nowhere.attempts == 1, "a name that does not exist does not appear by retrying")
        #expect(nowhere.error?.hasPrefix("unknown/output: the host name no-such-box.invalid does not exist") == true,
                "\(nowhere.error ?? "-")")
        #expect(nowhere.error?.contains("check `host:`") == true)

        let timedOut = try #require(run.finished("silent/output"))
        #expect(timedOut.attempts == 2, "a box that does not answer may be rebooting: tried again")
        #expect(timedOut.error == "silent/output: 127.0.0.1 port \(silentPort.number) did not answer (Connection timed out): "
                + "the box is off or unreachable, or a firewall drops the port; check `host:` and `port:`",
                "\(timedOut.error ?? "-")")
        #expect(h.leftovers(server: server) == [], "children outlived the cycle")
    }

    @Test("a login shell whose ~/.bashrc prints a banner is named with its line and the fix, exit 1, no retry; the fix works",
          .enabled(if: getuid() == 0, "needs root: it creates the user msnoisy whose ~/.bashrc prints a banner"))
    func noisyShell() throws {
        let server = try TestSSHD()
        let h = try SyncHarness("ns")
        let home = try NoisyUser.prepare()
        // The box's files, readable by that user.
        let root = home + "/" + URL(fileURLWithPath: h.temp.path).lastPathComponent
        defer { try? FileManager.default.removeItem(atPath: root) }
        let expected = try DatedTree.make(in: root + "/output")
        try Tool.check(["/bin/chmod", "-R", "a+rX", root])
        let configFile = try aliasConfig(h, server: server, user: NoisyUser.name,
                                         extra: ["StrictHostKeyChecking no", "UserKnownHostsFile /dev/null", "LogLevel ERROR"])
        let source = aliasSource("gpu", configFile: configFile, root: root, folders: ["output"])
        let config = h.config([source], attempts: 3)

        // A folder that is not there fails its listing as well; the banner is still what is named first,
        // since it would break rsync anyway.
        var withMissing = source
        withMissing.folders = ["output", "not-there"]
        let run = try h.run(h.config([withMissing], attempts: 3))
        for job in ["gpu/output", "gpu/not-there"] {
            let failed = try #require(run.finished(job))
            #expect(failed.state == .failed)
            #expect(failed.attempts == 1, "the banner stays until someone edits the file: no retry storm")
            let error = try #require(failed.error)
            #expect(error.hasPrefix("\(job): the remote shell (ssh myalias) printed \"Welcome to your GPU box!\" before"),
                    "\(error)")
            #expect(error.contains("~/.bashrc") && error.contains("`[ -z \"$PS1\" ] && return`"), "\(error)")
            #expect(!error.contains("line 1") && !error.contains("could not be read") && !error.contains("\n"), "\(error)")
        }

        // `mediasync sync` as the user runs it: exit 1, the one line, no parse error.
        let yaml = h.temp.sub("config.yaml")
        try """
            library: \(h.library)
            state_dir: \(h.stateDirectory)
            settle: 0s
            purge: {enabled: true, min_age: 1d}
            sources:
              - {name: gpu, transport: ssh, host: myalias, ssh_config: \(configFile), root: \(root), folders: [output]}
            """.write(toFile: yaml, atomically: true, encoding: .utf8)
        let cli = try Tool.run([try PurgeCLITests.binary(), "sync", "--config", yaml])
        #expect(cli.status == 1, "\(cli.errorText)")
        #expect(cli.errorText.contains("printed \"Welcome to your GPU box!\" before mediasync's command ran"), "\(cli.errorText)")
        #expect(!cli.errorText.contains("expected the source's clock"), "\(cli.errorText)")
        #expect(!cli.errorText.contains("retrying"), "\(cli.errorText)")
        // `mediasync purge` lists the same way and says the same.
        let purge = try Tool.run([try PurgeCLITests.binary(), "purge", "--config", yaml])
        #expect(purge.status == 1, "\(purge.errorText)")
        #expect(purge.errorText.contains("printed \"Welcome to your GPU box!\" before mediasync's command ran"), "\(purge.errorText)")
        #expect(!purge.errorText.contains("could not be read"), "\(purge.errorText)")
        #expect(TreeSnapshot(root + "/output").files.count == expected, "nothing was purged")

        // The fix the line gives, applied on the box: the next cycle syncs everything.
        let bashrc = home + "/.bashrc"
        let noisy = try String(contentsOfFile: bashrc, encoding: .utf8)
        try ("[ -z \"$PS1\" ] && return\n" + noisy).write(toFile: bashrc, atomically: true, encoding: .utf8)
        defer { try? noisy.write(toFile: bashrc, atomically: true, encoding: .utf8) }
        let fixed = try h.run(config)
        #expect(fixed.finished("gpu/output")?.state == .done, "\(fixed.summary)")
        #expect(fixed.result.files == expected)
        #expect(h.leftovers(server: server) == [], "children outlived the cycles")
    }
}

/// The box's login user whose `~/.bashrc` prints for every shell, as GPU images ship it; made once with
/// `useradd` (tests run as root), its password `*` so that sshd without PAM does not see a locked account.
enum NoisyUser {
    static let name = "msnoisy"
    static let banner = "echo \"Welcome to your GPU box!\"\n"

    /// Creates the user if missing, (re)writes the noisy ~/.bashrc, returns the home folder.
    static func prepare() throws -> String {
        if (try? Tool.run(["/usr/bin/id", name]))?.status != 0 {
            let made = try Tool.run(["/usr/sbin/useradd", "-m", "-s", "/bin/bash", "-p", "*", name])
            // Another test process may have made it meanwhile; only a user still missing is a failure.
            if made.status != 0, (try? Tool.run(["/usr/bin/id", name]))?.status != 0 {
                throw Tool.Failure(description: "useradd \(name) failed: \(made.errorText)")
            }
        }
        let home = try Tool.check(["/usr/bin/getent", "passwd", name]).split(separator: ":", omittingEmptySubsequences: false)[5]
        let path = String(home)
        try banner.write(toFile: path + "/.bashrc", atomically: true, encoding: .utf8)
        return path
    }
}

/// A loopback port whose listen queue is full: the kernel drops every new SYN, so ssh's connect times out
/// (what a firewalled or powered-off box looks like), with no dependence on the outside network.
final class SilentPort {
    let number: Int
    private var fds: [Int32] = []

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        fds.append(listener)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 0) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard ok else {
            close(listener)
            throw Tool.Failure(description: "cannot make a silent port: errno \(errno)")
        }
        number = Int(UInt16(bigEndian: addr.sin_port))
        // Fill the queue: with a backlog of 0 it holds one connection, and this one is never accepted.
        let filler = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        fds.append(filler)
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(filler, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        // The queue is full once the filler's handshake is complete: wait for that, up to 2 s.
        var waiting = pollfd(fd: filler, events: Int16(POLLOUT), revents: 0)
        var error: Int32 = -1
        var size = socklen_t(MemoryLayout<Int32>.size)
        guard poll(&waiting, 1, 2_000) == 1, getsockopt(filler, SOL_SOCKET, SO_ERROR, &error, &size) == 0, error == 0 else {
            fds.forEach { close($0) }
            throw Tool.Failure(description: "the silent port's filler connection did not complete (error \(error))")
        }
    }

    deinit { fds.forEach { close($0) } }
}
