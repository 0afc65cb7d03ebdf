/// A strict RFC 8259 parser for checking what our writers produce. Stricter than JSONSerialization, which
/// takes lone surrogate escapes, and than most parsers, which take repeated keys: it refuses anything
/// outside the grammar, bytes that are not well-formed UTF-8 (overlong forms, surrogates, past U+10FFFF),
/// raw control characters in strings, `\u` escapes that do not make a whole scalar, and a key that appears
/// twice in one object (RFC 8259 4: "names SHOULD be unique"; I-JSON makes it MUST).
enum JSONValue: Equatable {
    case object([(key: [UInt8], value: JSONValue)])
    case array([JSONValue])
    /// The string's content as UTF-8 bytes, escapes resolved.
    case string([UInt8])
    /// The number's text exactly as written.
    case number(String)
    case bool(Bool)
    case null

    static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case let (.object(x), .object(y)): x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case let (.array(x), .array(y)): x == y
        case let (.string(x), .string(y)): x == y
        case let (.number(x), .number(y)): x == y
        case let (.bool(x), .bool(y)): x == y
        case (.null, .null): true
        default: false
        }
    }

    subscript(key: String) -> JSONValue? {
        guard case let .object(fields) = self else { return nil }
        let k = Array(key.utf8)
        return fields.first { $0.key == k }?.value
    }

    var keys: [String] {
        guard case let .object(fields) = self else { return [] }
        return fields.map { String(decoding: $0.key, as: UTF8.self) }
    }

    var stringBytes: [UInt8]? { if case let .string(s) = self { s } else { nil } }
    var numberText: String? { if case let .number(n) = self { n } else { nil } }
}

struct StrictJSONError: Error, CustomStringConvertible {
    var offset: Int
    var reason: String
    var description: String { "byte \(offset): \(reason)" }
}

struct StrictJSON {
    static let maxDepth = 256

    /// Parses one JSON text that must make up all of `bytes` (surrounding whitespace allowed).
    static func parse(_ bytes: some Collection<UInt8>) throws(StrictJSONError) -> JSONValue {
        var p = StrictJSON(bytes: Array(bytes))
        p.skipSpace()
        let value = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == p.b.count else { throw p.fail("text after the value") }
        return value
    }

    /// Parses an event line: one object, then exactly one `\n` that ends the line.
    static func parseLine(_ line: [UInt8]) throws(StrictJSONError) -> JSONValue {
        guard line.last == 0x0A else { throw StrictJSONError(offset: line.count, reason: "no newline at the end") }
        guard let first = line.firstIndex(of: 0x0A), first == line.count - 1 else {
            throw StrictJSONError(offset: line.firstIndex(of: 0x0A) ?? 0, reason: "a newline inside the line")
        }
        guard line.first == UInt8(ascii: "{") else { throw StrictJSONError(offset: 0, reason: "not an object") }
        return try parse(line.dropLast())
    }

    private let b: [UInt8]
    private var i = 0

    private init(bytes: [UInt8]) { b = bytes }

    private func fail(_ reason: String) -> StrictJSONError { StrictJSONError(offset: i, reason: reason) }

    private mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 }
    }

    private mutating func literal(_ word: String) throws(StrictJSONError) {
        for c in word.utf8 {
            guard i < b.count, b[i] == c else { throw fail("expected \(word)") }
            i += 1
        }
    }

    private mutating func value(depth: Int) throws(StrictJSONError) -> JSONValue {
        guard depth < Self.maxDepth else { throw fail("nested too deep") }
        guard i < b.count else { throw fail("expected a value, found the end") }
        switch b[i] {
        case UInt8(ascii: "{"):
            i += 1
            var fields: [(key: [UInt8], value: JSONValue)] = []
            var seen = Set<[UInt8]>()
            skipSpace()
            if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return .object(fields) }
            while true {
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                let keyStart = i
                let key = try string()
                guard seen.insert(key).inserted else {
                    throw StrictJSONError(offset: keyStart, reason: "repeated key \"\(String(decoding: key, as: UTF8.self))\"")
                }
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                i += 1
                skipSpace()
                fields.append((key, try value(depth: depth + 1)))
                skipSpace()
                guard i < b.count else { throw fail("unterminated object") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; return .object(fields) }
                throw fail("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard i < b.count else { throw fail("unterminated array") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw fail("unexpected byte 0x\(String(b[i], radix: 16))")
        }
    }

    private mutating func digits() -> Int {
        let start = i
        while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
        return i - start
    }

    /// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    private mutating func number() throws(StrictJSONError) -> String {
        let start = i
        if b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.count, b[i] >= 0x30, b[i] <= 0x39 else { throw fail("a number needs a digit") }
        if b[i] == 0x30 {
            i += 1
            if i < b.count, b[i] >= 0x30, b[i] <= 0x39 { throw fail("leading zero") }
        } else {
            _ = digits()
        }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { throw fail("no digit after '.'") }
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { throw fail("no digit in the exponent") }
        }
        return String(decoding: b[start..<i], as: UTF8.self)
    }

    private mutating func hex4() throws(StrictJSONError) -> UInt32 {
        guard i + 4 <= b.count else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            default: throw fail("bad hex digit in \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    private mutating func string() throws(StrictJSONError) -> [UInt8] {
        i += 1  // the opening quote
        var out: [UInt8] = []
        while true {
            guard i < b.count else { throw fail("unterminated string") }
            let c = b[i]
            switch c {
            case UInt8(ascii: "\""):
                i += 1
                return out
            case UInt8(ascii: "\\"):
                i += 1
                guard i < b.count else { throw fail("unterminated escape") }
                let e = b[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if scalar >= 0xDC00, scalar <= 0xDFFF { throw fail("lone low surrogate escape") }
                    if scalar >= 0xD800, scalar <= 0xDBFF {
                        guard i + 2 <= b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else {
                            throw fail("high surrogate escape without its low half")
                        }
                        i += 2
                        let low = try hex4()
                        guard low >= 0xDC00, low <= 0xDFFF else { throw fail("high surrogate escape without its low half") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    out.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
                default: throw fail("bad escape \\\(Character(Unicode.Scalar(e)))")
                }
            case 0x00..<0x20: throw fail("raw control character 0x\(String(c, radix: 16)) in a string")
            case 0x00..<0x80:
                out.append(c)
                i += 1
            default:
                let n = try utf8Sequence()
                out.append(contentsOf: b[(i - n)..<i])
            }
        }
    }

    /// Consumes one well-formed multi-byte UTF-8 sequence (Unicode 15, table 3-7) and returns its length.
    private mutating func utf8Sequence() throws(StrictJSONError) -> Int {
        let c = b[i]
        let count: Int
        var low: UInt8 = 0x80, high: UInt8 = 0xBF
        switch c {
        case 0xC2...0xDF: count = 2
        case 0xE0: count = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: count = 3
        case 0xED: count = 3; high = 0x9F
        case 0xF0: count = 4; low = 0x90
        case 0xF1...0xF3: count = 4
        case 0xF4: count = 4; high = 0x8F
        default: throw fail("byte 0x\(String(c, radix: 16)) cannot start UTF-8")
        }
        guard i + count <= b.count else { throw fail("UTF-8 sequence cut short") }
        guard b[i + 1] >= low, b[i + 1] <= high else { throw fail("ill-formed UTF-8") }
        for k in 2..<max(2, count) where k < count {
            guard b[i + k] >= 0x80, b[i + k] <= 0xBF else { throw fail("ill-formed UTF-8") }
        }
        i += count
        return count
    }
}
