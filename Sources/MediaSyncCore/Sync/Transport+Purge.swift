/// The purge's children: the fixed delete script and the fixed checksum script, run where the source lives
/// the same way as the listing (one call per batch; data on stdin only).
extension TransportCommands {
    /// The argv that runs `RemotePurgeScript` where the source lives.
    public func purgeArgv() -> [String] { argv(script: RemotePurgeScript.text, ssh: RemotePurgeScript.sshCommand) }

    /// The stdin of the purge child for `folder`: min age, folder path, records.
    public func purgeStdin(folder: String, minAgeSeconds: Int64, records: [RemotePurgeScript.Record]) -> [UInt8] {
        RemotePurgeScript.stdin(folder: Array(source.path(of: folder).utf8), minAgeSeconds: minAgeSeconds,
                                records: records)
    }

    /// The argv that runs `RemoteChecksumScript` where the source lives.
    public func checksumArgv() -> [String] {
        argv(script: RemoteChecksumScript.text, ssh: RemoteChecksumScript.sshCommand)
    }

    /// The stdin of the checksum child for `folder`: folder path, then the paths.
    public func checksumStdin(folder: String, paths: [[UInt8]]) -> [UInt8] {
        RemoteChecksumScript.stdin(folder: Array(source.path(of: folder).utf8), paths: paths)
    }

    private func argv(script: String, ssh: String) -> [String] {
        switch source.transport {
        case .local:
            return ["/bin/sh", "-c", script]
        case .ssh:
            return ["ssh"] + sshOptions + ["--", sshDestination, ssh]
        case let .docker(container, command):
            return [command, "exec", "-i", container, "sh", "-c", script]
        }
    }
}
