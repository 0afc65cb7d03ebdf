import Foundation

/// What ssh's own words about a failed connection mean for the user: the cause in one line, the fix, and
/// whether another try can help. Pure: it reads the lines ssh (and the remote shell) printed.
///
/// ```swift
/// if let diagnosis = SSHDiagnosis.diagnose(stderrLines, target: "ssh vast1") {
///     diagnosis.retryable ? retryLater() : fail("gpu/output: " + diagnosis.line)
/// }
/// ```
///
/// Retry policy, after lsyncd's (which retries ssh's 255): retry where the box may come back by itself
/// within a cycle's retries — a refused port (sshd not up yet after a reboot), a connect timeout, a lost
/// route, a DNS server that did not answer — and never where only the user can change something: a
/// changed or unknown host key, a refused key, a host name that does not exist, a broken ssh config, a
/// remote shell that prints. Retries are bounded by `retry.attempts` with backoff, and `serve` backs the
/// source off between cycles, so even the retried causes never become a storm.
public struct SSHDiagnosis: Sendable, Equatable {
    public enum Cause: String, Sendable {
        case hostKeyChanged, hostKeyUnknown, keyRefused, unknownHost, nameLookupFailed, connectionRefused,
             connectTimeout, bannerTimeout, unreachable, badConfig, noisyShell
    }

    public var cause: Cause
    /// One line: what happened and what to do. The caller puts the job in front.
    public var line: String
    public var retryable: Bool

    public init(cause: Cause, line: String, retryable: Bool) {
        self.cause = cause
        self.line = line
        self.retryable = retryable
    }

    /// The diagnosis for ssh's lines, or nil when they hold no ssh failure this knows.
    /// `target` names the source's connection for people (`ssh vast1`, `ssh root@host port 2222`); it is
    /// used where ssh's own line does not say which host it was.
    public static func diagnose(_ lines: [String], target: String) -> SSHDiagnosis? {
        if let changed = hostKeyChanged(lines) { return changed }
        for raw in lines {
            let line = trimmed(raw)
            if let rest = line.after("No "), let known = rest.range(of: " host key is known for "),
               let end = rest.range(of: " and you have requested strict checking") {
                let spec = String(rest[known.upperBound..<end.lowerBound])
                let (host, port) = hostAndPort(spec)
                return SSHDiagnosis(
                    cause: .hostKeyUnknown,
                    line: "ssh does not know the host key of \(host)\(port.map { " port \($0)" } ?? "") and "
                        + "StrictHostKeyChecking=yes forbids learning it; connect once by hand "
                        + "(`\(manualCommand(target))`) and check the fingerprint, or drop StrictHostKeyChecking "
                        + "from ssh_options (mediasync's default, accept-new, learns a new box's key and refuses a changed one)",
                    retryable: false)
            }
            if let denied = line.range(of: ": Permission denied (") {
                let login = String(line[line.startIndex..<denied.lowerBound])
                let methods = line[denied.upperBound...].prefix { $0 != ")" }
                return SSHDiagnosis(
                    cause: .keyRefused,
                    line: "the box refused the login of \(login) (Permission denied (\(methods))): check `user:` "
                        + "(a Vast.ai box wants `user: root`; unset, ssh uses your ssh config's User or your own "
                        + "name) and `identity:`, and that the key's .pub line is in ~/.ssh/authorized_keys of "
                        + "that user on the box",
                    retryable: false)
            }
            if let rest = line.after("ssh: Could not resolve hostname ") {
                let name = String(rest.prefix { $0 != ":" })
                let reason = rest.dropFirst(name.count).drop { $0 == ":" || $0 == " " }
                // EAI_AGAIN: the DNS server did not answer; the name may well exist.
                if reason.contains("Temporary failure") {
                    return SSHDiagnosis(
                        cause: .nameLookupFailed,
                        line: "the host name \(name) could not be looked up (\(reason)): is the network or the DNS "
                            + "server down?",
                        retryable: true)
                }
                return SSHDiagnosis(
                    cause: .unknownHost,
                    line: "the host name \(name) does not exist (\(reason)): check `host:`; an alias must be a "
                        + "`Host \(name)` entry with its HostName in the ssh config (~/.ssh/config of the user "
                        + "mediasync runs as, or the file `ssh_config:` names)",
                    retryable: false)
            }
            if let rest = line.after("ssh: connect to host "), let colon = rest.range(of: ": ", options: .backwards) {
                let place = rest[rest.startIndex..<colon.lowerBound]
                let reason = String(rest[colon.upperBound...])
                if reason == "Connection refused" {
                    return SSHDiagnosis(
                        cause: .connectionRefused,
                        line: "\(place) refused the connection (Connection refused): no ssh server listens there; "
                            + "the box is down or restarting, or `port:` is wrong",
                        retryable: true)
                }
                if reason == "Connection timed out" {
                    return SSHDiagnosis(
                        cause: .connectTimeout,
                        line: "\(place) did not answer (Connection timed out): the box is off or unreachable, or "
                            + "a firewall drops the port; check `host:` and `port:`",
                        retryable: true)
                }
                if reason == "No route to host" || reason == "Network is unreachable" {
                    return SSHDiagnosis(
                        cause: .unreachable,
                        line: "\(place) cannot be reached (\(reason)): is the network up, and the box on?",
                        retryable: true)
                }
            }
            if line.hasPrefix("Connection timed out during banner exchange") {
                let place = lines.lazy.map(trimmed).compactMap { $0.after("Connection to ") }
                    .first { $0.hasSuffix(" timed out") }.map { String($0.dropLast(" timed out".count)) }
                return SSHDiagnosis(
                    cause: .bannerTimeout,
                    line: "\(place ?? target) took the connection but no ssh server answered (Connection timed "
                        + "out during banner exchange): the box is overloaded, or the port is not ssh's",
                    retryable: true)
            }
            if line.contains("Bad configuration option") || line.contains("bad configuration option")
                || line.hasPrefix("Can't open user config file") || line.contains("Bad owner or permissions on") {
                return SSHDiagnosis(
                    cause: .badConfig,
                    line: "ssh cannot use its config: \(line) (fix that file, or `ssh_options` / `ssh_config:`)",
                    retryable: false)
            }
            if line.hasPrefix("protocol version mismatch -- is your shell clean?") {
                return SSHDiagnosis(cause: .noisyShell, line: NoisyShell.line(target: target, firstLine: nil),
                                    retryable: false)
            }
        }
        return nil
    }

    // MARK: - The changed host key

    /// ssh's block, as OpenSSH 9 prints it:
    /// `@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @` ... `Offending ED25519 key in
    /// /root/.ssh/known_hosts:3`, `  ssh-keygen -f "/root/.ssh/known_hosts" -R "[127.0.0.1]:2222"`,
    /// `Host key for [127.0.0.1]:2222 has changed and you have requested strict checking.`
    private static func hostKeyChanged(_ lines: [String]) -> SSHDiagnosis? {
        guard lines.contains(where: { $0.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") }) else { return nil }
        var spec: String?
        var file: String?
        for raw in lines {
            let line = trimmed(raw)
            if let rest = line.after("Host key for "), let end = rest.range(of: " has changed") {
                spec = String(rest[rest.startIndex..<end.lowerBound])
            }
            if file == nil, line.hasPrefix("Offending "), let inRange = line.range(of: " key in ") {
                let location = line[inRange.upperBound...]
                // `path:line`; the path itself may hold colons.
                if let colon = location.lastIndex(of: ":"), location[location.index(after: colon)...].allSatisfy(\.isNumber) {
                    file = String(location[location.startIndex..<colon])
                } else {
                    file = String(location)
                }
            }
            if spec == nil, let rest = line.after("ssh-keygen -f "), let dashR = rest.range(of: " -R ") {
                file = file ?? unquote(String(rest[rest.startIndex..<dashR.lowerBound]))
                spec = unquote(String(rest[dashR.upperBound...]))
            }
        }
        var text = "the host key of "
        var fix = ""
        if let spec {
            let (host, port) = hostAndPort(spec)
            text += host + (port.map { " port \($0)" } ?? "")
            fix = "ssh-keygen" + (file.map { " -f \(shellQuoted($0))" } ?? "") + " -R \(shellQuoted(spec))"
        } else {
            text += "the box"
        }
        text += " has changed: the box was probably recreated (a new instance at the same address); if so, "
        text += fix.isEmpty ? "remove its old line from \(file ?? "~/.ssh/known_hosts")" : "run `\(fix)`"
        text += " and mediasync learns the new key on its next connection (if the box was not recreated, "
            + "someone may be intercepting the connection: find out first)"
        return SSHDiagnosis(cause: .hostKeyChanged, line: text, retryable: false)
    }

    // MARK: - Helpers

    /// `[host]:port` -> (host, port); `host` -> (host, nil), which is port 22.
    static func hostAndPort(_ spec: String) -> (String, Int?) {
        if spec.hasPrefix("["), let close = spec.firstIndex(of: "]") {
            let host = String(spec[spec.index(after: spec.startIndex)..<close])
            let rest = spec[spec.index(after: close)...]
            return (host, rest.hasPrefix(":") ? Int(rest.dropFirst()) : nil)
        }
        return (spec, nil)
    }

    /// The word in single quotes for a POSIX shell, `'` written as `'\''`.
    static func shellQuoted(_ word: String) -> String {
        "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }

    private static func unquote(_ text: String) -> String {
        var word = Substring(text)
        if word.count >= 2, let first = word.first, first == "\"" || first == "'", word.last == first {
            word = word.dropFirst().dropLast()
        }
        return String(word)
    }

    /// `ssh root@host port 22` -> `ssh -p 22 root@host`, the command a user types to connect by hand.
    private static func manualCommand(_ target: String) -> String {
        var words = target.split(separator: " ").map(String.init)
        if let index = words.firstIndex(of: "port"), index + 1 < words.count {
            let port = words[index + 1]
            words.removeSubrange(index...(index + 1))
            words.insert(contentsOf: ["-p", port], at: 1)
        }
        return words.joined(separator: " ")
    }

    private static func trimmed(_ line: String) -> String {
        var text = Substring(line)
        while let last = text.last, last == "\r" || last == " " { text = text.dropLast() }
        return String(text.drop { $0 == " " || $0 == "\t" })
    }
}

/// A remote shell that prints for non-interactive sessions (a banner in `~/.bashrc`): it breaks rsync's
/// protocol and the listing, and only the box's owner can fix it. One line that says so.
public enum NoisyShell {
    /// `firstLine` is the first line the shell printed, when the listing caught it.
    public static func line(target: String, firstLine: String?) -> String {
        let said = switch firstLine {
        case nil: " prints text before mediasync's command runs"
        case "": " printed empty lines before mediasync's command ran"
        case let text?: " printed \"\(text)\" before mediasync's command ran"
        }
        return "the remote shell (\(target))\(said): a startup file of the login user on the box (usually "
            + "~/.bashrc) writes output even for non-interactive sessions, which breaks rsync and the listing; make "
            + "it silent for them, e.g. put `[ -z \"$PS1\" ] && return` as the first line of that ~/.bashrc"
    }
}

extension String {
    /// The rest after `prefix`, or nil when the string does not start with it.
    fileprivate func after(_ prefix: String) -> Substring? {
        hasPrefix(prefix) ? self[index(startIndex, offsetBy: prefix.count)...] : nil
    }
}

extension Substring {
    fileprivate func after(_ prefix: String) -> Substring? {
        hasPrefix(prefix) ? self[index(startIndex, offsetBy: prefix.count)...] : nil
    }
}
