/// ComfyUI VideoHelperSuite (Video Combine) writes the generation settings into the video's `comment`
/// (ffmpeg metadata) as one JSON object: `{"prompt": ..., "workflow": ..., ...}`, where a member is either
/// the graph itself or a string holding its JSON text (both are met). This lifts the members out so a video
/// gives `prompt` and `workflow` as JSON text, exactly as a PNG does.
enum VideoComment {
    /// Replaces a `comment` that is a JSON object with a `prompt` or `workflow` member by its members
    /// (`prompt`, `workflow`, and the others under their own names). Every other text is kept as it is.
    static func expand(_ texts: [MediaText]) -> [MediaText] {
        guard texts.contains(where: { $0.keyword == "comment" }) else { return texts }
        var out: [MediaText] = []
        for text in texts {
            guard text.keyword == "comment", let members = JSONMembers.topLevel(Array(text.value.utf8)),
                  members.contains(where: { $0.key == "prompt" || $0.key == "workflow" }) else {
                out.append(text)
                continue
            }
            for member in members { out.append(MediaText(keyword: member.key, value: member.value)) }
        }
        return out
    }
}

/// The members of a JSON object, each value as its own JSON text (a string member: its content). Reads
/// the text once, left to right, with no recursion: nesting depth costs nothing.
enum JSONMembers {
    struct Member: Equatable {
        var key: String
        var value: String
    }

    /// nil when `bytes` is not one JSON object (only its shape is checked: strings, nesting, commas).
    static func topLevel(_ bytes: [UInt8]) -> [Member]? {
        var scanner = Scanner(bytes: bytes)
        scanner.space()
        guard scanner.eat(UInt8(ascii: "{")) else { return nil }
        var members: [Member] = []
        scanner.space()
        if scanner.eat(UInt8(ascii: "}")) { return scanner.atEnd ? members : nil }
        while true {
            scanner.space()
            guard let keyRange = scanner.string(), let key = unescape(bytes[keyRange]) else { return nil }
            scanner.space()
            guard scanner.eat(UInt8(ascii: ":")) else { return nil }
            scanner.space()
            let start = scanner.at
            guard let valueRange = scanner.value() else { return nil }
            let value: String
            if bytes[start] == UInt8(ascii: "\"") {
                guard let text = unescape(bytes[valueRange]) else { return nil }
                value = text
            } else {
                var end = valueRange.upperBound
                while end > valueRange.lowerBound, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[end - 1]) { end -= 1 }
                value = String(decoding: bytes[valueRange.lowerBound..<end], as: UTF8.self)
            }
            members.append(Member(key: key, value: value))
            scanner.space()
            if scanner.eat(UInt8(ascii: ",")) { continue }
            guard scanner.eat(UInt8(ascii: "}")) else { return nil }
            return scanner.atEnd ? members : nil
        }
    }

    /// The content of a JSON string (between its quotes), escapes resolved; nil for a bad escape.
    static func unescape(_ s: ArraySlice<UInt8>) -> String? {
        guard s.contains(UInt8(ascii: "\\")) else { return String(decoding: s, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var units: [UInt16] = []
        var i = s.startIndex
        func flushUnits() {
            guard !units.isEmpty else { return }
            out.append(contentsOf: Array(String(decoding: units, as: UTF16.self).utf8))
            units = []
        }
        while i < s.endIndex {
            let c = s[i]
            guard c == UInt8(ascii: "\\") else { flushUnits(); out.append(c); i += 1; continue }
            guard i + 1 < s.endIndex else { return nil }
            let e = s[i + 1]
            i += 2
            if e == UInt8(ascii: "u") {
                guard i + 4 <= s.endIndex, let unit = UInt16(String(decoding: s[i..<(i + 4)], as: UTF8.self), radix: 16)
                else { return nil }
                units.append(unit)
                i += 4
                continue
            }
            flushUnits()
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "t"): out.append(9)
            default: return nil
            }
        }
        flushUnits()
        return String(decoding: out, as: UTF8.self)
    }

    private struct Scanner {
        let bytes: [UInt8]
        var at = 0
        var atEnd: Bool { var copy = self; copy.space(); return copy.at == bytes.count }

        mutating func space() {
            while at < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[at]) { at += 1 }
        }

        mutating func eat(_ c: UInt8) -> Bool {
            guard at < bytes.count, bytes[at] == c else { return false }
            at += 1
            return true
        }

        /// A string at `at`: the range of its content (without quotes).
        mutating func string() -> Range<Int>? {
            guard eat(UInt8(ascii: "\"")) else { return nil }
            let start = at
            while at < bytes.count {
                switch bytes[at] {
                case UInt8(ascii: "\""): at += 1; return start..<(at - 1)
                case UInt8(ascii: "\\"): at += 2
                default: at += 1
                }
            }
            return nil
        }

        /// Any value at `at`: a string's content range, else the value's whole range. Brackets are only
        /// counted; strings inside are skipped whole.
        mutating func value() -> Range<Int>? {
            guard at < bytes.count else { return nil }
            if bytes[at] == UInt8(ascii: "\"") { return string() }
            let start = at
            var depth = 0
            while at < bytes.count {
                let c = bytes[at]
                switch c {
                case UInt8(ascii: "\""):
                    guard string() != nil else { return nil }
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if depth == 0 { return start < at ? start..<at : nil }
                    depth -= 1
                    if depth == 0 { at += 1; return start..<at }
                case UInt8(ascii: ","):
                    if depth == 0 { return start < at ? start..<at : nil }
                default:
                    break
                }
                at += 1
            }
            return depth == 0 && start < at ? start..<at : nil
        }
    }
}
