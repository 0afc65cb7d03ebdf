/// How one source is reached: a value of one of the registered transports (`.local`, `.docker(...)`,
/// `.ssh(...)`), compared and hashed by that value.
public struct Transport: Sendable, Hashable {
    /// Every transport the config accepts, in the order messages list them. Adding a transport is adding it here.
    public static let registered: [TransportKind] = [
        TransportKind(DockerTransport.self),
        TransportKind(SSHTransport.self),
        TransportKind(LocalTransport.self),
    ]

    /// The transport's own value.
    public let method: any SourceTransport

    public init(_ method: some SourceTransport) {
        self.method = method
    }

    /// The registered transport called `name` in the config.
    public static func named(_ name: String) -> TransportKind? {
        registered.first { $0.name == name }
    }

    /// The word used for this transport in the config file.
    public var name: String { type(of: method).name }
    /// Where the source lives, for people (`SourceTransport.summary`).
    public var summary: String { method.summary }
    /// What check-config shows of it besides the summary.
    public var details: [String] { method.details }
    /// True when the source's files are on this machine.
    public var isOnThisMachine: Bool { type(of: method).isOnThisMachine }
    /// True when the source's children share one connection per cycle (its first job lists alone).
    public var sharesConnection: Bool { type(of: method).sharesConnection }
    /// Big streams can have connections of their own (`SourceTransport.hasLanes`).
    public var hasLanes: Bool { type(of: method).hasLanes }

    /// The value as `type`, when it is one.
    public func `as`<T: SourceTransport>(_ type: T.Type) -> T? { method as? T }

    public static func == (lhs: Transport, rhs: Transport) -> Bool {
        AnyHashable(lhs.method) == AnyHashable(rhs.method)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(AnyHashable(method))
    }
}

extension Transport: CustomStringConvertible {
    public var description: String { "\(method)" }
}

/// A registered transport as the config and the failure readers know it, without a value of it.
public struct TransportKind: Sendable {
    /// `SourceTransport.name`: the word of `transport:`.
    public let name: String
    /// `SourceTransport.keys`.
    public let keys: [String]
    /// `SourceTransport.rootPlace`.
    public let rootPlace: String
    /// `SourceTransport.isOnThisMachine`.
    public let isOnThisMachine: Bool
    /// `SourceTransport.failureWords`.
    public let failureWords: TransportFailureWords
    let parse: @Sendable (inout TransportKeys) -> Transport?
    let diagnose: @Sendable ([String], String) -> TransportDiagnosis?

    public init<T: SourceTransport>(_ type: T.Type) {
        name = T.name
        keys = T.keys
        rootPlace = T.rootPlace
        isOnThisMachine = T.isOnThisMachine
        failureWords = T.failureWords
        parse = { keys in T.parse(&keys).map(Transport.init) }
        diagnose = { lines, target in T.diagnose(lines, target: target) }
    }
}

extension Transport {
    /// The words of every registered transport's programs, the connection's first (`origin: .ssh`): a runtime
    /// can quote a connection error in its own line, and the connection's reading is the telling one.
    static let stderrLines: [StderrLine] = {
        let all = registered.flatMap { $0.failureWords.lines }
        return all.filter { $0.origin == .ssh } + all.filter { $0.origin != .ssh }
    }()
    /// Phrases after which no retry can help, from every registered transport.
    static let hopelessPhrases: [String] = registered.flatMap { $0.failureWords.hopeless }
    /// Phrases after which a retry can help despite a usage-error exit, from every registered transport.
    static let passingPhrases: [String] = registered.flatMap { $0.failureWords.passing }
    /// Phrases that mean rsync is missing at the source, from every registered transport.
    static let rsyncMissingPhrases: [String] = registered.flatMap { $0.failureWords.rsyncMissing }

    /// The first registered transport's diagnosis of these stderr lines (`SourceTransport.diagnose`).
    public static func diagnose(_ lines: [String], target: String) -> TransportDiagnosis? {
        for transport in registered {
            if let diagnosis = transport.diagnose(lines, target) { return diagnosis }
        }
        return nil
    }
}
