/// Sorts a line that rsync, ssh, the remote shell or the container runtime printed into a message.
enum RsyncMessages {
    /// Lines from a shell that could not start the remote rsync.
    private static let remoteShellMissing = ["command not found", "Command not found", ": not found"]
    /// rsync lines that have no `rsync:` prefix.
    private static let rsyncUnprefixed = [
        "file has vanished: ", "IO error encountered", "cannot delete non-empty directory",
        "skipping non-regular file", "WARNING: ", "ERROR: ", "deleting in ",
    ]

    static func classify(_ text: String, stream: RsyncOutputParser.Stream) -> RsyncMessage {
        let body = text.drop { $0 == " " || $0 == "\t" }
        if body.hasPrefix("rsync error: ") {
            return RsyncMessage(severity: .error, origin: .rsync, text: text, exitCode: code(in: text))
        }
        if body.hasPrefix("rsync warning: ") {
            return RsyncMessage(severity: .warning, origin: .rsync, text: text, exitCode: code(in: text))
        }
        // `rsync: command not found` is the remote shell talking, not rsync: check it first.
        if remoteShellMissing.contains(where: { body.contains($0) }) {
            return RsyncMessage(severity: .error, origin: .remote, text: text)
        }
        if body.hasPrefix("rsync: ") || body.hasPrefix("rsync(") {
            return RsyncMessage(severity: .error, origin: .rsync, text: text)
        }
        // What ssh, docker... print: each transport's own words (`SourceTransport.failureWords`).
        if let known = Transport.stderrLines.first(where: { $0.matches(body) }) {
            return RsyncMessage(severity: known.severity, origin: known.origin, text: text)
        }
        if let known = rsyncUnprefixed.first(where: { body.hasPrefix($0) }) {
            let severity: RsyncMessage.Severity = known == "ERROR: " ? .error : .warning
            return RsyncMessage(severity: severity, origin: .rsync, text: text)
        }
        // rsync prefixes its own complaints, so the rest of stderr comes from the far side
        // (a login banner, a remote shell); unknown stdout lines are rsync's informational chatter.
        return stream == .stderr
            ? RsyncMessage(severity: .warning, origin: .remote, text: text)
            : RsyncMessage(severity: .info, origin: .rsync, text: text)
    }

    /// `N` of `(code N)`.
    static func code(in text: String) -> Int32? {
        let bytes = Array(text.utf8)
        let marker = Array("(code ".utf8)
        guard bytes.count > marker.count else { return nil }
        for start in 0...(bytes.count - marker.count) where bytes[start..<start + marker.count].elementsEqual(marker) {
            let digits = bytes[(start + marker.count)...].prefix { $0 >= 0x30 && $0 <= 0x39 }
            return Int32(String(decoding: digits, as: UTF8.self))
        }
        return nil
    }
}
