/// Path helpers for config values: `~` expansion, joining, and the checks that keep a path inside its parent.
public enum ConfigPath {
    /// `~` and `~/x` become the home directory; other paths are returned unchanged.
    public static func expandTilde(_ path: String, home: String) -> String {
        if path == "~" { return home }
        if path.hasPrefix("~/") { return join(home, String(path.dropFirst(2))) }
        return path
    }

    /// Joins with exactly one `/` between parts; empty parts are skipped.
    public static func join(_ parts: String...) -> String {
        var result = ""
        for part in parts where !part.isEmpty {
            if result.isEmpty {
                result = part
            } else {
                result = trimmingTrailingSlashes(result) + "/" + String(part.drop(while: { $0 == "/" }))
            }
        }
        return result
    }

    /// `/srv/media/` becomes `/srv/media`; `/` stays `/`.
    public static func trimmingTrailingSlashes(_ path: String) -> String {
        var path = Substring(path)
        while path.count > 1, path.hasSuffix("/") { path = path.dropLast() }
        return String(path)
    }

    /// Why `path` cannot be a folder below another one, or nil when it can: it must be relative,
    /// non-empty, and have no `..`, `.` or empty component (so it can never land outside its parent).
    public static func problemAsRelativePath(_ path: String) -> String? {
        if path.isEmpty { return "is empty" }
        if path.hasPrefix("/") { return "`\(path)` is an absolute path" }
        if path.contains(where: \.isNewline) { return "has a line break in it" }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        if parts.contains("..") { return "`\(path)` has a `..` component, which would escape" }
        if parts.contains(".") { return "`\(path)` has a `.` component" }
        if parts.contains("") { return "`\(path)` has an empty component (`//`)" }
        return nil
    }
}

/// Parses durations written as `90s`, `5m`, `24h`, `1d`, combinations like `1h30m`, or bare seconds (`300`).
public enum DurationSyntax {
    /// The hint shown when a duration cannot be read.
    public static let hint = "write a number and a unit: 90s, 5m, 24h, 1d, or combined like 1h30m (a bare number means seconds)"

    public static func parse(_ text: String) -> Duration? {
        let text = ConfigText.trimmed(text)
        guard !text.isEmpty else { return nil }
        if text.allSatisfy(ConfigText.isDigit) {
            return Int(text).map { .seconds($0) }
        }
        var total: Int64 = 0
        var number = ""
        for character in text {
            if ConfigText.isDigit(character) {
                number.append(character)
                continue
            }
            let unit: Int64
            switch character {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86400
            default: return nil
            }
            guard let value = Int64(number) else { return nil }
            let (product, overflow1) = value.multipliedReportingOverflow(by: unit)
            let (sum, overflow2) = total.addingReportingOverflow(product)
            guard !overflow1, !overflow2 else { return nil }
            total = sum
            number = ""
        }
        guard number.isEmpty else { return nil }  // `5m30`: a number without a unit after a unit
        return .seconds(total)
    }

    /// The shortest way to write `duration` in this syntax: `1h30m`, `90s` stays `1m30s`, zero is `0s`.
    public static func format(_ duration: Duration) -> String {
        var seconds = duration.components.seconds
        if seconds == 0 { return "0s" }
        var text = ""
        for (unit, size) in [("d", Int64(86400)), ("h", 3600), ("m", 60), ("s", 1)] where seconds >= size {
            text += "\(seconds / size)\(unit)"
            seconds %= size
        }
        return text
    }
}

/// Validates rsync `--bwlimit` values the way rsync reads them: a number (fractions allowed), then an
/// optional K/M/G/T/P suffix, optionally followed by `B` (powers of 1000) or `iB` (powers of 1024).
/// A bare number means KiB per second, as in rsync.
public enum BandwidthLimit {
    public static let hint = "write a rate like rsync's --bwlimit: 20M, 500K, 1.5M, or a bare number of KiB per second"

    public static func isValid(_ text: String) -> Bool {
        var rest = Substring(text)
        let digits = rest.prefix(while: { ConfigText.isDigit($0) || $0 == "." })
        guard !digits.isEmpty, digits.filter({ $0 == "." }).count <= 1, digits.first != ".", digits.last != "." else {
            return false
        }
        rest = rest.dropFirst(digits.count)
        if rest.isEmpty { return true }
        guard let unit = rest.first, "kmgtpKMGTP".contains(unit) else { return false }
        rest = rest.dropFirst()
        return ["", "b", "B", "ib", "iB", "Ib", "IB"].contains(String(rest))
    }
}

/// Source names: letters, digits, `.`, `_`, `-` (they become file and folder names).
enum SourceName {
    static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".."
            && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)) }
    }
}

/// Suggests the closest known word for a misspelt key or value.
enum ConfigSpelling {
    static func closest(to word: String, in candidates: [String]) -> String? {
        let lower = word.lowercased()
        let scored = candidates.map { ($0, distance(lower, $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        // Plural/singular and transpositions cost 1-2; a word that shares little is not a suggestion.
        let allowed = max(2, min(lower.count, best.0.count) / 3)
        return best.1 <= allowed ? best.0 : nil
    }

    /// Levenshtein distance.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

/// Small text helpers for config values (namespaced so they cannot clash with other files' extensions).
enum ConfigText {
    static func isDigit(_ character: Character) -> Bool { ("0"..."9").contains(character) }

    static func trimmed(_ text: String) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        return String(text.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
