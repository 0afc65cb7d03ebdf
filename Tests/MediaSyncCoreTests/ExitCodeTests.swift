import Testing
@testable import MediaSyncCore

/// rsync exit codes to decisions, and the line a user is shown.
@Suite struct ExitCodeTests {
    @Test func everyCodeLandsInItsClass() {
        #expect(RsyncExit(code: 0).kind == .ok)
        for code: Int32 in [23, 24] { #expect(RsyncExit(code: code).kind == .partial, "code \(code)") }
        for code: Int32 in [3, 5, 10, 11, 12, 13, 14, 20, 21, 22, 30, 35, 255] {
            #expect(RsyncExit(code: code).kind == .retryable, "code \(code)")
        }
        for code: Int32 in [1, 2, 4, 6, 25, 126, 127, 99, -1] {
            #expect(RsyncExit(code: code).kind == .fatal, "code \(code)")
        }
    }

    @Test func explanationsTellWhatToDo() {
        #expect(RsyncExit(code: 11).explanation == "file I/O error at the receiver (is the library disk full?)")
        #expect(RsyncExit(code: 255).explanation == "ssh failed: unreachable host or refused login")
        #expect(RsyncExit(code: 127).explanation
            == "rsync not found on the source side: install rsync in the container/box")
        #expect(RsyncExit(code: 99).explanation.contains("unknown code 99"))
        // Every code has its own line: no two known codes share an explanation.
        let known: [Int32] = [0, 1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 20, 21, 22, 23, 24, 25, 30, 35, 126, 127, 255]
        #expect(Set(known.map { RsyncExit(code: $0).explanation }).count == known.count)
    }

    private func stderr(_ text: String) -> [RsyncMessage] {
        parse(Array(text.utf8), .stderr).messages
    }

    // docker is not installed here (no engine can run), so its messages are the texts docker prints.
    @Test func containerRuntimeReasonsBeatRsyncsGenericLines() {
        let cases = [
            "Error: No such container: forge\n",
            "Error response from daemon: Container 3f2a is not running\n",
            "OCI runtime exec failed: exec failed: unable to start container process: exec: \"rsync\": executable file not found in $PATH: unknown\n",
            "sh: 1: rsync: not found\n",
            "rsync: command not found\n",
        ]
        for first in cases {
            let messages = stderr(first + "rsync: connection unexpectedly closed (0 bytes received so far) [Receiver]\n"
                + "rsync error: error in rsync protocol data stream (code 12) at io.c(232) [Receiver=3.2.7]\n")
            #expect(messages.count == 3)
            let best = RsyncExit.mostTellingMessage(exitCode: 12, messages: messages)
            #expect(best?.origin == .remote, "\(first)")
            #expect(best?.text == String(first.dropLast()))
            // A stopped container may be started again; a missing container or rsync stays missing.
            let expected: RsyncExit.Kind = first.contains("is not running") ? .retryable : .fatal
            #expect(RsyncExit.kind(exitCode: 12, messages: messages) == expected, "\(first)")
        }
    }

    @Test func rsyncsOwnSpecificReasonBeatsItsSummaryLine() {
        let messages = stderr("""
            rsync: [receiver] write failed on "/lib/a.png": No space left on device (28)
            rsync error: error in file IO (code 11) at receiver.c(380) [receiver=3.5.0]

            """)
        #expect(messages.map(\.severity) == [.error, .error])
        #expect(messages[1].exitCode == 11)
        let best = RsyncExit.mostTellingMessage(exitCode: 11, messages: messages)
        #expect(best?.text.contains("No space left on device") == true)
        #expect(RsyncExit.summary(exitCode: 11, messages: messages)
            == "rsync exit 11: file I/O error at the receiver (is the library disk full?): " + messages[0].text)
    }

    @Test func warningsAndSuccessAreNotReasons() {
        let messages = stderr("file has vanished: \"/src/a.png\"\nrsync warning: some files vanished before they could be transferred (code 24) at main.c(1)\n")
        #expect(messages.map(\.severity) == [.warning, .warning])
        #expect(messages[1].exitCode == 24)
        #expect(RsyncExit.mostTellingMessage(exitCode: 0, messages: messages) == nil)
        #expect(RsyncExit.mostTellingMessage(exitCode: 24, messages: messages)?.text.hasPrefix("file has vanished") == true)
        #expect(RsyncExit.mostTellingMessage(exitCode: 30, messages: []) == nil)
        #expect(RsyncExit.summary(exitCode: 30, messages: [])
            == "rsync exit 30: timeout while sending or receiving data (the other side stopped answering)")
    }
}
