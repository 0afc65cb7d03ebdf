/// What an rsync exit code means for a job: done, partly done, worth retrying, or give up.
public struct RsyncExit: Equatable, Sendable {
    /// The decision a code leads to.
    public enum Kind: String, Sendable {
        /// Everything was transferred (0).
        case ok
        /// The run finished but some files were not transferred (23, 24).
        case partial
        /// A connection, timeout or resource problem that a later try can fix.
        case retryable
        /// Retrying the same command will fail the same way (usage, missing rsync, ...).
        case fatal
    }

    public let code: Int32
    public var kind: Kind { Self.kind(of: code) }
    /// One line for a person: what went wrong and, where we know, what to do.
    public var explanation: String { Self.explanation(of: code) }

    public init(code: Int32) {
        self.code = code
    }

    static func kind(of code: Int32) -> Kind {
        switch code {
        case 0: .ok
        case 23, 24: .partial
        case 3, 5, 10...14, 20...22, 30, 35, 255: .retryable
        default: .fatal
        }
    }

    static func explanation(of code: Int32) -> String {
        switch code {
        case 0: "success"
        case 1: "rsync rejected its arguments (syntax or usage error)"
        case 2: "the two rsyncs speak incompatible protocols: update the older rsync"
        case 3: "a source or destination folder could not be opened (does it exist?)"
        case 4: "an option is not supported by the rsync on the other side (too old?)"
        case 5: "the connection to the remote rsync could not be started"
        case 6: "the rsync daemon could not write its log file"
        case 10: "socket I/O error (the network connection failed)"
        case 11: "file I/O error at the receiver (is the library disk full?)"
        case 12: "the rsync data stream broke: usually ssh, the container or the remote rsync died"
        case 13: "rsync could not write its own diagnostics"
        case 14: "rsync could not start a helper process (IPC error)"
        case 20: "rsync was interrupted (SIGINT or SIGUSR1)"
        case 21: "rsync lost track of one of its child processes (waitpid error)"
        case 22: "rsync ran out of memory"
        case 23: "some files were not transferred: see the messages before"
        case 24: "some source files vanished before they could be transferred (deleted at the source)"
        case 25: "the --max-delete limit stopped deletions"
        case 30: "timeout while sending or receiving data (the other side stopped answering)"
        case 35: "timeout while waiting for the rsync daemon to answer"
        case 126: "the remote rsync could not be executed (permission denied?)"
        case 127: "rsync not found on the source side: install rsync in the container/box"
        case 255: "ssh failed: unreachable host or refused login"
        default: "rsync exited with unknown code \(code)"
        }
    }

    /// Picks the stderr line that best tells a person why the run failed, or nil after a success
    /// or when nothing was said. ssh's and the remote shell's own reasons beat rsync's generic
    /// "connection unexpectedly closed" and "rsync error: ... (code N)" lines; on equal footing
    /// the earliest line wins, because later lines are usually consequences of it.
    public static func mostTellingMessage(exitCode: Int32, messages: [RsyncMessage]) -> RsyncMessage? {
        guard exitCode != 0 else { return nil }
        var best: RsyncMessage?
        var bestScore = 0
        for message in messages {
            let score = telling(message)
            if score > bestScore {
                best = message
                bestScore = score
            }
        }
        return best
    }

    /// The code's class, corrected by what was said: rsync reports a missing remote rsync, a
    /// missing container, a rejected key or an unknown host key as 12 or 255 (retryable), yet
    /// retrying cannot fix any of them, so those make the run fatal.
    public static func kind(exitCode: Int32, messages: [RsyncMessage]) -> Kind {
        let byCode = kind(of: exitCode)
        guard byCode == .retryable else { return byCode }
        let hopeless = messages.contains { m in
            m.severity == .error && (m.origin == .remote || m.origin == .ssh)
                && hopelessReasons.contains { m.text.contains($0) }
        }
        return hopeless ? .fatal : byCode
    }

    /// A shell that cannot find rsync, and each transport's own hopeless words (a missing container, a
    /// refused key: `TransportFailureWords.hopeless`).
    private static let hopelessReasons = ["command not found", "Command not found", ": not found"]
        + Transport.hopelessPhrases

    /// One line for a person: the code's explanation plus the most telling message, if any.
    public static func summary(exitCode: Int32, messages: [RsyncMessage]) -> String {
        let exit = RsyncExit(code: exitCode)
        guard let line = mostTellingMessage(exitCode: exitCode, messages: messages) else {
            return "rsync exit \(exitCode): \(exit.explanation)"
        }
        return "rsync exit \(exitCode): \(exit.explanation): \(line.text)"
    }

    private static func telling(_ m: RsyncMessage) -> Int {
        let generic = m.text.contains("connection unexpectedly closed") || m.exitCode != nil
        switch (m.severity, m.origin) {
        case (.info, _): return 1
        case (.warning, .rsync): return generic ? 3 : 4
        case (.warning, _): return 2
        case (.error, .ssh): return 9
        case (.error, .remote): return 8
        case (.error, .rsync): return generic ? (m.exitCode != nil ? 5 : 6) : 7
        }
    }
}
