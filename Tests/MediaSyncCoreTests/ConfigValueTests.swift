import MediaSyncCore
import Testing

@Suite("Config: durations, sizes, paths")
struct ConfigValueTests {
    @Test(arguments: [
        ("90s", 90), ("5m", 300), ("24h", 86400), ("1d", 86400), ("1h30m", 5400), ("1d2h3m4s", 93784),
        ("300", 300), ("0", 0), ("0s", 0), (" 10m ", 600),
    ])
    func durationsParse(text: String, seconds: Int64) {
        #expect(DurationSyntax.parse(text) == .seconds(seconds))
    }

    @Test(arguments: ["", "m", "5x", "1.5h", "-1s", "5m30", "five", "5 m", "99999999999999999999d"])
    func badDurationsAreRefused(text: String) {
        #expect(DurationSyntax.parse(text) == nil)
    }

    @Test func durationsFormatBackToTheShortForm() {
        #expect(DurationSyntax.format(.seconds(5400)) == "1h30m")
        #expect(DurationSyntax.format(.seconds(90)) == "1m30s")
        #expect(DurationSyntax.format(.seconds(86400)) == "1d")
        #expect(DurationSyntax.format(.zero) == "0s")
    }

    @Test func bandwidthLimitsFollowRsync() {
        for good in ["20M", "500K", "800", "1.5M", "1G", "10MB", "10MiB", "0", "2kb"] {
            #expect(BandwidthLimit.isValid(good), "\(good)")
        }
        for bad in ["", "M", "20 M", "20X", "1.2.3M", ".5M", "20Mbit", "-5K", "20MBB"] {
            #expect(!BandwidthLimit.isValid(bad), "\(bad)")
        }
    }

    @Test func tildeExpandsOnlyAtTheStart() {
        #expect(ConfigPath.expandTilde("~", home: "/home/ada") == "/home/ada")
        #expect(ConfigPath.expandTilde("~/x/y", home: "/home/ada/") == "/home/ada/x/y")
        #expect(ConfigPath.expandTilde("~bob/x", home: "/home/ada") == "~bob/x")
        #expect(ConfigPath.expandTilde("/a/~/b", home: "/home/ada") == "/a/~/b")
    }
}
