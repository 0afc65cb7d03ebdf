/// Terminal-safe text: names made printable, their width in columns, and cutting them to fit.
///
/// File names come from containers we do not control: a newline or an escape sequence in one must
/// not break the screen, and an emoji or CJK name takes two columns per character, not one.
public enum DisplayText {
    /// Replaces control characters (C0, DEL, C1) and bidi overrides with `?`.
    public static func sanitize(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            out.append(isUnsafe(scalar) ? "?" : scalar)
        }
        return String(out)
    }

    /// Columns the text takes on a terminal (after `sanitize`; escapes are not counted specially).
    public static func width(_ text: String) -> Int {
        text.reduce(0) { $0 + width(of: $1) }
    }

    /// Columns one character takes: 0 for combining marks alone, 2 for wide (CJK, emoji), else 1.
    public static func width(of character: Character) -> Int {
        let scalars = character.unicodeScalars
        guard let first = scalars.first else { return 0 }
        if scalars.allSatisfy(isZeroWidth) { return 0 }
        if isWide(first) || scalars.contains(where: { $0.value == 0xFE0F }) { return 2 }
        return 1
    }

    /// The text cut to at most `columns`, keeping its start and end with `…` in the middle
    /// (the end of a file name, its number and extension, is what tells files apart).
    public static func truncateMiddle(_ text: String, to columns: Int) -> String {
        guard width(text) > columns else { return text }
        guard columns > 1 else { return columns == 1 ? "…" : "" }
        let chars = Array(text)
        let budget = columns - 1
        var headBudget = (budget + 1) / 2
        var tailBudget = budget - headBudget
        var head = "", tail = ""
        var i = 0, j = chars.count - 1
        while i <= j {
            let w = width(of: chars[i])
            guard w <= headBudget else { break }
            head.append(chars[i]); headBudget -= w; i += 1
        }
        tailBudget += headBudget
        var tailChars: [Character] = []
        while j >= i {
            let w = width(of: chars[j])
            guard w <= tailBudget else { break }
            tailChars.append(chars[j]); tailBudget -= w; j -= 1
        }
        tail = String(tailChars.reversed())
        return head + "…" + tail
    }

    /// The text cut to at most `columns`, keeping its start, with `…` at the end when cut.
    public static func truncateEnd(_ text: String, to columns: Int) -> String {
        guard width(text) > columns else { return text }
        guard columns > 0 else { return "" }
        var out = "", used = 0
        for c in text {
            let w = width(of: c)
            if used + w > columns - 1 { break }
            out.append(c); used += w
        }
        return out + "…"
    }

    /// The text split into pieces of at most `columns` each (for long error messages).
    public static func wrap(_ text: String, to columns: Int) -> [String] {
        let columns = max(columns, 2)
        var lines: [String] = [], line = "", used = 0
        for c in text {
            let w = width(of: c)
            if used + w > columns { lines.append(line); line = ""; used = 0 }
            line.append(c); used += w
        }
        if !line.isEmpty || lines.isEmpty { lines.append(line) }
        return lines
    }

    static func isUnsafe(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0..<0x20, 0x7F...0x9F: return true
        case 0x202A...0x202E, 0x2066...0x2069: return true   // bidi overrides can reorder the line
        default: return false
        }
    }

    static func isZeroWidth(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return true
        default: return s.value == 0x200B || (0xFE00...0xFE0F).contains(s.value)
        }
    }

    static func isWide(_ s: Unicode.Scalar) -> Bool {
        if s.properties.isEmojiPresentation { return true }
        switch s.value {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
             0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
             0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x2FFFD, 0x30000...0x3FFFD:
            return true
        default:
            return false
        }
    }
}
