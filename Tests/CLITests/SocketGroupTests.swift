import Foundation
import Testing

/// `socket_group` (docs/protocol.md, "The socket"): the socket is 0660 and the group's; members of the group,
/// as their primary or a supplementary group, use it like the owner; anyone else is refused. Real users and a
/// real group made with groupadd/useradd, the client run as each of them with setpriv.
@Suite(.enabled(if: getuid() == 0, "needs root: it creates a group and users (groupadd, useradd) and runs the client as them"))
struct SocketGroupTests {
    static let group = "mssock"
    /// Primary group `mssock`.
    static let member = "mssockmember"
    /// Own primary group, `mssock` as a supplementary one.
    static let guest = "mssockguest"
    /// Not in `mssock`.
    static let outsider = "mssockoutsider"

    /// Made once per test process and kept (as NoisyUser in MediaSyncEngineTests); another process may make
    /// them at the same time, so only an account still missing afterwards is a failure.
    static let accounts: Result<Void, SyncTestError> = {
        func exists(_ kind: String, _ name: String) -> Bool { (try? ingestRun(["getent", kind, name])) != nil }
        func make(_ kind: String, _ name: String, _ argv: [String]) -> SyncTestError? {
            if exists(kind, name) { return nil }
            let made = Result { try ingestRun(argv) }
            if case let .failure(error) = made, !exists(kind, name) { return SyncTestError("\(argv.joined(separator: " ")): \(error)") }
            return nil
        }
        let steps: [(String, String, [String])] = [
            ("group", group, ["groupadd", group]),
            ("passwd", member, ["useradd", "-M", "-N", "-g", group, "-s", "/usr/sbin/nologin", member]),
            ("passwd", guest, ["useradd", "-M", "-U", "-G", group, "-s", "/usr/sbin/nologin", guest]),
            ("passwd", outsider, ["useradd", "-M", "-U", "-s", "/usr/sbin/nologin", outsider]),
        ]
        for (kind, name, argv) in steps { if let error = make(kind, name, argv) { return .failure(error) } }
        return .success(())
    }()

    static func gid(_ name: String) throws -> gid_t {
        let line = try ingestRun(["getent", "group", name])
        guard let gid = line.split(separator: ":", omittingEmptySubsequences: false).dropFirst(2).first.flatMap({ gid_t($0) }) else {
            throw SyncTestError("no gid for \(name) in \(line)")
        }
        return gid
    }

    static func uid(_ name: String) throws -> uid_t {
        guard let uid = uid_t(try ingestRun(["id", "-u", name]).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw SyncTestError("no uid for \(name)")
        }
        return uid
    }

    /// Runs `mediasync ARGS` as `user` (its own groups, as login would give them), at most 60 s.
    static func mediasync(as user: String, _ serve: ServeHarness, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let out = serve.root + "/as-\(user)-\(UUID().uuidString.prefix(6)).out"
        let primary = try ingestRun(["id", "-gn", user]).trimmingCharacters(in: .whitespacesAndNewlines)
        let argv = ["setpriv", "--reuid=\(user)", "--regid=\(primary)", "--init-groups", "--", try CLIRunner.binary()] + arguments
        let pid = try ServeHarness.spawn(argv, environment: ["HOME": "/tmp"], output: out, errors: out + ".err")
        let status = try Spawn.wait(pid, timeout: 60, what: "mediasync \(arguments.joined(separator: " ")) as \(user)")
        return (status, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                (try? String(contentsOfFile: out + ".err", encoding: .utf8)) ?? "")
    }

    /// The socket's folder made by systemd (`RuntimeDirectory=`, 0755) or by serve itself.
    @Test(arguments: ["systemd", "serve"])
    func membersGetInAndOthersDoNot(folderMadeBy: String) throws {
        try Self.accounts.get()
        let serve = try ServeHarness(folders: ["a"], extraConfig: "socket_group: \(Self.group)")
        defer { serve.stop() }
        chmod(serve.root, 0o755)
        let folder = serve.root + "/run"
        if folderMadeBy == "systemd" {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
        try serve.start()
        let groupID = try Self.gid(Self.group)

        var info = stat()
        try #require(stat(serve.socket, &info) == 0, "no socket at \(serve.socket)")
        #expect(info.st_mode & 0o777 == 0o660, "socket mode \(String(info.st_mode & 0o777, radix: 8))")
        #expect(info.st_gid == groupID && info.st_uid == 0, "socket owner \(info.st_uid):\(info.st_gid)")
        var folderInfo = stat()
        #expect(stat(folder, &folderInfo) == 0)
        if folderMadeBy == "serve" {
            // Made by serve: the group can pass through to the socket, nobody else can.
            #expect(folderInfo.st_mode & 0o777 == 0o750 && folderInfo.st_gid == groupID,
                    "folder mode \(String(folderInfo.st_mode & 0o777, radix: 8)), gid \(folderInfo.st_gid)")
        } else {
            #expect(folderInfo.st_mode & 0o777 == 0o755, "an existing folder is left as it is")
        }

        // A member by primary group and one by supplementary group: served like the owner.
        for user in [Self.member, Self.guest] {
            let status = try Self.mediasync(as: user, serve, ["status", "--json", "--socket", serve.socket])
            #expect(status.status == 0, "\(user): \(status.stderr)")
            let reply = (try? JSONSerialization.jsonObject(with: Data(status.stdout.utf8))) as? [String: Any]
            #expect(reply?["pid"] as? Int == Int(serve.pid), "\(user) got no status: \(status.stdout) \(status.stderr)")
            let pause = try Self.mediasync(as: user, serve, ["pause", "--socket", serve.socket])
            #expect(pause.status == 0, "\(user) may control it too: \(pause.stderr)")
            _ = try Self.mediasync(as: user, serve, ["resume", "--socket", serve.socket])
        }
        #expect(!serve.log.contains("refused a control connection"), "\(serve.log.suffix(1500))")

        // Anyone else: the socket's mode keeps them out, and the client says what to do.
        let outside = try Self.mediasync(as: Self.outsider, serve, ["status", "--socket", serve.socket])
        #expect(outside.status == 1 && outside.stdout.isEmpty, "status \(outside.status): \(outside.stdout)")
        #expect(outside.stderr.contains("permission denied") && outside.stderr.contains("socket_group"), "\(outside.stderr)")

        // Even with the socket opened up by hand (an admin's chmod), the supervisor itself refuses a
        // non-member (SO_PEERCRED), says so in its log, and gives it nothing.
        chmod(serve.socket, 0o666)
        chmod(folder, 0o755)
        let sneaking = try Self.mediasync(as: Self.outsider, serve, ["status", "--json", "--socket", serve.socket])
        #expect(sneaking.status != 0 && sneaking.stdout.isEmpty, "status \(sneaking.status): \(sneaking.stdout)")
        let outsiderID = try Self.uid(Self.outsider)
        #expect(Watch.until(timeout: 10) { serve.log.contains("refused a control connection from uid \(outsiderID)") },
                "\(serve.log.suffix(1500))")
        // And still serves its own.
        #expect(try SocketClient(path: serve.socket).request(#"{"cmd":"status"}"#)["ok"] as? Bool == true)
    }

    /// Without `socket_group` the socket is the owner's alone: a would-be member gets the same refusal.
    @Test func withoutSocketGroupOnlyTheOwnerGetsIn() throws {
        try Self.accounts.get()
        let serve = try ServeHarness(folders: ["a"])
        defer { serve.stop() }
        chmod(serve.root, 0o755)
        try FileManager.default.createDirectory(atPath: serve.root + "/run", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        try serve.start()
        var info = stat()
        try #require(stat(serve.socket, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600, "socket mode \(String(info.st_mode & 0o777, radix: 8))")
        let member = try Self.mediasync(as: Self.member, serve, ["status", "--socket", serve.socket])
        #expect(member.status == 1 && member.stderr.contains("permission denied"), "\(member.status): \(member.stderr)")
    }
}
