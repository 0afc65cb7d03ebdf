import MediaSyncCore
import Testing

/// The link probe's exchange with an sshd, on manual time. What a user would notice if it broke: a far GPU
/// box's streams logging in late (no round trip measured), a near box opening connections it never uses (a
/// wrong round trip), or a probe that hangs or upsets the server (no goodbye, a malformed one).
@Suite("link probe exchange")
struct LinkProbeExchangeTests {
    static let banner = Array("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n".utf8)

    @Test("banner, our identification, the server's next bytes: the round trip is from our send to them")
    func roundTrip() {
        var probe = LinkProbeExchange()
        #expect(probe.received(Self.banner.prefix(10), at: 0.050) == .wait, "half a line: read on")
        #expect(probe.received(Self.banner.dropFirst(10), at: 0.051) == .send(LinkProbeExchange.identification))
        #expect(probe.sent(at: 0.052) == .wait)
        #expect(probe.received([0, 0, 4, 60, 9, 20], at: 0.153) == .measured(roundTrip: 0.101, goodbye: LinkProbeExchange.goodbye))
        #expect(probe.received([1, 2, 3], at: 0.2) == .wait, "done: nothing more")
        #expect(probe.ended() == .wait)
    }

    @Test("lines before the identification are skipped (RFC 4253 4.2); SSH-1.99 counts as ssh 2")
    func linesBefore() {
        var probe = LinkProbeExchange()
        #expect(probe.received(Array("Welcome to the GPU box\r\nplease behave\r\nSSH-1.99-Old\r\n".utf8), at: 1) == .send(LinkProbeExchange.identification))
    }

    @Test("a server that sends its key exchange before ours gives no round trip: nothing to time it by")
    func serverSpeaksEarly() {
        var probe = LinkProbeExchange()
        #expect(probe.received(Self.banner + [0, 0, 4, 60], at: 0.05) == .send(LinkProbeExchange.identification))
        guard case .failed = probe.sent(at: 0.05) else { Issue.record("an early key exchange timed"); return }
        var late = LinkProbeExchange()
        _ = late.received(Self.banner, at: 0.05)
        #expect(late.received([0, 0, 4, 60], at: 0.06) == .wait)
        guard case .failed = late.sent(at: 0.07) else { Issue.record("bytes before our send timed"); return }
    }

    @Test("not ssh, ssh 1, a closed connection: failures that name the cause")
    func failures() {
        var http = LinkProbeExchange()
        var step = LinkProbeExchange.Step.wait
        for _ in 0..<10 where step == .wait { step = http.received([UInt8](repeating: UInt8(ascii: "x"), count: 1_000), at: 0) }
        #expect(step == .failed("no ssh identification line in the first 8192 bytes"))
        var old = LinkProbeExchange()
        #expect(old.received(Array("SSH-1.5-ancient\n".utf8), at: 0) == .failed("the server speaks no ssh 2 (SSH-1.5-ancient)"))
        var closed = LinkProbeExchange()
        _ = closed.received(Self.banner, at: 0)
        _ = closed.sent(at: 0)
        #expect(closed.ended() == .failed("the server closed the connection"))
    }

    @Test("the goodbye is a well-formed SSH_MSG_DISCONNECT packet: length, padding of 4 or more, a multiple of 8")
    func goodbye() {
        let packet = LinkProbeExchange.goodbye
        let length = packet.prefix(4).reduce(0) { $0 << 8 | Int($1) }
        let padding = Int(packet[4])
        #expect(length == packet.count - 4)
        #expect(packet.count % 8 == 0)
        #expect(padding >= 4 && padding <= 255)
        let payload = Array(packet[5..<(packet.count - padding)])
        #expect(payload.first == 1, "SSH_MSG_DISCONNECT")
        #expect(Array(payload[1..<5]) == [0, 0, 0, 11], "reason: by application")
        let textLength = payload[5..<9].reduce(0) { $0 << 8 | Int($1) }
        #expect(String(decoding: payload[9..<(9 + textLength)], as: UTF8.self) == "mediasync link probe")
        #expect(Array(payload[(9 + textLength)...]) == [0, 0, 0, 0], "no language tag")
    }

    @Test("what the probe's round trip decides: a far link opens its streams' connections, a near one none")
    func decision() {
        // 50 ms each way: as many as auto runs there.
        #expect(StreamSplit.lanesAhead(.auto, probedRoundTrip: 0.101) == 8)
        #expect(StreamSplit.lanesAhead(.auto, probedRoundTrip: 0.040) == 4)
        // Loopback, a LAN: none (auto runs one stream there).
        #expect(StreamSplit.lanesAhead(.auto, probedRoundTrip: 0.002) == 1)
        #expect(StreamSplit.lanesAhead(.auto, probedRoundTrip: 0.0125) == 1)
        // 5 ms each way, lengthened by the proxy and the server (12.5-16.8 ms measured): the one lane auto's
        // second stream will ride.
        #expect(StreamSplit.lanesAhead(.auto, probedRoundTrip: 0.0135) == 2)
        #expect(StreamSplit.lanesAhead(.auto, probedRoundTrip: 0.025) == 2)
        // streams: N runs N wherever: far opens N now; near decides nothing (the listing's login may).
        #expect(StreamSplit.lanesAhead(.fixed(3), probedRoundTrip: 0.101) == 3)
        #expect(StreamSplit.lanesAhead(.fixed(3), probedRoundTrip: 0.002) == nil)
    }
}
