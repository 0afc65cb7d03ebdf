import MediaSyncCore
import Testing

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite struct SyncListingParserTests {
    @Test func findRecordsKeepSpacesAndFloorFractions() throws {
        let output = bytes("1795168900\n1795168800.9999999990 3000000 sub/a b.png\0-0.5000000000 1 old\0")
        let listing = try RemoteListingParser.parseFindOutput(output)
        #expect(listing.now == 1_795_168_900)
        #expect(listing.files == [
            RemoteFile(path: bytes("sub/a b.png"), size: 3_000_000, mtime: 1_795_168_800),
            RemoteFile(path: bytes("old"), size: 1, mtime: -1),
        ])
    }

    @Test func rsyncSizesWithAnyThousandsSeparator() throws {
        let text = """
            drwxr-xr-x          4,096 2026/11/20 10:00:00 .
            -rw-r--r--      3,000,000 2026/11/20 10:00:00 sub/a.png
            -rw-r--r--      3.000.000 2000/02/29 23:59:59 b.png
            -rwxr-xr-x        3000000 1969/12/31 00:00:00 c\\#012d.png
            lrwxrwxrwx              7 2026/11/20 10:00:00 link

            """
        let files = try RemoteListingParser.parseRsyncListOnly(bytes(text)[...])
        #expect(files == [
            RemoteFile(path: bytes("sub/a.png"), size: 3_000_000, mtime: 1_795_168_800),
            RemoteFile(path: bytes("b.png"), size: 3_000_000, mtime: 951_868_799),
            RemoteFile(path: bytes("c\nd.png"), size: 3_000_000, mtime: -86_400),
        ])
    }

    @Test func rsyncEscapesDecodeToRawBytesAndLoneBackslashesStay() throws {
        let line = bytes("-rw-r--r--  1 2026/11/20 10:00:00 back\\#134#012 \\#377\\x \\#9z.png\n")
        let files = try RemoteListingParser.parseRsyncListOnly(line[...])
        #expect(files.first?.path == bytes("back\\#012 ") + [0xff] + bytes("\\x \\#9z.png"))
    }

    @Test(arguments: [
        ("", 1, "missing the source's clock"),
        ("12x\nfind\n", 1, "clock"),
        ("100\n", 2, "missing the listing format"),
        ("100\nls\n", 2, "expected `find`, `rsync` or `absent`"),
        ("100\nfind\n1 2 a\0", 0, ""),
        ("100\nfind\n1 2 a\0" + "1 2 cut-short", 4, "does not end in NUL"),
        ("100\nfind\n1 2 a\0" + "1 x b\0", 4, "bad size"),
        ("100\nfind\n1.x 2 b\0", 3, "bad mtime"),
        ("100\nfind\n1 99999999999999999999 b\0", 3, "bad size"),
        ("100\nfind\n1 2\0", 3, "expected `mtime size path`"),
        ("100\nfind\n1 2 ../../etc/passwd\0", 3, "`..` component"),
        ("100\nfind\n1 2 /etc/passwd\0", 3, "absolute"),
        ("100\nfind\n1 2 a//b\0", 3, "empty"),
        ("100\nrsync\n-rw-r--r-- 1 2026/11/20 10:00:00 ok\ngarbage line\n", 4, "perms size date"),
        ("100\nrsync\n-rw-r--r-- 1 2026/13/20 10:00:00 a\n", 3, "bad date"),
        ("100\nrsync\n-rw-r--r-- 1,0x 2026/11/20 10:00:00 a\n", 3, "bad size"),
        ("100\nrsync\n-rw-r--r-- 1 2026/11/20 10:00:00 a\\#000\n", 3, "escape"),
        ("100\nrsync\n-rw-r--r-- 1 2026/11/20 10:00:00 ../x\n", 3, "`..` component"),
    ])
    func garbageThrowsNamingTheLine(output: String, line: Int, reason: String) {
        do {
            _ = try RemoteListingParser.parseScriptOutput(bytes(output))
            #expect(line == 0, "expected an error on line \(line)")
        } catch let error as RemoteListingError {
            #expect(error.line == line)
            #expect(error.description.contains(reason), "\(error)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func errorExcerptIsPrintableAndShort() {
        let garbage = bytes("100\nfind\n") + [0xff, 0x1b] + Array(repeating: UInt8(ascii: "z"), count: 500) + [0]
        #expect {
            try RemoteListingParser.parseScriptOutput(garbage)
        } throws: { error in
            let listingError = error as? RemoteListingError
            return listingError?.excerpt.hasPrefix("\\xff\\x1bzzz") == true && listingError!.excerpt.count < 140
        }
    }

    @Test func randomBytesNeverCrash() {
        // A deterministic generator (xorshift) so a failure can be replayed. Half the inputs are random bytes
        // after a header, half a valid listing with one byte changed: both outcomes must occur, or the
        // check on parsed listings below would never run.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
        let alphabet = bytes("0123456789 .,-/:\\#\n\0-rwxdl") + [0xff]
        let valid: [[UInt8]] = [
            bytes("1795168900\nfind\n1795168800.5 3000 sub/a b.png\0" + "1795168801.0 7 c.png\0"),
            bytes("1795168900\nrsync\n-rw-r--r--      3,000 2026/11/20 10:00:00 sub/a.png\n-rw-r--r-- 7 2026/11/20 10:00:01 c.png\n"),
        ]
        var parsed = 0, refused = 0
        for round in 0..<2_000 {
            var output: [UInt8]
            if round % 2 == 0 {
                output = bytes(next() & 1 == 0 ? "100\nfind\n" : "100\nrsync\n")
                for _ in 0..<Int(next() % 200) { output.append(alphabet[Int(next() % UInt64(alphabet.count))]) }
            } else {
                output = valid[Int(next() % 2)]
                output[Int(next() % UInt64(output.count))] = alphabet[Int(next() % UInt64(alphabet.count))]
            }
            do {
                let listing = try RemoteListingParser.parseScriptOutput(output)
                parsed += 1
                #expect(listing.files.allSatisfy { !$0.path.isEmpty && $0.path.first != UInt8(ascii: "/") },
                        "round \(round): \(listing.files)")
                #expect(listing.files.allSatisfy { !$0.path.split(separator: UInt8(ascii: "/")).contains([0x2E, 0x2E][...]) },
                        "round \(round): a `..` component got through")
            } catch is RemoteListingError {
                refused += 1
            } catch {
                Issue.record("round \(round): not a RemoteListingError: \(error)")
            }
        }
        #expect(parsed >= 100 && refused >= 100, "parsed \(parsed), refused \(refused) of 2000")
    }
}
