import MediaSyncCore
import Testing

/// A remote login shell that prints (a banner in ~/.bashrc) must be named as such, never parsed as the
/// listing: the list script prints a start marker, and what comes before it is the shell's.
@Suite("listing: a noisy remote shell is named, not parsed")
struct SyncListingNoiseTests {
    let listing = Array("1795168800\nfind\n1795168700.5 3 a.png\u{0}1795168701 4 sub/b c.png\u{0}".utf8)

    @Test("the script's first line is the marker the parser looks for")
    func scriptStartsWithTheMarker() {
        #expect(RemoteListScript.text.hasPrefix("echo \(RemoteListingParser.startMarker)\n"))
    }

    @Test("with the marker and nothing before it, the listing reads as before")
    func clean() throws {
        let marked = try RemoteListingParser.parseScriptOutput(Array("mediasync-listing-begin\n".utf8) + listing)
        #expect(marked == (try RemoteListingParser.parseScriptOutput(listing)))
        #expect(marked.now == 1_795_168_800 && marked.files.map(\.displayPath) == ["a.png", "sub/b c.png"])
    }

    @Test("a banner before the marker is thrown as noise quoting its first line, whatever it looks like")
    func banner() {
        for (noise, first) in [
            ("Welcome to your GPU box!\n", "Welcome to your GPU box!"),
            ("\n\n  motd: 2 GPUs free\r\nsecond line\n", "  motd: 2 GPUs free"),
            // A banner printed without its newline runs into the marker.
            ("Welcome", "Welcome"),
            // Noise that looks like a clock line would otherwise be read as one.
            ("1795168800\nfind\n", "1795168800"),
            ("\n", ""),
        ] {
            #expect(throws: RemoteShellNoise(noise: Array(noise.utf8)[...])) {
                try RemoteListingParser.parseScriptOutput(Array((noise + "mediasync-listing-begin\n").utf8) + listing)
            }
            #expect(RemoteShellNoise(noise: Array(noise.utf8)[...]).firstLine == first)
        }
    }

    @Test("the noise line is shown printable and short; the message gives the fix in one line")
    func message() {
        let noise = RemoteShellNoise(noise: Array(("\u{1b}[1mGPU\u{1b}[0m " + String(repeating: "x", count: 300) + "\n").utf8)[...])
        #expect(noise.firstLine.hasPrefix("\\x1b[1mGPU\\x1b[0m xxx"))
        #expect(noise.firstLine.utf8.count <= 130)
        let line = NoisyShell.line(target: "ssh msnoisy@127.0.0.1 port 2222", firstLine: "Welcome to your GPU box!")
        #expect(line == "the remote shell (ssh msnoisy@127.0.0.1 port 2222) printed \"Welcome to your GPU box!\" "
            + "before mediasync's command ran: a startup file of the login user on the box (usually ~/.bashrc) writes "
            + "output even for non-interactive sessions, which breaks rsync and the listing; make it silent for them, "
            + "e.g. put `[ -z \"$PS1\" ] && return` as the first line of that ~/.bashrc")
    }

    @Test("noise is found in the output of a listing that failed too; clean or unmarked output has none")
    func noiseInAFailedListing() {
        #expect(RemoteListingParser.shellNoise(in: Array("Welcome!\nmediasync-listing-begin\n".utf8))?.firstLine == "Welcome!")
        #expect(RemoteListingParser.shellNoise(in: Array("mediasync-listing-begin\n".utf8)) == nil)
        #expect(RemoteListingParser.shellNoise(in: listing) == nil)
        #expect(RemoteListingParser.shellNoise(in: []) == nil)
    }

    @Test("errors after the marker count it as line 1")
    func lineNumbers() {
        #expect(throws: RemoteListingError(line: 2, reason: "expected the source's clock as `date +%s`",
                                           bytes: Array("soon".utf8)[...])) {
            try RemoteListingParser.parseScriptOutput(Array("mediasync-listing-begin\nsoon\nfind\n".utf8))
        }
    }
}
