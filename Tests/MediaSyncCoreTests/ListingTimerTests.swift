import MediaSyncCore
import Testing

/// The listing times its link: a wrong round trip picks the wrong number of streams (one on a far link is
/// 2.5 times slower; four on a near one cost logins), and input held for ever would hang the listing.
@Suite("listing timer")
struct ListingTimerTests {
    let input = Array("/workspace\0output\0".utf8)

    @Test("the input is handed over when the start marker arrives, after any noise; the next output times the round trip")
    func roundTrip() {
        var timer = ListingTimer(startedAt: 10, input: input, holdInput: true)
        #expect(timer.initialInput == nil)
        #expect(!timer.isSlow(at: 10.4) && timer.isSlow(at: 10.5), "a listing silent for 0.5 s is probably far")
        #expect(timer.printed(Array("Welcome to vast.ai\n".utf8), at: 11.0) == nil)
        #expect(timer.setup == 1.0)
        #expect(!timer.isSlow(at: 12), "it answered")
        #expect(timer.printed(Array("mediasync-listing-".utf8), at: 11.05) == nil, "half a marker is no marker")
        #expect(timer.printed(Array("begin\n".utf8), at: 11.1) == input)
        #expect(timer.roundTrip == nil)
        #expect(timer.printed(Array("1800000000\nfind\n".utf8), at: 11.2) == nil)
        #expect(abs((timer.roundTrip ?? 0) - 0.1) < 1e-9)
        #expect(timer.tick(at: 20) == nil, "handed over once")
    }

    @Test("a shell that prints no marker gets its input after 64 KiB or 5 s, and no round trip is made up")
    func noMarker() {
        var noisy = ListingTimer(startedAt: 0, input: input, holdInput: true)
        #expect(noisy.printed([UInt8](repeating: 0x41, count: 65_535), at: 1) == nil)
        #expect(noisy.printed([0x41], at: 1.1) == input)
        _ = noisy.printed(Array("late\n".utf8), at: 1.3)
        #expect(noisy.roundTrip == nil)
        var silent = ListingTimer(startedAt: 0, input: input, holdInput: true)
        #expect(silent.tick(at: 4.9) == nil)
        #expect(silent.tick(at: 5.0) == input)
        #expect(silent.roundTrip == nil)
    }

    @Test("not held (local, docker): the input goes with the start; the setup is still timed")
    func notHeld() {
        var timer = ListingTimer(startedAt: 3, input: input, holdInput: false)
        #expect(timer.initialInput == input)
        #expect(timer.printed(Array("mediasync-listing-begin\n".utf8), at: 3.2) == nil)
        #expect(timer.tick(at: 100) == nil)
        #expect(timer.setup.map { abs($0 - 0.2) < 1e-9 } == true)
        #expect(timer.roundTrip == nil)
    }
}
