/// What one child of a purge (the listing, a checksum run, a delete batch) complained about, and how its end
/// reads for the user. Pure: the exit and how mediasync stopped it come in as values.
///
/// ```swift
/// var report = PurgeChildReport(what: "listing", target: "ssh gpu@box:22", vanishedIsFine: true)
/// report.add(message)                  // every stderr line
/// switch report.outcome(code: 1, signal: 0, status: "exited with status 1", stalled: false, cancelled: false,
///                       stallTimeout: .seconds(300)) { ... }
/// ```
public struct PurgeChildReport: Sendable {
    /// How the child's end reads.
    public enum Outcome: Equatable, Sendable {
        case succeeded
        /// The listing exited non-zero only because files vanished while it listed them (a generator, a person
        /// or an interrupted purge deleting): what it printed is complete for the rest.
        case succeededDespiteVanished(Int)
        /// One line naming what failed and, where known, why.
        case failed(String)
    }

    /// `listing`, `checksum`, `library checksum`, `purge`.
    public let what: String
    /// How the source is reached, e.g. `ssh gpu@box:22`.
    public let target: String
    public let vanishedIsFine: Bool
    private var vanished = VanishedFiles()
    private var lastComplaint: String?
    /// The first lines that are not about vanished files, for ssh's diagnosis (bounded: a listing of a busy
    /// folder can print thousands of vanished lines).
    private var complaints: [String] = []

    public init(what: String, target: String, vanishedIsFine: Bool = false) {
        self.what = what
        self.target = target
        self.vanishedIsFine = vanishedIsFine
    }

    /// One line the child printed on stderr.
    public mutating func add(_ message: RsyncMessage) {
        vanished.add(message)
        guard !VanishedFiles.isAboutVanishedFiles(message.text) else { return }
        lastComplaint = message.text
        if complaints.count < 50 { complaints.append(message.text) }
    }

    /// One line of what the child would have printed on stderr, for work done in the process instead
    /// (`LocalListing`'s complaints, in find's words).
    public mutating func add(line text: String) {
        add(RsyncMessages.classify(text, stream: .stderr))
    }

    /// A complaint of mediasync's own about the child (its input could not be handed over).
    public mutating func complain(_ text: String) {
        lastComplaint = text
    }

    public func outcome(code: Int32, signal: Int32, status: String, stalled: Bool, cancelled: Bool,
                        stallTimeout: Duration) -> Outcome {
        if stalled {
            return .failed("no progress for \(DurationSyntax.format(stallTimeout)); the \(what) on \(target) was stopped "
                           + "(is the source frozen or paused?)")
        }
        if code == 0 && signal == 0 { return .succeeded }
        if vanishedIsFine, !cancelled, let count = vanished.completeDespite(code: code, signal: signal) {
            return .succeededDespiteVanished(count)
        }
        if let ssh = SSHDiagnosis.diagnose(complaints, target: target) { return .failed(ssh.line) }
        return .failed("the \(what) on \(target) failed (\(status))" + (lastComplaint.map { ": \($0)" } ?? ""))
    }
}
