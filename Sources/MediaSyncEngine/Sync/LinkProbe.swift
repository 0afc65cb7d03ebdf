import Foundation
import MediaSyncCore
import UV

/// Times a source's link while its first listing logs in, so that on a far link the big streams' connections
/// log in beside it (`StreamSplit.lanesAhead`) instead of once the listing has been silent for
/// `farLinkSetupSeconds`. `ssh -G` says where ssh connects (the user's config: aliases, `Match`, `Port`), then
/// a thread runs `LinkProbeExchange` over a plain TCP connection to that host and port: one round trip after
/// the identification lines, no login. Behind a ProxyJump or ProxyCommand, or when anything fails, it measures
/// nothing and the listing's login decides as before.
///
/// Loop thread only, except the exchange's own thread, which only posts its outcome.
final class LinkProbe {
    enum Outcome: Sendable, Equatable {
        case measured(roundTrip: Double)
        case nothing(String)
    }

    /// `ssh -G` may run a `Match exec` of the user's config: past this it is stopped.
    static let resolveTimeoutMs: UInt64 = 2_000
    /// The connection and the exchange together; a far link's round trip is well inside it.
    static let exchangeTimeout = 2.0

    private let loop: Loop
    private let argv: [String]
    private let environment: [String: String]
    private var done: ((Outcome) -> Void)?
    private var child: Child?
    private var mailbox: Mailbox<Outcome>?

    /// `argv`: the source's `ssh -G` (`TransportCommands.resolveArgv`). `done` runs once, on the loop,
    /// unless `stop()` came first.
    init(loop: Loop, argv: [String], environment: [String: String], done: @escaping (Outcome) -> Void) {
        self.loop = loop
        self.argv = argv
        self.environment = environment
        self.done = done
    }

    func start() {
        child = SSHConfigProbe.resolve(loop: loop, argv: argv, environment: environment,
                                       timeoutMs: Self.resolveTimeoutMs) { [weak self] outcome in
            guard let self else { return }
            child = nil
            guard done != nil else { return }
            switch outcome {
            case let .resolved(resolved, _):
                guard let target = resolved.directTarget else {
                    return finish(.nothing("ssh connects through \(resolved.proxy ?? resolved.bindsTo ?? "another route")"))
                }
                exchange(with: target)
            case let .failed(why):
                finish(.nothing(why))
            case .sshMissing:
                finish(.nothing("no ssh"))
            }
        }
    }

    /// No outcome is wanted any more: `done` will not run. The exchange's thread ends by its own timeout.
    func stop() {
        done = nil
        child?.stop(grace: 200)
        mailbox?.close()
        mailbox = nil
    }

    private func exchange(with target: (host: String, port: Int, family: String)) {
        do {
            let mailbox = try Mailbox<Outcome>(loop: loop) { [weak self] outcomes in
                if let outcome = outcomes.first { self?.finish(outcome) }
            }
            self.mailbox = mailbox
            let poster = mailbox.poster
            let timeout = Self.exchangeTimeout
            DispatchQueue.global(qos: .userInitiated).async {
                poster.post(LinkProbeSocket.exchange(host: target.host, port: target.port, family: target.family, timeout: timeout))
            }
        } catch {
            finish(.nothing("cannot wait for the probe: \(error)"))
        }
    }

    private func finish(_ outcome: Outcome) {
        mailbox?.close()
        mailbox = nil
        guard let done else { return }
        self.done = nil
        done(outcome)
    }
}

/// The probe's TCP side: blocking calls with one deadline, on a thread of its own.
enum LinkProbeSocket {
    static func exchange(host: String, port: Int, family: String, timeout: Double) -> LinkProbe.Outcome {
        let deadline = monotonicNow() + timeout
        var hints = addrinfo()
        hints.ai_family = family == "inet" ? AF_INET : family == "inet6" ? AF_INET6 : AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &found)
        guard resolved == 0, let address = found else {
            return .nothing("cannot resolve \(host): \(String(cString: gai_strerror(resolved)))")
        }
        defer { freeaddrinfo(found) }
        let fd = socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return .nothing("socket: \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        if connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else { return .nothing("cannot connect to \(host) port \(port): \(String(cString: strerror(errno)))") }
            guard wait(fd, for: Int16(POLLOUT), until: deadline) else { return .nothing("no connection to \(host) port \(port) within \(timeout) s") }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else { return .nothing("cannot connect to \(host) port \(port): \(String(cString: strerror(error)))") }
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var probe = LinkProbeExchange()
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while true {
            guard wait(fd, for: Int16(POLLIN), until: deadline) else { return .nothing("the server did not answer within \(timeout) s") }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return .nothing("cannot read from \(host) port \(port): \(String(cString: strerror(errno)))")
            }
            var step = count == 0 ? probe.ended() : probe.received(buffer[0..<count], at: monotonicNow())
            while case let .send(bytes) = step {
                guard send(fd, bytes, until: deadline) else { return .nothing("cannot write to \(host) port \(port)") }
                step = probe.sent(at: monotonicNow())
            }
            switch step {
            case .wait, .send:
                continue
            case let .measured(roundTrip, goodbye):
                _ = send(fd, goodbye, until: deadline)
                return .measured(roundTrip: roundTrip)
            case let .failed(why):
                return .nothing(why)
            }
        }
    }

    private static func wait(_ fd: Int32, for events: Int16, until deadline: Double) -> Bool {
        while true {
            let left = deadline - monotonicNow()
            guard left > 0 else { return false }
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&entry, 1, Int32((left * 1000).rounded(.up)))
            if ready > 0 { return true }
            if ready < 0 && errno != EINTR { return false }
        }
    }

    private static func send(_ fd: Int32, _ bytes: [UInt8], until deadline: Double) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent > 0 { offset += sent; continue }
            if sent < 0 && (errno == EAGAIN || errno == EINTR) {
                guard wait(fd, for: Int16(POLLOUT), until: deadline) else { return false }
                continue
            }
            return false
        }
        return true
    }

    static func monotonicNow() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
