import Foundation
import MediaSyncCore
import Testing

/// The ssh control-socket limit and option precedence, checked against the real ssh: a socket path that
/// does not fit sun_path makes every ssh call of the source fail with 255, not just lose sharing.
@Suite("transports: ssh control sockets and options")
struct TransportControlTests {
    /// The source lists a quiet folder of its own (listing /tmp races with other tests' files).
    func sshSource(_ server: TestSSHD, in temp: TempFolder, options: [String] = []) throws -> Source {
        let root = temp.sub("src")
        try BytePath.mkdirs(Array((root + "/tmp").utf8))
        try BytePath.write(Array((root + "/tmp/a.png").utf8), [1, 2, 3], mtime: 1_700_000_000)
        return Source(name: "gpu", transport: .ssh(host: "127.0.0.1", port: server.port, user: "root",
                                                   identity: server.identity,
                                                   options: ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null",
                                                             "LogLevel=ERROR"] + options),
                      root: root, folders: ["tmp"])
    }

    /// A folder under `temp` whose path is exactly `length` bytes.
    func folder(in temp: TempFolder, length: Int) throws -> String {
        let path = temp.path + "/" + String(repeating: "c", count: length - temp.path.utf8.count - 1)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("a 46-byte control folder is used and works, lanes too; a 47-byte one falls back, says why, and works")
    func controlFolderLimit() throws {
        let server = try TestSSHD(logLevel: "VERBOSE")
        let temp = try TempFolder("ctl")
        let fits = try folder(in: temp, length: SSHTransport.maxControlFolderLength)
        let tooLong = try folder(in: temp, length: SSHTransport.maxControlFolderLength + 1)
        let fallback = try folder(in: temp, length: 30)

        let fitting = TransportCommands(source: try sshSource(server, in: temp), controlFolder: fits,
                                        fallbackControlFolder: fallback, ioTimeoutSeconds: 10)
        #expect(fitting.controlFolder == fits && fitting.controlFolderNotice == nil)
        defer { _ = try? Tool.run(fitting.closeSharedConnectionArgv()!) }
        let (listed, listing) = try fitting.runListing(folder: "tmp")
        #expect(listed.status == 0, "\(listed.errorText)")
        #expect(listing != nil)
        #expect(try Tool.run(fitting.checkSharedConnectionArgv()!).status == 0)
        // A big stream's own connection (lane 64: concurrency's most) has the longest socket name.
        defer { _ = try? Tool.run(fitting.closeLaneArgv(64)!) }
        let sshdLog = server.folder.appendingPathComponent("sshd.log")
        func count(_ words: String) -> Int { ((try? String(contentsOf: sshdLog, encoding: .utf8)) ?? "").components(separatedBy: words).count - 1 }
        let sessionsBefore = count("Starting session"), loginsBefore = count("Accepted publickey")
        let lane = try Tool.run(try #require(fitting.openLaneArgv(64)))
        #expect(lane.status == 0, "\(lane.errorText)")
        let sockets = try FileManager.default.contentsOfDirectory(atPath: fits)
        #expect(sockets.contains { $0.hasSuffix("-64") }, "\(sockets)")
        // Opening a lane logs in and runs nothing: no login shell (its rc files cost a GPU box 0.1-0.2 s).
        #expect(count("Accepted publickey") == loginsBefore + 1)
        #expect(count("Starting session") == sessionsBefore, "\((try? String(contentsOf: sshdLog, encoding: .utf8)) ?? "")")
        #expect(sessionsBefore >= 1, "the listing's session is logged: the count can tell")

        let falling = TransportCommands(source: try sshSource(server, in: temp), controlFolder: tooLong,
                                        fallbackControlFolder: fallback, ioTimeoutSeconds: 10)
        #expect(falling.controlFolder == fallback)
        let notice = try #require(falling.controlFolderNotice)
        #expect(notice.contains(tooLong) && notice.contains("\(SSHTransport.maxControlFolderLength + 1) bytes") && notice.contains(fallback))
        defer { _ = try? Tool.run(falling.closeSharedConnectionArgv()!) }
        let (fellBack, _) = try falling.runListing(folder: "tmp")
        #expect(fellBack.status == 0, "\(fellBack.errorText)")

        // What the fallback saves the user from: ssh refuses the long path and the whole call fails.
        var unchecked = fitting.sshOptions
        let index = try #require(unchecked.firstIndex(of: "ControlPath=\(fits)/%C"))
        unchecked[index] = "ControlPath=\(tooLong)/%C-64"
        let refused = try Tool.run(["ssh"] + unchecked + ["root@127.0.0.1", "true"])
        #expect(refused.status == 255)
        #expect(refused.errorText.contains("too long for Unix domain socket"))
    }

    @Test("a folder with a space is not handed to ssh's option parser; it falls back")
    func controlFolderWithSpace() {
        let source = Source(name: "s", transport: .ssh(host: "h", port: 22, user: "u", identity: nil, options: []),
                            root: "/r", folders: ["f"])
        let commands = TransportCommands(source: source, controlFolder: "/var/lib/media sync",
                                         fallbackControlFolder: "/tmp/mediasync-0", ioTimeoutSeconds: 10)
        #expect(commands.controlFolder == "/tmp/mediasync-0")
        #expect(commands.sshOptions.contains("ControlPath=/tmp/mediasync-0/%C"))
    }

    @Test("the user's ssh_options win over a default of the same keyword, and ControlMaster=no ends sharing")
    func userOptionsWin() throws {
        let server = try TestSSHD()
        let temp = try TempFolder("opt"), control = try TempFolder("optctl")
        let commands = TransportCommands(source: try sshSource(server, in: temp, options: ["ConnectTimeout=3", "ControlMaster no"]),
                                         controlFolder: control.path, fallbackControlFolder: "/tmp", ioTimeoutSeconds: 10)
        let options = commands.sshOptions
        #expect(options.contains("ConnectTimeout=3") && !options.contains("ConnectTimeout=10"))
        #expect(!options.contains("ControlMaster=auto") && !options.contains { $0.hasPrefix("ControlPath=") })
        #expect(commands.closeSharedConnectionArgv() == nil)
        let (listed, listing) = try commands.runListing(folder: "tmp")
        #expect(listed.status == 0, "\(listed.errorText)")
        #expect(listing?.files.count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: control.path).isEmpty)
    }

    @Test("every child gets our environment (ssh-agent, DOCKER_HOST) with the C.UTF-8 locale and UTC forced")
    func environment() {
        let commands = TransportCommands(source: Source(name: "l", transport: .local, root: "/", folders: ["x"]),
                                         controlFolder: "/c", fallbackControlFolder: "/tmp", ioTimeoutSeconds: 5,
                                         extraEnvironment: ["EXTRA": "1", "DOCKER_HOST": "unix:///tmp/test.sock"])
        let env = commands.environment(parent: ["PATH": "/p", "HOME": "/h", "LANG": "de_DE.UTF-8", "LC_NUMERIC": "de_DE",
                                                "TZ": "Europe/Berlin", "SSH_AUTH_SOCK": "/run/agent",
                                                "DOCKER_HOST": "unix:///run/docker.sock"])
        // rsync's numbers and times depend on the locale and zone: those are fixed; everything else a
        // remote shell needs (the agent, the docker socket) passes through; the engine's extras win.
        #expect(env == ["LC_ALL": "C.UTF-8", "TZ": "UTC", "PATH": "/p", "HOME": "/h", "EXTRA": "1",
                        "SSH_AUTH_SOCK": "/run/agent", "DOCKER_HOST": "unix:///tmp/test.sock"])
    }
}
