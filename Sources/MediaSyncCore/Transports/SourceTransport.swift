/// One way of reaching a source (`transport:` in the config): its config keys, the argv of every child that
/// reaches the source, and how its own failures read. Each transport is one file in this folder, and
/// `Transport.registered` lists them.
///
/// To add one (say `kubectl exec`): write `KubectlTransport.swift` with a struct that conforms, and add
/// `TransportKind(KubectlTransport.self)` to `Transport.registered`. The parser then accepts `transport: kubectl`
/// with its keys (and refuses them on other sources), check-config shows it, and the listing, rsync, purge and
/// checksum children run through it:
///
/// ```swift
/// struct KubectlTransport: SourceTransport {
///     var pod: String
///     static let name = "kubectl"
///     static let keys = ["pod"]
///     static let rootPlace = "inside the pod"
///     static func parse(_ keys: inout TransportKeys) -> KubectlTransport? {
///         keys.requiredWord("pod", example: "forge-0", what: "pod name", ifMissing: "name the pod, e.g. `pod: forge-0`")
///             .map { KubectlTransport(pod: $0) }
///     }
///     var summary: String { "kubectl pod \(pod)" }
///     func scriptArgv(_ script: String, connectionFolder: String?) -> [String] {
///         ["kubectl", "exec", "-i", pod, "--", "sh", "-c", script]
///     }
///     func rsyncRemote(path: String, connectionFolder: String?) -> RsyncRemote {
///         // rsync runs `<shell> <pod> rsync --server ...`, and kubectl wants `--` before the command.
///         let shell = ["sh", "-c", "pod=$1; shift; exec kubectl exec -i \"$pod\" -- \"$@\"", "rsh"]
///         return RsyncRemote(options: ["-s", "--blocking-io", "-e", TransportCommands.rsyncShellCommand(shell)],
///                            source: "\(pod):\(path)")
///     }
///     static let failureWords = TransportFailureWords(lines: [StderrLine(.prefix("Error from server"), .error, .remote)],
///                                                     hopeless: ["Error from server (NotFound)"])
/// }
/// ```
///
/// Data (paths, names) never goes into a command: the scripts read it on stdin, rsync in its protocol (or,
/// for a local rsync with no shell in between, as its own arguments: `takesNamesAsArguments`).
public protocol SourceTransport: Sendable, Hashable {
    // MARK: config

    /// The word of `transport:` that picks this transport.
    static var name: String { get }
    /// The keys of a source that only this transport reads (a key another transport reads is refused with
    /// a message that says whose it is).
    static var keys: [String] { get }
    /// Where `root:` is, for messages: "inside the container".
    static var rootPlace: String { get }
    /// True when the source's files are on this machine: `~` in `root:` is this machine's home, a root that
    /// overlaps the library is refused, and a sync lists its folders in the process (the engine's
    /// `LocalListing`) rather than by `RemoteListScript`. Default false.
    static var isOnThisMachine: Bool { get }
    /// Reads this transport's keys of one source; nil after reporting what is wrong.
    static func parse(_ keys: inout TransportKeys) -> Self?

    // MARK: people

    /// Where the source lives, for people: `docker container forge-1`, `ssh root@host port 2222`, `local`.
    var summary: String { get }
    /// What else check-config shows of the source (`key ~/.ssh/vast`). Default none.
    var details: [String] { get }

    // MARK: children

    /// The argv that runs a fixed `sh` script where the source lives (the listing, the purge, the checksum);
    /// the script reads its data on stdin. `connectionFolder` is the one `connectionFolder(preferred:fallback:)`
    /// chose, nil when none.
    func scriptArgv(_ script: String, connectionFolder: String?) -> [String]
    /// How rsync reaches the source's `path` (a folder, ending in `/`): its remote-shell options and the
    /// source argument.
    func rsyncRemote(path: String, connectionFolder: String?) -> RsyncRemote
    /// True when rsync gets the names it copies as arguments rather than as a `--files-from` list on stdin
    /// (`TransportCommands.namesAsArguments`): only where rsync runs on this machine with no shell in
    /// between, so a name reaches it as it is. Default false.
    static var takesNamesAsArguments: Bool { get }

    // MARK: a shared connection

    /// True when the children of one source share one connection (ssh's ControlMaster): a cycle lets the
    /// source's first job list alone, so that the others find the connection up. Default false.
    static var sharesConnection: Bool { get }
    /// The folder this transport keeps its connection state in (ssh's control sockets): `preferred`, or
    /// `fallback` with a notice saying why. nil (the default) when it keeps none.
    static func connectionFolder(preferred: String, fallback: String) -> (folder: String, notice: String?)?
    /// The argv that ends the source's shared connection at the end of a cycle; nil (the default) when none.
    func closeConnectionArgv(connectionFolder: String?) -> [String]?
    /// The argv that exits 0 while the shared connection is up; nil (the default) when none.
    func checkConnectionArgv(connectionFolder: String?) -> [String]?

    // MARK: lanes: connections of their own for big streams

    /// True when a big rsync stream gains from a connection of its own (a lane), beside the shared one: each
    /// connection has its own windows (ssh's channel window, the TCP window), which bind on a far link.
    /// `streams: auto` runs several streams per folder only on such transports. Default false.
    static var hasLanes: Bool { get }
    /// How rsync reaches `path` over lane `lane` (0: the shared connection). Default: `rsyncRemote(path:connectionFolder:)`.
    func rsyncRemote(path: String, connectionFolder: String?, lane: Int) -> RsyncRemote
    /// The argv that opens lane `lane`'s connection ahead of its stream and keeps it up; nil (the default) when none.
    func openConnectionArgv(connectionFolder: String?, lane: Int) -> [String]?
    /// The argv that ends lane `lane`'s connection; by default the shared connection's for lane 0, else nil.
    func closeConnectionArgv(connectionFolder: String?, lane: Int) -> [String]?

    // MARK: failures

    /// What this transport's programs print when something fails, and what that means. Default none.
    static var failureWords: TransportFailureWords { get }
    /// This transport's own diagnosis of a failed child's stderr lines (the cause and the fix in one line, and
    /// whether a retry can help), or nil (the default). `target` is the source's `summary`.
    static func diagnose(_ lines: [String], target: String) -> TransportDiagnosis?
}

extension SourceTransport {
    public static var isOnThisMachine: Bool { false }
    public var details: [String] { [] }
    public static var takesNamesAsArguments: Bool { false }
    public static var sharesConnection: Bool { false }
    public static func connectionFolder(preferred: String, fallback: String) -> (folder: String, notice: String?)? { nil }
    public func closeConnectionArgv(connectionFolder: String?) -> [String]? { nil }
    public func checkConnectionArgv(connectionFolder: String?) -> [String]? { nil }
    public static var hasLanes: Bool { false }
    public func rsyncRemote(path: String, connectionFolder: String?, lane: Int) -> RsyncRemote {
        rsyncRemote(path: path, connectionFolder: connectionFolder)
    }
    public func openConnectionArgv(connectionFolder: String?, lane: Int) -> [String]? { nil }
    public func closeConnectionArgv(connectionFolder: String?, lane: Int) -> [String]? {
        lane == 0 ? closeConnectionArgv(connectionFolder: connectionFolder) : nil
    }
    public static var failureWords: TransportFailureWords { TransportFailureWords() }
    public static func diagnose(_ lines: [String], target: String) -> TransportDiagnosis? { nil }
}

/// How rsync reaches a source: options before the paths (`-e` and its remote shell) and the source argument.
public struct RsyncRemote: Sendable, Equatable {
    public var options: [String]
    /// `host:/path/`, `container:/path/`, or a local `/path/`.
    public var source: String

    public init(options: [String], source: String) {
        self.options = options
        self.source = source
    }
}

/// One line of a failed child's stderr, read by the transport that knows it.
public struct TransportDiagnosis: Sendable, Equatable {
    /// What happened and what to do; the caller puts the job in front.
    public var line: String
    public var retryable: Bool

    public init(line: String, retryable: Bool) {
        self.line = line
        self.retryable = retryable
    }
}

/// The words a transport's programs print when they fail (docker's `Error: No such container`, ssh's
/// `Permission denied (publickey)`), and what each means for the job. Every registered transport's words are
/// known whichever transport a job uses: rsync's stderr is read before anyone asks which source it came from,
/// and a docker engine can itself be reached over ssh.
public struct TransportFailureWords: Sendable {
    /// Lines its programs print, by how they start or what they hold.
    public var lines: [StderrLine]
    /// Phrases after which no retry can help, whatever rsync's exit code says (a missing container, a refused
    /// key): the job fails at once.
    public var hopeless: [String]
    /// Phrases from the far side after which a retry can help although the exit is a usage error (docker exits
    /// 1 for a stopped container, which may be started again).
    public var passing: [String]
    /// Phrases that mean rsync is not installed where the source lives.
    public var rsyncMissing: [String]

    public init(lines: [StderrLine] = [], hopeless: [String] = [], passing: [String] = [], rsyncMissing: [String] = []) {
        self.lines = lines
        self.hopeless = hopeless
        self.passing = passing
        self.rsyncMissing = rsyncMissing
    }
}

/// A kind of stderr line a transport's program prints, and how the rsync parser files it.
public struct StderrLine: Sendable {
    public enum Match: Sendable {
        /// The line (without leading blanks) starts with this.
        case prefix(String)
        /// The line holds this anywhere.
        case contains(String)
    }

    public var match: Match
    public var severity: RsyncMessage.Severity
    public var origin: RsyncMessage.Origin

    public init(_ match: Match, _ severity: RsyncMessage.Severity, _ origin: RsyncMessage.Origin) {
        self.match = match
        self.severity = severity
        self.origin = origin
    }

    func matches(_ body: Substring) -> Bool {
        switch match {
        case let .prefix(text): body.hasPrefix(text)
        case let .contains(text): body.contains(text)
        }
    }
}
