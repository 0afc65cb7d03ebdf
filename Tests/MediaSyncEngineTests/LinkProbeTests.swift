import Foundation
import MediaSyncCore
@testable import MediaSyncEngine
import Testing
import UV

/// The link probe against a real sshd on loopback, directly and through the latency proxy (a far link on
/// loopback). What a user would notice if it broke: a far GPU box's streams logging in late (no round trip),
/// a near one opening connections it never uses (a round trip made up), a probe through their ProxyJump (it
/// would time the bastion, not the box), or an sshd log full of errors instead of one plain goodbye.
@Suite("link probe over a real sshd")
struct LinkProbeTests {
    /// Runs one probe to completion with `ssh -G` over these options (no user config: `-F /dev/null`).
    static func probe(_ options: [String]) throws -> LinkProbe.Outcome? {
        let loop = try Loop()
        var outcome: LinkProbe.Outcome?
        let probe = LinkProbe(loop: loop, argv: ["ssh", "-G", "-F", "/dev/null"] + options + ["--", "root@127.0.0.1"],
                              environment: Command.currentEnvironment()) { outcome = $0 }
        probe.start()
        _ = loop.run()
        try? loop.close()
        return outcome
    }

    @Test("a loopback sshd: a round trip is measured, and the server logs the probe's goodbye and no complaint")
    func loopback() throws {
        let server = try TestSSHD()
        let outcome = try Self.probe(["-p", String(server.port)])
        guard case let .measured(trip) = outcome else { Issue.record("no round trip: \(String(describing: outcome))"); return }
        #expect(trip >= 0 && trip < LinkProbe.exchangeTimeout)
        // The server logs the goodbye once it has read it, after the probe closed: wait for it (up to 10 s).
        var log = ""
        for _ in 0..<100 {
            log = (try? String(contentsOf: server.folder.appendingPathComponent("sshd.log"), encoding: .utf8)) ?? ""
            if log.contains("mediasync link probe") { break }
            usleep(100_000)
        }
        #expect(log.contains(":11: mediasync link probe [preauth]"), "\(log)")
        for complaint in ["Bad protocol version", "Did not receive identification", "invalid", "Protocol error"] {
            #expect(!log.contains(complaint), "\(log)")
        }
    }

    @Test("through a far link (40 ms each way): at least the round trip the link adds, enough to open lanes")
    func farLink() throws {
        let server = try TestSSHD()
        let folder = try TempFolder("lp")
        let proxy = try LatencyProxy(target: server.port, delayMs: 40, in: folder.path)
        let outcome = try Self.probe(["-p", String(proxy.port)])
        guard case let .measured(trip) = outcome else { Issue.record("no round trip: \(String(describing: outcome))"); return }
        #expect(trip >= 0.080, "the link adds 80 ms: \(trip)")
        #expect(StreamSplit.lanesAhead(.auto, probedRoundTrip: trip) ?? 0 >= 7, "as many lanes as auto runs at 80 ms or more")
        #expect(StreamSplit.lanesAhead(.fixed(3), probedRoundTrip: trip) == 3)
    }

    @Test("behind a ProxyCommand or ProxyJump, nothing is measured (the probe would time the first hop)")
    func proxied() throws {
        let server = try TestSSHD()
        let command = try Self.probe(["-p", String(server.port), "-o", "ProxyCommand=nc %h %p"])
        #expect(command == .nothing("ssh connects through ProxyCommand nc %h %p"))
        let jump = try Self.probe(["-p", String(server.port), "-o", "ProxyJump=bastion"])
        #expect(jump == .nothing("ssh connects through ProxyJump bastion"))
    }

    @Test("a port nobody listens on, and a server that is not ssh: nothing, with the cause named")
    func noServer() throws {
        // A port just closed: nothing listens there.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in(sin_family: sa_family_t(AF_INET), sin_port: 0, sin_addr: in_addr(s_addr: inet_addr("127.0.0.1")), sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = bind(fd, $0, length) } }
        withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) } }
        let port = Int(UInt16(bigEndian: address.sin_port))
        close(fd)
        let refused = try Self.probe(["-p", String(port)])
        #expect(refused == .nothing("cannot connect to 127.0.0.1 port \(port): Connection refused"))

        // A server that answers, but not as ssh does: it sends no identification line and closes.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        address.sin_port = 0
        length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = bind(listener, $0, length) } }
        withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(listener, $0, &length) } }
        listen(listener, 4)
        let other = Int(UInt16(bigEndian: address.sin_port))
        let answer = Thread {
            let client = accept(listener, nil, nil)
            let text = Array("HTTP/1.1 400 Bad Request\r\n\r\n".utf8)
            _ = text.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
            close(client)
        }
        answer.start()
        let notSSH = try Self.probe(["-p", String(other)])
        #expect(notSSH == .nothing("the server closed the connection"))
    }
}
