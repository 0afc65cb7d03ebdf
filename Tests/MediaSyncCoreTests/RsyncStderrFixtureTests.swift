import Testing
@testable import MediaSyncCore

/// What a user is told when a recorded real run failed.
@Suite struct RsyncStderrFixtureTests {
    private func told(_ run: String) throws -> (RsyncFixture, [RsyncMessage], RsyncMessage?) {
        let fixture = try RsyncFixture.load(run)
        let messages = parse(fixture.stderr, .stderr).messages
        return (fixture, messages, RsyncExit.mostTellingMessage(exitCode: fixture.exitCode, messages: messages))
    }

    @Test func missingSourceIsAPartialTransferNamingThePath() throws {
        let (fixture, messages, best) = try told("missing-source")
        #expect(fixture.exitCode == 23)
        #expect(RsyncExit(code: fixture.exitCode).kind == .partial)
        #expect(messages.contains { $0.exitCode == 23 && $0.severity == .error })
        #expect(best?.text.contains("does-not-exist") == true)
        #expect(best?.text.contains("No such file or directory") == true)
        // The folder that did exist was still copied.
        #expect(parse(fixture.stdout, .stdout).files.filter(\.isFile).count == 2)
    }

    @Test func refusedSshPortSaysConnectionRefused() throws {
        let (fixture, messages, best) = try told("ssh-refused")
        // rsync 3.5.0 reports 12 here (not ssh's 255): the stream broke before it began.
        #expect([12, 255].contains(fixture.exitCode))
        #expect(RsyncExit(code: fixture.exitCode).kind == .retryable)
        #expect(messages.contains { $0.text.contains("connection unexpectedly closed") })
        #expect(best?.origin == .ssh)
        #expect(best?.text.contains("Connection refused") == true)
        // A box that is down may come back: worth another try.
        #expect(RsyncExit.kind(exitCode: fixture.exitCode, messages: messages) == .retryable)
    }

    @Test func rejectedKeySaysPermissionDenied() throws {
        let (fixture, messages, best) = try told("ssh-denied")
        #expect(fixture.exitCode == 255)
        // A rejected key does not fix itself: no retry loop against the box.
        #expect(RsyncExit.kind(exitCode: fixture.exitCode, messages: messages) == .fatal)
        #expect(best?.origin == .ssh)
        #expect(best?.text.contains("Permission denied (publickey") == true)
        #expect(RsyncExit.summary(exitCode: fixture.exitCode, messages: [best!])
            .hasPrefix("rsync exit 255: ssh failed"))
    }

    @Test func unknownHostKeySaysSo() throws {
        let (fixture, messages, best) = try told("ssh-hostkey")
        #expect(fixture.exitCode == 255)
        #expect(RsyncExit.kind(exitCode: fixture.exitCode, messages: messages) == .fatal)
        #expect(messages.contains { $0.text == "Host key verification failed." && $0.origin == .ssh })
        #expect(best?.origin == .ssh)
        #expect(best?.text.contains("host key") == true)
    }

    @Test func missingRemoteRsyncBlamesTheRemoteShell() throws {
        let (fixture, messages, best) = try told("ssh-no-rsync")
        // rsync 3.5.0 exits 12 here, not 127; the remote shell's line is what tells.
        #expect(fixture.exitCode != 0)
        #expect(RsyncExit.kind(exitCode: fixture.exitCode, messages: messages) == .fatal)
        #expect(best?.origin == .remote)
        #expect(best?.text.contains("rsync-not-installed: command not found") == true)
    }

    @Test func sshsKnownHostsNoticeIsOnlyInformation() throws {
        let (fixture, messages, best) = try told("ssh")
        #expect(fixture.exitCode == 0)
        #expect(best == nil)
        let notice = try #require(messages.first)
        #expect(notice.severity == .info && notice.origin == .ssh)
        #expect(notice.text.hasPrefix("Warning: Permanently added"))
    }
}
