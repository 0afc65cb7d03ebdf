/// A link's round trip, measured before any login: the link probe's exchange with an sshd. Pure: bytes and
/// times in, what to send and the round trip out.
///
/// The probe connects where ssh would (`SSHResolved.directTarget`: no ProxyJump or ProxyCommand between),
/// reads the server's identification line (`SSH-2.0-...`; RFC 4253 allows other lines before it), sends its
/// own, and times the server's next bytes: its KEXINIT, which OpenSSH sends once it has read the client's
/// line. That is one round trip plus a few microseconds of the server's work (1.9 ms on loopback here), with
/// no key exchange and no login. Then it says goodbye with an SSH_MSG_DISCONNECT the server logs as
/// `Received disconnect from ... 11: mediasync link probe [preauth]`, and closes.
///
/// A server that sends its KEXINIT before reading the client's line (allowed by the RFC) gives no round
/// trip: bytes that came before ours was sent cannot time it.
///
/// ```swift
/// var probe = LinkProbeExchange()
/// probe.received(Array("SSH-2.0-OpenSSH_9.2\r\n".utf8), at: 0.05)  // .send(LinkProbeExchange.identification)
/// probe.sent(at: 0.05)                                              // .wait
/// probe.received([0, 0, 4, 60], at: 0.151)                          // .measured(roundTrip: 0.101, goodbye: ...)
/// ```
public struct LinkProbeExchange: Sendable {
    public enum Step: Sendable, Equatable {
        /// Nothing to do but read on.
        case wait
        /// Send these bytes, then call `sent(at:)`.
        case send([UInt8])
        /// The round trip; send `goodbye` (best effort) and close.
        case measured(roundTrip: Double, goodbye: [UInt8])
        /// No round trip from this server: why, for the log. Close.
        case failed(String)
    }

    /// The probe's identification line (RFC 4253 4.2: `SSH-protoversion-softwareversion`).
    public static let identification = Array("SSH-2.0-mediasync_linkprobe\r\n".utf8)
    /// Most bytes read without an identification line: a server that is not ssh.
    public static let lineLimit = 8_192

    private enum Phase: Sendable {
        case banner([UInt8])
        case toSend(early: Bool)
        case sent(at: Double)
        case done
    }

    private var phase: Phase = .banner([])

    public init() {}

    /// The server sent `bytes` at `now`.
    public mutating func received(_ bytes: some Collection<UInt8>, at now: Double) -> Step {
        switch phase {
        case var .banner(buffer):
            buffer += bytes
            var lineStart = buffer.startIndex
            while let newline = buffer[lineStart...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[lineStart..<newline]
                if line.starts(with: Array("SSH-".utf8)) {
                    guard line.starts(with: Array("SSH-2.0-".utf8)) || line.starts(with: Array("SSH-1.99-".utf8)) else {
                        phase = .done
                        return .failed("the server speaks no ssh 2 (\(String(decoding: line.prefix(40), as: UTF8.self)))")
                    }
                    phase = .toSend(early: newline + 1 < buffer.endIndex)
                    return .send(Self.identification)
                }
                lineStart = newline + 1
            }
            guard buffer.count < Self.lineLimit else {
                phase = .done
                return .failed("no ssh identification line in the first \(Self.lineLimit) bytes")
            }
            phase = .banner(buffer)
            return .wait
        case .toSend:
            if !bytes.isEmpty { phase = .toSend(early: true) }
            return .wait
        case let .sent(at: sentAt):
            guard !bytes.isEmpty else { return .wait }
            phase = .done
            return .measured(roundTrip: max(0, now - sentAt), goodbye: Self.goodbye)
        case .done:
            return .wait
        }
    }

    /// The identification line went out at `now`.
    public mutating func sent(at now: Double) -> Step {
        guard case let .toSend(early) = phase else { return .wait }
        if early {
            phase = .done
            return .failed("the server sent its key exchange before reading ours: nothing to time")
        }
        phase = .sent(at: now)
        return .wait
    }

    /// The server closed the connection.
    public mutating func ended() -> Step {
        if case .done = phase { return .wait }
        phase = .done
        return .failed("the server closed the connection")
    }

    /// SSH_MSG_DISCONNECT (1), reason 11 (by application), "mediasync link probe", no language tag, in the
    /// unencrypted binary packet of RFC 4253 6: length, padding length, payload, at least 4 bytes of
    /// padding, the whole a multiple of 8.
    public static let goodbye: [UInt8] = {
        func uint32(_ value: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) } }
        let text = Array("mediasync link probe".utf8)
        let payload = [1] + uint32(11) + uint32(text.count) + text + uint32(0)
        var padding = 8 - (5 + payload.count) % 8
        if padding < 4 { padding += 8 }
        return uint32(1 + payload.count + padding) + [UInt8(padding)] + payload + [UInt8](repeating: 0, count: padding)
    }()
}
