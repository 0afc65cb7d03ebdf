import Testing
@testable import MediaSyncCore

/// What a user reads when ssh itself fails, from real ssh stderr (Fixtures/record.sh): the cause, the exact
/// fix, and no retry where only the user can fix it.
@Suite("ssh failures read as causes with fixes")
struct SSHDiagnosisTests {
    /// The job's failure as the cycle reports it, from a recorded run's stderr and exit code.
    func failure(_ run: String, target: String = "ssh root@127.0.0.1 port 36640") throws -> (JobFailure, SSHDiagnosis?) {
        let fixture = try RsyncFixture.load(run)
        let messages = parse(fixture.stderr, .stderr).messages
        let failure = JobFailure.classify(JobFailure.Attempt(
            job: "vast/output", what: "transfer", code: fixture.exitCode, signal: 0,
            status: "exited with status \(fixture.exitCode)", messages: messages, stop: nil, pendingFiles: 3,
            stallTimeout: .seconds(120), library: "/srv/media", sourceFolder: "/workspace/output", transport: target))
        return (failure, SSHDiagnosis.diagnose(messages.map(\.text), target: target))
    }

    @Test("a changed host key: host and port, the box was probably recreated, the exact ssh-keygen line; no retry")
    func hostKeyChanged() throws {
        let (failure, diagnosis) = try failure("ssh-hostkey-changed")
        #expect(diagnosis?.cause == .hostKeyChanged)
        #expect(!failure.retryable, "a changed key does not change back by retrying")
        let line = failure.line
        #expect(line.hasPrefix("vast/output: the host key of 127.0.0.1 port "), "\(line)")
        #expect(line.contains("probably recreated"))
        // The port ssh used, the known_hosts file it read, and -R in the `[host]:port` form ssh stores.
        let port = try #require(line.split(separator: " ").drop { $0 != "port" }.dropFirst().first)
        #expect(line.contains("`ssh-keygen -f '/tmp/W/known_hosts' -R '[127.0.0.1]:\(port)'`"), "\(line)")
        #expect(!line.contains("\n") && !line.contains("@@@"), "one line, not ssh's banner: \(line)")
    }

    @Test("port 22 is stored without brackets, so -R gets the bare host; the file comes from the Offending line")
    func hostKeyChangedOnPort22() {
        let lines = ["@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @",
                     "Offending ECDSA key in /home/ada/.ssh/known_hosts:12",
                     "Host key for ssh4.vast.ai has changed and you have requested strict checking.",
                     "Host key verification failed."]
        let diagnosis = SSHDiagnosis.diagnose(lines, target: "ssh vast1")
        #expect(diagnosis?.line.hasPrefix("the host key of ssh4.vast.ai has changed") == true, "\(diagnosis?.line ?? "-")")
        #expect(diagnosis?.line.contains("`ssh-keygen -f '/home/ada/.ssh/known_hosts' -R 'ssh4.vast.ai'`") == true)
        #expect(diagnosis?.retryable == false)
    }

    @Test("a refused key names the login and what to check; no retry")
    func keyRefused() throws {
        let (failure, diagnosis) = try failure("ssh-denied")
        #expect(diagnosis?.cause == .keyRefused)
        #expect(!failure.retryable)
        #expect(failure.line.hasPrefix("vast/output: the box refused the login of root@127.0.0.1 (Permission denied (publickey))"),
                "\(failure.line)")
        #expect(failure.line.contains("`user:`") && failure.line.contains("`identity:`")
                && failure.line.contains("authorized_keys"))
    }

    @Test("an unknown host name says which name and where an alias must be; no retry. A DNS outage is retried")
    func unknownHost() throws {
        let (failure, diagnosis) = try failure("ssh-unknown-host", target: "ssh root@no-such-box.invalid")
        #expect(diagnosis?.cause == .unknownHost)
        #expect(!failure.retryable)
        #expect(failure.line.hasPrefix("vast/output: the host name no-such-box.invalid does not exist (Name or service not known)"),
                "\(failure.line)")
        #expect(failure.line.contains("check `host:`") && failure.line.contains("~/.ssh/config"))
        let outage = SSHDiagnosis.diagnose(["ssh: Could not resolve hostname vast1: Temporary failure in name resolution"],
                                           target: "ssh vast1")
        #expect(outage?.cause == .nameLookupFailed && outage?.retryable == true)
    }

    @Test("a refused port and a connect timeout name host and port and are retried (the box may be rebooting)")
    func refusedAndTimeout() throws {
        let (refused, refusedDiagnosis) = try failure("ssh-refused")
        #expect(refusedDiagnosis?.cause == .connectionRefused)
        #expect(refused.retryable)
        #expect(refused.line.hasPrefix("vast/output: 127.0.0.1 port "), "\(refused.line)")
        #expect(refused.line.contains("refused the connection (Connection refused)") && refused.line.contains("`port:`"))

        let (timeout, timeoutDiagnosis) = try failure("ssh-timeout")
        #expect(timeoutDiagnosis?.cause == .connectTimeout)
        #expect(timeout.retryable)
        #expect(timeout.line.hasPrefix("vast/output: 127.0.0.1 port "), "\(timeout.line)")
        #expect(timeout.line.contains("did not answer (Connection timed out)"))

        let banner = SSHDiagnosis.diagnose(["Connection timed out during banner exchange",
                                            "Connection to 10.0.0.5 port 22 timed out"], target: "ssh gpu")
        #expect(banner?.line.hasPrefix("10.0.0.5 port 22 took the connection but no ssh server answered") == true)
        #expect(banner?.retryable == true)
    }

    @Test("rsync's 'is your shell clean?' is named as a noisy remote shell with the fix; no retry")
    func noisyShellUnderRsync() throws {
        let (failure, diagnosis) = try failure("ssh-noisy-shell", target: "ssh msnoisy@127.0.0.1 port 36640")
        #expect(diagnosis?.cause == .noisyShell)
        #expect(!failure.retryable)
        #expect(failure.line.hasPrefix("vast/output: the remote shell (ssh msnoisy@127.0.0.1 port 36640) prints text"),
                "\(failure.line)")
        #expect(failure.line.contains("~/.bashrc") && failure.line.contains("`[ -z \"$PS1\" ] && return`"))
    }

    @Test("an unknown host key under StrictHostKeyChecking=yes, and a broken ssh config, are final with the fix")
    func strictAndBadConfig() throws {
        let (failure, diagnosis) = try failure("ssh-hostkey")
        #expect(diagnosis?.cause == .hostKeyUnknown)
        #expect(!failure.retryable)
        #expect(failure.line.contains("connect once by hand (`ssh -p 36640 root@127.0.0.1`)"), "\(failure.line)")
        let bad = SSHDiagnosis.diagnose(["/etc/mediasync/ssh_config: line 3: Bad configuration option: hostnme",
                                         "/etc/mediasync/ssh_config: terminating, 1 bad configuration options"],
                                        target: "ssh vast1")
        #expect(bad?.cause == .badConfig && bad?.retryable == false)
        #expect(bad?.line.contains("line 3: Bad configuration option: hostnme") == true)
    }

    @Test("other failures are left to rsync's own explanation")
    func notSSH() throws {
        #expect(SSHDiagnosis.diagnose(["rsync: connection unexpectedly closed (0 bytes received so far) [Receiver]"],
                                      target: "ssh h") == nil)
        let (failure, diagnosis) = try failure("ssh-no-rsync")
        #expect(diagnosis == nil)
        #expect(failure.line.contains("rsync-not-installed: command not found"))
    }
}
