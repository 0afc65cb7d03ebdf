import Foundation

/// A real OpenSSH server on a loopback port with its own host key and a key made for the test:
/// the "rented GPU box" of the end-to-end tests.
final class TestSSHD: @unchecked Sendable {
    let folder: URL
    let port: Int
    /// The private key a client must use (`identity` in a source).
    let identity: String
    /// The sshd's process id, for tests that stop or freeze the box.
    let pid: pid_t

    /// Starts sshd. `clockOffset` like "-2d" or "+2d" makes everything run through the key see a
    /// shifted clock (libfaketime via authorized_keys `environment=`), as a box whose clock is off.
    /// `logLevel`: sshd's `LogLevel` (VERBOSE logs each session a login starts, `Starting session: ...`).
    init(clockOffset: String? = nil, logLevel: String = "INFO") throws {
        folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("mediasync-sshd-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        let hostKey = folder.appendingPathComponent("host_key").path
        identity = folder.appendingPathComponent("client_key").path
        try Tool.check(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostKey])
        try Tool.check(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", identity])
        var keyLine = try String(contentsOfFile: identity + ".pub", encoding: .utf8)
        if let clockOffset {
            let lib = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
            keyLine = "environment=\"LD_PRELOAD=\(lib)\",environment=\"FAKETIME=\(clockOffset)\" " + keyLine
        }
        let authorized = folder.appendingPathComponent("authorized_keys").path
        try keyLine.write(toFile: authorized, atomically: true, encoding: .utf8)

        var lastError = ""
        let log = folder.appendingPathComponent("sshd.log").path
        for _ in 0..<20 {
            let port = Int.random(in: 20_000...60_000)
            let config = folder.appendingPathComponent("sshd_config").path
            try """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(hostKey)
            AuthorizedKeysFile \(authorized)
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PermitRootLogin prohibit-password
            UsePAM no
            PermitUserEnvironment yes
            StrictModes no
            MaxStartups 200:30:400
            MaxSessions 200
            PidFile none
            Subsystem sftp internal-sftp
            LogLevel \(logLevel)
            """.write(toFile: config, atomically: true, encoding: .utf8)
            let pid = try Tool.spawn(["/usr/sbin/sshd", "-D", "-e", "-f", config], stdoutTo: log)
            if Self.waitForListen(port: port, pid: pid) {
                self.port = port
                self.pid = pid
                return
            }
            Self.end(pid)
            lastError = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        }
        throw Tool.Failure(description: "sshd did not start: \(lastError)")
    }

    private var stopped = false

    /// Stops the server (the box goes down); connections already made are cut.
    func stop() {
        guard !stopped else { return }
        stopped = true
        Self.end(pid)
    }

    /// SIGTERM, up to 10 s to exit, then SIGKILL: stopping the server never hangs a test.
    private static func end(_ pid: pid_t) {
        kill(pid, SIGTERM)
        if (try? Tool.wait(pid, timeout: 10, what: "sshd after SIGTERM")) == nil { Tool.reap(pid) }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: folder)
    }

    /// ssh options a client needs to reach this server without prompts.
    var clientOptions: [String] {
        ["-p", String(port), "-i", identity, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
         "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]
    }

    static func waitForListen(port: Int, pid: pid_t) -> Bool {
        for _ in 0..<100 {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { return false }
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let ok = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            close(fd)
            if ok { return true }
            usleep(50_000)
        }
        return false
    }
}
