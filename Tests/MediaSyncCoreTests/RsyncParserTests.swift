import Testing
@testable import MediaSyncCore

/// Line-level behaviour of RsyncOutputParser: formats, escapes, chunking, the line cap.
@Suite struct RsyncParserTests {
    private func records(_ text: String, _ stream: RsyncOutputParser.Stream = .stdout) -> [RsyncRecord] {
        parse(Array(text.utf8), stream)
    }

    @Test(arguments: [
        "     3,000,000   5%  148.94MB/s    0:00:00 (xfr#1, to-chk=19/22)\r",
        "     3.000.000   5%  148,94MB/s    0:00:00 (xfr#1, to-chk=19/22)\r",
        "       3000000   5%  148.94MB/s    0:00:00 (xfr#1, to-chk=19/22)\r",
    ])
    func thousandsSeparatorsCommaDotOrNone(_ line: String) throws {
        let p = try #require(records(line).progress.first)
        #expect(p.bytes == 3_000_000)
        #expect(p.percent == 5)
        #expect(abs(p.bytesPerSecond - 148.94 * 1024 * 1024) < 1)
        #expect(p.transferNumber == 1 && p.checkRemaining == 19 && p.checkTotal == 22)
        #expect(p.totalsGrowing == false && p.finishesFile)
    }

    @Test func unitsTimesAndGrowingTotals() throws {
        let text = """
                  1,024   0%    1.50kB/s    1:02:03  \r\
            123,456,789,012  42%    2.00GB/s    0:00:07 (xfr#12, ir-chk=1000/4321)\r\
                 10   1%    3.25TB/s   ??:??:??  \r\
                  7   1%  100.00B/s  123:00:01\n
            """
        let p = records(text).progress
        try #require(p.count == 4, "\(p)")
        #expect(p[0].bytesPerSecond == 1.5 * 1024 && p[0].seconds == 3723 && p[0].transferNumber == nil)
        #expect(p[1].bytes == 123_456_789_012 && p[1].percent == 42)
        #expect(p[1].bytesPerSecond == 2 * 1024 * 1024 * 1024 && p[1].seconds == 7)
        #expect(p[1].totalsGrowing && p[1].checkRemaining == 1000 && p[1].checkTotal == 4321)
        #expect(p[2].bytesPerSecond == 3.25 * 1024 * 1024 * 1024 * 1024 && p[2].seconds == -1)
        #expect(p[3].bytesPerSecond == 100 && p[3].seconds == 123 * 3600 + 1)
    }

    @Test func rsync30sOlderWordingStillParses() throws {
        let p = try #require(records("     1,000 100%    0.95kB/s    0:00:01 (xfer#3, to-check=2/9)\n").progress.first)
        #expect(p.transferNumber == 3 && p.checkRemaining == 2 && p.checkTotal == 9)
    }

    @Test func escapesDecodeToExactBytesAndOtherBackslashesStay() throws {
        let line = ##"mediasync|>f+++++++++|1,234|a\#012b\c\#0x\#400\#377 \#134#012.png"## + "\n"
        let file = try #require(records(line).files.first)
        #expect(file.size == 1234)
        #expect(file.itemize == ">f+++++++++")
        // \#400 is not a byte (over 255) and \#0x is not three octal digits: both stay as printed.
        #expect(file.name == Array("a\nb\\c\\#0x\\#400".utf8) + [0xFF] + Array(" \\#012.png".utf8))
    }

    @Test func fileLinesKeepEverythingAfterTheThirdBar() throws {
        let file = try #require(records("mediasync|cd+++++++++|4096| lead|and|bars/\n").files.first)
        #expect(file.name == Array(" lead|and|bars/".utf8))
        #expect(!file.isFile && file.itemize.hasPrefix("cd"))
        let skipped = try #require(records("mediasync|.f          |5|same.png\n").files.first)
        #expect(skipped.isFile && !skipped.transferred && skipped.itemize == ".f          ")
    }

    @Test func chatterAndBlankLinesAreNeverFiles() {
        let text = "sending incremental file list\n\nreceiving incremental file list\r\n"
            + "receiving file list ... done\ncreated directory /lib/x\n   \n"
        #expect(records(text).isEmpty)
        // A line that looks almost like ours is reported, not taken for a file.
        let odd = records("mediasync|>f+++++++++|notasize|x.png\n")
        #expect(odd.files.isEmpty && odd.messages.count == 1 && odd.messages[0].severity == .info)
    }

    @Test func theLastLineWithoutLineEndComesOutOfFinish() {
        var parser = RsyncOutputParser(stream: .stderr)
        #expect(parser.feed(Array("rsync error: timeout in data send/receive (code 30) at io.c(1)".utf8)).isEmpty)
        let last = parser.finish()
        #expect(last.messages.first?.exitCode == 30)
        #expect(parser.finish().isEmpty)
    }

    @Test(arguments: [1, 7, 1000, 70_000, 300_000])
    func overlongLinesAreDroppedWithAMessageAndNeverBuffered(_ chunk: Int) throws {
        let long = [UInt8](repeating: UInt8(ascii: "x"), count: 200_000)
        let bytes = long + Array("\n     1,000 100%    1.00kB/s    0:00:00 (xfr#1, to-chk=0/1)\n".utf8)
        var parser = RsyncOutputParser(stream: .stdout)
        var out: [RsyncRecord] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            out += parser.feed(bytes[offset..<end])
            #expect(parser.bufferedByteCount <= RsyncOutputParser.maxLineLength)
            offset = end
        }
        out += parser.finish()
        #expect(out.count == 2)
        let warning = try #require(out.messages.first)
        #expect(warning.severity == .warning && warning.text.contains("200000 bytes"))
        #expect(out.progress.first?.bytes == 1000)
    }

    @Test func randomBytesNeverCrashNeverOverfillAndIgnoreChunking() {
        var random = SeededRandom(seed: 0x5EED)
        let alphabet = Array("\r\n#\\0123456789 ,.%:/()=-kMGBs|mediasync>f+xr".utf8) + [0xFF, 0x00, 0xC3]
        for round in 0..<200 {
            // Every 40th round is one or two lines longer than the cap, to press on it.
            let long = round % 40 == 0
            let length = long ? 150_000 : Int.random(in: 0...2000, using: &random)
            var bytes = (0..<length).map { _ -> UInt8 in
                let b = alphabet.randomElement(using: &random)!
                return long && (b == 10 || b == 13) ? UInt8(ascii: "#") : b
            }
            if long && round % 80 != 0 { bytes[70_000] = 0x0D }
            for stream in [RsyncOutputParser.Stream.stdout, .stderr] {
                let whole = parse(bytes, stream)
                if long {
                    #expect(whole.messages.contains { $0.text.contains("longer than the 65536-byte limit") })
                }
                var parser = RsyncOutputParser(stream: stream)
                var pieces: [RsyncRecord] = []
                var offset = 0
                var mostBuffered = 0
                while offset < bytes.count {
                    let end = min(bytes.count, offset + Int.random(in: 1...9000, using: &random))
                    pieces += parser.feed(bytes[offset..<end])
                    mostBuffered = max(mostBuffered, parser.bufferedByteCount)
                    offset = end
                }
                pieces += parser.finish()
                #expect(mostBuffered <= RsyncOutputParser.maxLineLength, "round \(round)")
                #expect(pieces == whole, "round \(round)")
            }
        }
    }

    @Test func theRawBufferFormDeliversTheSameRecords() {
        let bytes = Array("mediasync|>f+++++++++|3|a.png\n     3 100%    0.01kB/s    0:00:00 (xfr#1, to-chk=0/1)\n".utf8)
        var parser = RsyncOutputParser(stream: .stdout)
        var seen: [RsyncRecord] = []
        bytes.withUnsafeBytes { parser.feed($0) { seen.append($0) } }
        parser.finish { seen.append($0) }
        #expect(seen == parse(bytes, .stdout))
        #expect(seen.count == 2)
    }
}
