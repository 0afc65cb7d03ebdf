/// Parses one complete line of rsync output (without its line end) into a record, byte by byte.
///
/// Progress records are the hot path (one per finished file plus one a second), so they are
/// read straight from the bytes: no String per field, no regex, no allocation.
enum RsyncLine {
    private static let space: UInt8 = 0x20

    static func parse(_ line: UnsafeBufferPointer<UInt8>, stream: RsyncOutputParser.Stream) -> RsyncRecord? {
        var first = 0
        while first < line.count && (line[first] == space || line[first] == 0x09) { first += 1 }
        if first == line.count { return nil }   // blank lines carry nothing
        if stream == .stdout {
            let c = line[first]
            if c >= 0x30 && c <= 0x39, let progress = parseProgress(line, from: first) {
                return .progress(progress)
            }
            if c == UInt8(ascii: "m"), let file = parseFileLine(line) {
                return .file(file)
            }
            if isChatter(line) { return nil }
        }
        return .message(RsyncMessages.classify(String(decoding: line, as: UTF8.self), stream: stream))
    }

    // MARK: progress2

    /// `  3,000,000   5%  148.94MB/s    0:00:00 (xfr#1, to-chk=19/22)`; separators `,` `.` or none;
    /// the part in parentheses is missing on records printed while a file is in flight.
    static func parseProgress(_ s: UnsafeBufferPointer<UInt8>, from start: Int) -> RsyncProgress? {
        let n = s.count
        var i = start
        guard let bytes = number(s, &i, separators: true), i < n, s[i] == space else { return nil }
        skipSpaces(s, &i)
        guard let percent = number(s, &i, separators: false), i < n, s[i] == UInt8(ascii: "%") else { return nil }
        i += 1
        skipSpaces(s, &i)
        // Rate: `%7.2f` in the child's locale, so the decimal point is `.` or `,`.
        guard let whole = number(s, &i, separators: false) else { return nil }
        var rate = Double(whole)
        if i < n && (s[i] == UInt8(ascii: ".") || s[i] == UInt8(ascii: ",")) {
            i += 1
            var scale = 0.1
            while i < n, s[i] >= 0x30 && s[i] <= 0x39 {
                rate += Double(s[i] &- 0x30) * scale
                scale *= 0.1
                i += 1
            }
        }
        guard i < n else { return nil }
        switch s[i] {
        case UInt8(ascii: "k"), UInt8(ascii: "K"): rate *= 1024; i += 1
        case UInt8(ascii: "M"): rate *= 1024 * 1024; i += 1
        case UInt8(ascii: "G"): rate *= 1024 * 1024 * 1024; i += 1
        case UInt8(ascii: "T"): rate *= 1024 * 1024 * 1024 * 1024; i += 1
        default: break
        }
        guard i + 3 <= n, s[i] == UInt8(ascii: "B"), s[i + 1] == UInt8(ascii: "/"),
              s[i + 2] == UInt8(ascii: "s") else { return nil }
        i += 3
        skipSpaces(s, &i)
        guard let seconds = time(s, &i) else { return nil }
        var progress = RsyncProgress(bytes: bytes, percent: Int(percent), bytesPerSecond: rate, seconds: seconds)
        skipSpaces(s, &i)
        if i < n && s[i] == UInt8(ascii: "(") {
            i += 1
            guard counters(s, &i, into: &progress) else { return nil }
            skipSpaces(s, &i)
        }
        return i == n ? progress : nil
    }

    /// `xfr#1, to-chk=19/22)` (also rsync 3.0's `xfer#1, to-check=19/22)`), after the `(`.
    private static func counters(_ s: UnsafeBufferPointer<UInt8>, _ i: inout Int, into p: inout RsyncProgress) -> Bool {
        let n = s.count
        guard expect(s, &i, "xfr#") || expect(s, &i, "xfer#"),
              let transfers = number(s, &i, separators: false),
              expect(s, &i, ", ") else { return false }
        p.transferNumber = Int(transfers)
        if expect(s, &i, "to-chk=") || expect(s, &i, "to-check=") {
            p.totalsGrowing = false
        } else if expect(s, &i, "ir-chk=") || expect(s, &i, "ir-check=") {
            p.totalsGrowing = true
        } else {
            return false
        }
        guard let remaining = number(s, &i, separators: false), i < n, s[i] == UInt8(ascii: "/") else { return false }
        i += 1
        guard let total = number(s, &i, separators: false), i < n, s[i] == UInt8(ascii: ")") else { return false }
        i += 1
        p.checkRemaining = Int(remaining)
        p.checkTotal = Int(total)
        return true
    }

    /// `h:mm:ss` in seconds, or -1 for rsync's `??:??:??` (no estimate yet).
    private static func time(_ s: UnsafeBufferPointer<UInt8>, _ i: inout Int) -> Int? {
        if expect(s, &i, "??:??:??") { return -1 }
        guard let h = number(s, &i, separators: false), expect(s, &i, ":"),
              let m = number(s, &i, separators: false), expect(s, &i, ":"),
              let sec = number(s, &i, separators: false) else { return nil }
        return Int(h * 3600 + m * 60 + sec)
    }

    /// Decimal digits, optionally with `,` or `.` between digit groups; nil if none or too many.
    @inline(__always)
    private static func number(_ s: UnsafeBufferPointer<UInt8>, _ i: inout Int, separators: Bool) -> Int64? {
        let n = s.count
        var value: Int64 = 0
        var digits = 0
        while i < n {
            let c = s[i]
            if c >= 0x30 && c <= 0x39 {
                value = value &* 10 &+ Int64(c &- 0x30)
                digits += 1
            } else if separators && (c == UInt8(ascii: ",") || c == UInt8(ascii: ".")) && digits > 0
                        && i + 1 < n && s[i + 1] >= 0x30 && s[i + 1] <= 0x39 {
                // a thousands separator: skip it
            } else {
                break
            }
            i += 1
        }
        return digits > 0 && digits <= 18 ? value : nil
    }

    @inline(__always)
    private static func skipSpaces(_ s: UnsafeBufferPointer<UInt8>, _ i: inout Int) {
        while i < s.count && s[i] == space { i += 1 }
    }

    @inline(__always)
    private static func expect(_ s: UnsafeBufferPointer<UInt8>, _ i: inout Int, _ word: StaticString) -> Bool {
        let len = word.utf8CodeUnitCount
        guard i + len <= s.count else { return false }
        let w = word.utf8Start
        for k in 0..<len where s[i + k] != w[k] { return false }
        i += len
        return true
    }

    // MARK: --out-format lines

    private static let filePrefix: [UInt8] = Array("mediasync|".utf8)

    /// `mediasync|>f+++++++++|3000000|sub/a.png`, the line `RsyncOutputParser.outFormat` makes.
    static func parseFileLine(_ s: UnsafeBufferPointer<UInt8>) -> RsyncFileRecord? {
        let n = s.count
        guard n > filePrefix.count, s.starts(with: filePrefix) else { return nil }
        var i = filePrefix.count
        let itemizeStart = i
        while i < n && s[i] != UInt8(ascii: "|") { i += 1 }
        guard i < n else { return nil }
        let itemize = String(decoding: UnsafeBufferPointer(rebasing: s[itemizeStart..<i]), as: UTF8.self)
        i += 1
        guard let size = number(s, &i, separators: true), i < n, s[i] == UInt8(ascii: "|") else { return nil }
        i += 1
        guard i < n else { return nil }
        return RsyncFileRecord(itemize: itemize, name: decodeName(UnsafeBufferPointer(rebasing: s[i...])), size: size)
    }

    /// Undoes rsync's escaping: `\#ooo` (three octal digits) is one byte; any other backslash is itself.
    static func decodeName(_ s: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        let n = s.count
        var i = 0
        while i < n {
            let c = s[i]
            if c == UInt8(ascii: "\\"), i + 4 < n, s[i + 1] == UInt8(ascii: "#"),
               let value = octal(s[i + 2], s[i + 3], s[i + 4]) {
                out.append(value)
                i += 5
            } else {
                out.append(c)
                i += 1
            }
        }
        return out
    }

    private static func octal(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8? {
        func digit(_ x: UInt8) -> Int? { x >= 0x30 && x <= 0x37 ? Int(x - 0x30) : nil }
        guard let x = digit(a), let y = digit(b), let z = digit(c) else { return nil }
        let value = x * 64 + y * 8 + z
        return value <= 255 ? UInt8(value) : nil
    }

    // MARK: chatter

    private static let chatter: [[UInt8]] = [
        "sending incremental file list", "receiving incremental file list",
        "receiving file list", "building file list", "sending file list", "created directory ",
    ].map { Array($0.utf8) }

    /// rsync's stdout lines that say nothing a user needs (file list phases, a created destination).
    private static func isChatter(_ s: UnsafeBufferPointer<UInt8>) -> Bool {
        chatter.contains { s.starts(with: $0) }
    }
}
