import MediaSyncCore
import Testing

/// How the cycle shares its free slots among jobs that claim several streams, on manual time.
@Suite("stream claims")
struct StreamClaimsTests {
    @Test("four equal folders share eight slots two by two; one busy folder alone takes all it may")
    func equalShares() {
        #expect(StreamClaims.split(caps: [8, 8, 8, 8], bytes: [60, 60, 60, 60], free: 4) == [2, 2, 2, 2])
        #expect(StreamClaims.split(caps: [8], bytes: [240], free: 7) == [8])
        #expect(StreamClaims.split(caps: [8], bytes: [240], free: 0) == [1], "its own slot, always")
    }

    @Test("unequal folders: each next stream to the most bytes per stream; caps hold, and spare slots stay free")
    func byBytes() {
        // 10/20/30/60 MB: per stream at the end 10, 10, 15, 20 MB.
        #expect(StreamClaims.split(caps: [8, 8, 8, 8], bytes: [10, 20, 30, 60], free: 4) == [1, 2, 2, 3])
        #expect(StreamClaims.split(caps: [2, 8], bytes: [100, 10], free: 6) == [2, 6])
        #expect(StreamClaims.split(caps: [2, 3], bytes: [100, 10], free: 6) == [2, 3])
    }

    @Test("a claim waits while others list, at most the hold limit; then every waiting claim is answered at once")
    func hold() {
        var claims = StreamClaims()
        claims.claim(job: 0, cap: 8, bytes: 60, at: 10)
        #expect(claims.settle(at: 10, othersListing: true, free: 6).isEmpty)
        claims.claim(job: 1, cap: 8, bytes: 60, at: 10.2)
        #expect(claims.settle(at: 10.2, othersListing: true, free: 6).isEmpty)
        // The last listing ended: both answered, the slots shared.
        let answers = claims.settle(at: 10.3, othersListing: false, free: 6)
        #expect(answers.map(\.job) == [0, 1] && answers.map(\.count) == [4, 4])
        #expect(claims.pending.isEmpty && claims.holdEnds == nil)

        // A listing that takes long: the claim goes ahead at the limit with what is free.
        claims.claim(job: 2, cap: 8, bytes: 60, at: 20)
        #expect(claims.holdEnds == 20 + StreamClaims.holdLimit)
        #expect(claims.settle(at: 20 + StreamClaims.holdLimit - 0.01, othersListing: true, free: 3).isEmpty)
        #expect(claims.settle(at: 20 + StreamClaims.holdLimit, othersListing: true, free: 3).map(\.count) == [4])
    }

    @Test("nobody else listing: answered at once; a job that ended meanwhile is dropped")
    func immediateAndDropped() {
        var claims = StreamClaims()
        claims.claim(job: 3, cap: 4, bytes: 1, at: 0)
        #expect(claims.settle(at: 0, othersListing: false, free: 9).map(\.count) == [4])
        claims.claim(job: 4, cap: 4, bytes: 1, at: 1)
        claims.drop(job: 4)
        #expect(claims.settle(at: 5, othersListing: false, free: 9).isEmpty)
    }
}
