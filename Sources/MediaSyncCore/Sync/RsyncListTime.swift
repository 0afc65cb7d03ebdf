/// Helpers for `rsync --list-only` fields: UTC date/time to epoch seconds, and `\#ooo` name escapes.
enum RsyncListTime {
    /// `2026/11/20` + `10:00:00` (UTC) → seconds since the epoch; nil when malformed.
    static func epochSeconds(date: ArraySlice<UInt8>, time: ArraySlice<UInt8>) -> Int64? {
        let d = date.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        let t = time.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        guard d.count == 3, t.count == 3, d[0].count == 4, d[1].count == 2, d[2].count == 2,
              t.allSatisfy({ $0.count == 2 }) else { return nil }
        guard let year = number(d[0]), let month = number(d[1]), let day = number(d[2]),
              let hour = number(t[0]), let minute = number(t[1]), let second = number(t[2]),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        return daysFromCivil(year: year, month: month, day: day) * 86_400 + hour * 3_600 + minute * 60 + second
    }

    private static func number(_ digits: ArraySlice<UInt8>) -> Int64? {
        var value: Int64 = 0
        for byte in digits {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            value = value * 10 + Int64(byte - 0x30)
        }
        return value
    }

    /// Howard Hinnant's days_from_civil: proleptic Gregorian date → days since 1970-01-01.
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Decodes rsync's `\#ooo` escapes (three octal digits); any other backslash is literal.
    /// nil when an escape's value exceeds a byte or is NUL.
    static func unescape(_ name: ArraySlice<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(name.count)
        var i = name.startIndex
        while i < name.endIndex {
            let byte = name[i]
            if byte == UInt8(ascii: "\\"), name.endIndex - i >= 5, name[i + 1] == UInt8(ascii: "#"),
               let value = octal(name[(i + 2)..<(i + 5)]) {
                guard value > 0 && value <= 255 else { return nil }
                out.append(UInt8(value))
                i += 5
            } else {
                out.append(byte)
                i += 1
            }
        }
        return out
    }

    private static func octal(_ digits: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for byte in digits {
            guard byte >= 0x30 && byte <= 0x37 else { return nil }
            value = value * 8 + Int(byte - 0x30)
        }
        return value
    }
}
