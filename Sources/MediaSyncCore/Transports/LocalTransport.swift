/// `transport: local`: a folder on this machine. The scripts run under `/bin/sh`, rsync copies locally.
public struct LocalTransport: SourceTransport {
    public init() {}

    public static let name = "local"
    public static let keys: [String] = []
    public static let rootPlace = "on this machine"
    public static let isOnThisMachine = true
    public static let takesNamesAsArguments = true

    public static func parse(_ keys: inout TransportKeys) -> LocalTransport? { LocalTransport() }

    public var summary: String { "local" }

    public func scriptArgv(_ script: String, connectionFolder: String?) -> [String] {
        ["/bin/sh", "-c", script]
    }

    public func rsyncRemote(path: String, connectionFolder: String?) -> RsyncRemote {
        RsyncRemote(options: [], source: path)
    }
}

extension Transport {
    /// A folder on this machine.
    public static let local = Transport(LocalTransport())
}
