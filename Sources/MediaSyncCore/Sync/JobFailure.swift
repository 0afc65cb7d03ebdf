/// Why one attempt of a job failed, in one line for the user, and whether another attempt may help. Pure:
/// the exit, the messages rsync/ssh/docker printed and how the attempt was stopped come in as values.
///
/// ```swift
/// let failure = JobFailure.classify(JobFailure.Attempt(job: "gpu1/outputs", what: "transfer", code: 23, ...))
/// if failure.retryable { retryLater() } else { fail(failure.line) }
/// ```
public struct JobFailure: Sendable, Equatable {
    /// How mediasync itself ended the attempt, when it did.
    public enum Stop: Sendable, Equatable {
        case stalled
        case cancelled
    }

    /// What is known about the failed attempt.
    public struct Attempt: Sendable {
        /// `source/folder`.
        public var job: String
        /// `listing` or `transfer`.
        public var what: String
        public var code: Int32
        public var signal: Int32
        /// How the child ended, as told to people ("killed by signal 9 (Killed)").
        public var status: String
        public var messages: [RsyncMessage]
        public var stop: Stop?
        /// Planned files not home yet.
        public var pendingFiles: Int
        public var stallTimeout: Duration
        public var library: String
        /// The folder's path on the source, and how the source is reached, for messages.
        public var sourceFolder: String
        public var transport: String
        /// The source's `root:`, for a listing that could not enter it.
        public var sourceRoot: String

        public init(job: String, what: String, code: Int32, signal: Int32, status: String, messages: [RsyncMessage], stop: Stop?,
                    pendingFiles: Int, stallTimeout: Duration, library: String, sourceFolder: String, transport: String,
                    sourceRoot: String = "") {
            self.job = job
            self.what = what
            self.code = code
            self.signal = signal
            self.status = status
            self.messages = messages
            self.stop = stop
            self.pendingFiles = pendingFiles
            self.stallTimeout = stallTimeout
            self.library = library
            self.sourceFolder = sourceFolder
            self.transport = transport
            self.sourceRoot = sourceRoot
        }

        /// Why the library refused a staged file (the system call and the file system), when it did.
        var libraryRefusal: String? {
            messages.first { $0.text.hasPrefix(JobFailure.libraryPrefix) }.map { String($0.text.dropFirst(JobFailure.libraryPrefix.count)) }
        }

        var diskFull: Bool {
            messages.contains { $0.text.contains("No space left on device") || $0.text.contains("library disk full") }
        }
        /// The listing script exits 3 when it cannot enter the source's root, 5 when the folder exists but
        /// cannot be entered: neither mends itself within this cycle. (A folder that does not exist yet under
        /// its root is an empty listing, not a failure.)
        var folderMissing: Bool { what == "listing" && signal == 0 && (code == 3 || code == 5) }
        /// What the transport's own lines say went wrong (ssh: a changed host key, a refused key...), when
        /// they say.
        var transportDiagnosis: TransportDiagnosis? {
            guard code != 0 || signal != 0 else { return nil }
            return Transport.diagnose(messages.map(\.text), target: transport)
        }
        /// The far side said the failure passes by itself (a container that exists but is stopped).
        var passing: Bool {
            messages.contains { m in m.origin == .remote && Transport.passingPhrases.contains { m.text.contains($0) } }
        }
        /// rsync is not installed where the source lives.
        var rsyncMissing: Bool {
            messages.contains { m in
                m.text.contains("rsync: command not found") || m.text.contains("rsync: not found")
                    || Transport.rsyncMissingPhrases.contains { m.text.contains($0) }
            }
        }
    }

    public var line: String
    public var retryable: Bool

    /// Marks a message that says why a staged file could not be moved into the library.
    public static let libraryPrefix = "library: "

    public init(line: String, retryable: Bool) {
        self.line = line
        self.retryable = retryable
    }

    public static func classify(_ attempt: Attempt) -> JobFailure {
        let line = describe(attempt)
        if attempt.stop == .cancelled { return JobFailure(line: line, retryable: false) }
        if attempt.stop == nil, let diagnosis = attempt.transportDiagnosis {
            return JobFailure(line: line, retryable: diagnosis.retryable)
        }
        var kind: RsyncExit.Kind = attempt.stop == .stalled
            ? .retryable : RsyncExit.kind(exitCode: attempt.code, messages: attempt.messages)
        // docker exits 1 (a "usage" code) for a stopped container, yet it may be started again.
        if kind == .fatal && attempt.passing { kind = .retryable }
        // A library that refused a move (permissions, a file system without what the move needs) does not
        // change by itself within a cycle.
        let retryable = !attempt.diskFull && !attempt.folderMissing && attempt.libraryRefusal == nil
            && (kind == .retryable || kind == .partial || (kind == .ok && attempt.pendingFiles > 0))
        return JobFailure(line: line, retryable: retryable)
    }

    /// The shell's own words (`cd: can't cd to x`), without its `sh: 1:` prefix noise.
    private static func firstRemoteLine(_ a: Attempt) -> String? {
        a.messages.first { $0.severity != .info }.map { $0.text }
    }

    private static func describe(_ a: Attempt) -> String {
        if a.stop == .stalled {
            return "\(a.job): no progress for \(DurationSyntax.format(a.stallTimeout)); \(a.what) was stopped"
        }
        if a.stop == .cancelled { return "\(a.job): cancelled" }
        if a.diskFull {
            return "\(a.job): the library disk is full (\(a.library)): No space left on device"
        }
        if let diagnosis = a.transportDiagnosis { return "\(a.job): \(diagnosis.line)" }
        if a.rsyncMissing {
            return "\(a.job): rsync is not installed on the source (\(a.transport)); install it there, e.g. `apt-get install rsync`"
        }
        if a.folderMissing && a.code == 5 {
            return "\(a.job): \(a.sourceFolder) exists on the source (\(a.transport)) but cannot be entered (not a folder, or no permission)"
                + (firstRemoteLine(a).map { ": \($0)" } ?? "")
        }
        if a.folderMissing {
            let root = a.sourceRoot.isEmpty ? "the root of \(a.sourceFolder)" : "the root \(a.sourceRoot)"
            return "\(a.job): \(root) does not exist on the source (\(a.transport)) or cannot be entered; check `root:` in the config"
                + " (or whether the container's volume is mounted)"
        }
        if let message = RsyncExit.mostTellingMessage(exitCode: a.code, messages: a.messages) {
            return "\(a.job): \(message.text)"
        }
        if a.signal != 0 { return "\(a.job): \(a.what) was \(a.status)" }
        if a.code == 0 && a.pendingFiles > 0, let refused = a.libraryRefusal {
            return "\(a.job): \(a.pendingFiles) file\(a.pendingFiles == 1 ? "" : "s") arrived but could not be moved into the library: "
                + refused
        }
        if a.code == 0 && a.pendingFiles > 0 {
            return "\(a.job): rsync finished but \(a.pendingFiles) planned file\(a.pendingFiles == 1 ? "" : "s") did not arrive in staging"
        }
        return "\(a.job): \(a.what) \(RsyncExit(code: a.code).explanation) (exit \(a.code))"
    }
}
