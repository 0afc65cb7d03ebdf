/// RFC 3339 timestamps in UTC with milliseconds (`2026-11-26T11:39:37.123Z`), as events carry them.
public enum Timestamp {
    /// Formats milliseconds since the Unix epoch.
    public static func rfc3339(milliseconds ms: Int64) -> String {
        let days = floorDiv(ms, 86_400_000)
        // Not `ms - days * 86_400_000`: near Int64.min that product is below Int64.min.
        let msOfDay = floorMod(ms, 86_400_000)
        let (y, m, d) = civil(fromDays: days)
        let h = msOfDay / 3_600_000
        let min = (msOfDay / 60_000) % 60
        let s = (msOfDay / 1000) % 60
        let milli = msOfDay % 1000
        guard (0...9999).contains(y) else {
            return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(h, 2)):\(pad(min, 2)):\(pad(s, 2)).\(pad(milli, 3))Z"
        }
        // Every event carries one: written digit by digit (the interpolation of seven padded strings was a few
        // percent of a purge's CPU, one `file_purged` per file).
        return String(unsafeUninitializedCapacity: 24) { buffer in
            var at = 0
            func put(_ value: Int64, _ width: Int) {
                var v = value
                for index in stride(from: at + width - 1, through: at, by: -1) {
                    buffer[index] = UInt8(truncatingIfNeeded: 0x30 + v % 10)
                    v /= 10
                }
                at += width
            }
            func put(_ byte: UInt8) { buffer[at] = byte; at += 1 }
            put(y, 4); put(0x2D); put(m, 2); put(0x2D); put(d, 2); put(0x54)
            put(h, 2); put(0x3A); put(min, 2); put(0x3A); put(s, 2); put(0x2E); put(milli, 3); put(0x5A)
            return at
        }
    }

    /// Reads what `rfc3339(milliseconds:)` writes (`2026-11-26T11:39:37.123Z`, a year of four or more digits)
    /// back into milliseconds since the Unix epoch; nil for any other text.
    public static func milliseconds(rfc3339 text: String) -> Int64? {
        let bytes = Array(text.utf8)
        // The fixed tail after the year: -MM-DDTHH:MM:SS.mmmZ
        let tail = 20
        guard bytes.count >= 4 + tail, bytes.last == UInt8(ascii: "Z") else { return nil }
        let year = bytes[..<(bytes.count - tail)]
        let rest = Array(bytes[(bytes.count - tail)...])
        func number(_ digits: some Collection<UInt8>) -> Int64? {
            guard !digits.isEmpty, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            return Int64(String(decoding: digits, as: UTF8.self))
        }
        let separators: [(Int, Unicode.Scalar)] = [(0, "-"), (3, "-"), (6, "T"), (9, ":"), (12, ":"), (15, "."), (19, "Z")]
        guard separators.allSatisfy({ rest[$0.0] == UInt8(ascii: $0.1) }),
              let y = number(year), let m = number(rest[1...2]), let d = number(rest[4...5]), let h = number(rest[7...8]),
              let min = number(rest[10...11]), let sec = number(rest[13...14]), let milli = number(rest[16...18]),
              (1...12).contains(m), (1...31).contains(d), h < 24, min < 60, sec < 60
        else { return nil }
        let (days, overflow) = days(year: y, month: m, day: d).multipliedReportingOverflow(by: 86_400_000)
        guard !overflow else { return nil }
        return days + ((h * 60 + min) * 60 + sec) * 1000 + milli
    }

    /// Days since 1970-01-01 to a proleptic Gregorian (year, month, day); Howard Hinnant's algorithm.
    public static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    /// (year, month, day) to days since 1970-01-01; the inverse of `civil(fromDays:)`.
    public static func days(year y0: Int64, month m: Int64, day d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let mp = m > 2 ? m - 3 : m + 9
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Division rounding toward minus infinity, for any `a` (Int64.min included) and `b > 0`.
    @inline(__always) static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return a % b < 0 ? q - 1 : q
    }

    /// The remainder that goes with `floorDiv`: in `0..<b` for `b > 0`.
    @inline(__always) static func floorMod(_ a: Int64, _ b: Int64) -> Int64 {
        let r = a % b
        return r < 0 ? r + b : r
    }

    @inline(__always) static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
