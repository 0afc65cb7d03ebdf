/// Writes one JSON object into a byte buffer, keys in the order given: the hot path for events.
///
/// ```swift
/// var w = JSONWriter()
/// w.object { o in
///     o.field("type", "file_synced")
///     o.field("size", 1234)
/// }
/// w.bytes  // {"type":"file_synced","size":1234}
/// ```
/// Hand-written instead of JSONEncoder because every synced file and every progress tick becomes
/// an event, and because the wire order (`v`, `seq`, `time`, `type` first) is part of the contract.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    public mutating func object(_ body: (inout ObjectWriter) -> Void) {
        var o = ObjectWriter(bytes: bytes)
        bytes = []
        o.open()
        body(&o)
        o.close()
        bytes = o.bytes
    }

    /// Writes `value` as a JSON string: valid UTF-8 is kept, invalid bytes become U+FFFD,
    /// control characters, quotes and backslashes are escaped.
    public static func appendString(_ value: some Collection<UInt8>, to out: inout [UInt8]) {
        out.append(0x22)
        var validated: [UInt8]? = nil
        // Fast path: check validity once; invalid input is re-decoded with replacement characters.
        if !Self.isValidUTF8(value) {
            validated = Array(String(decoding: value, as: UTF8.self).utf8)
        }
        func emit(_ bytes: some Collection<UInt8>) {
            for b in bytes {
                switch b {
                case 0x22: out.append(0x5C); out.append(0x22)
                case 0x5C: out.append(0x5C); out.append(0x5C)
                case 0x0A: out.append(0x5C); out.append(0x6E)
                case 0x0D: out.append(0x5C); out.append(0x72)
                case 0x09: out.append(0x5C); out.append(0x74)
                case 0..<0x20, 0x7F:
                    out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30])
                    out.append(hexDigit(b >> 4)); out.append(hexDigit(b & 0xF))
                default: out.append(b)
                }
            }
        }
        if let validated { emit(validated) } else { emit(value) }
        out.append(0x22)
    }

    @inline(__always) static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : 0x61 + v - 10 }

    /// True when the bytes are well-formed UTF-8.
    public static func isValidUTF8(_ bytes: some Collection<UInt8>) -> Bool {
        // ASCII is by far the common case for file names and messages.
        if bytes.allSatisfy({ $0 < 0x80 }) { return true }
        var it = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&it) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }
}

/// Writes the fields of one JSON object; made by `JSONWriter.object` or `ObjectWriter.object(_:_:)`.
public struct ObjectWriter: Sendable {
    fileprivate(set) var bytes: [UInt8]
    private var first = true

    fileprivate init(bytes: [UInt8]) { self.bytes = bytes }

    fileprivate mutating func open() { bytes.append(0x7B) }
    fileprivate mutating func close() { bytes.append(0x7D) }

    private mutating func key(_ name: String) {
        if !first { bytes.append(0x2C) }
        first = false
        JSONWriter.appendString(name.utf8, to: &bytes)
        bytes.append(0x3A)
    }

    public mutating func field(_ name: String, _ value: String) {
        key(name); JSONWriter.appendString(value.utf8, to: &bytes)
    }
    public mutating func field(_ name: String, bytes value: [UInt8]) {
        key(name); JSONWriter.appendString(value, to: &bytes)
    }
    public mutating func field(_ name: String, _ value: Int) {
        key(name); bytes.append(contentsOf: String(value).utf8)
    }
    public mutating func field(_ name: String, _ value: Int64) {
        key(name); bytes.append(contentsOf: String(value).utf8)
    }
    public mutating func field(_ name: String, _ value: Bool) {
        key(name); bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }
    /// Writes a number with at most `decimals` digits after the point; NaN and infinity become null.
    public mutating func field(_ name: String, _ value: Double, decimals: Int = 1) {
        key(name)
        guard value.isFinite else { bytes.append(contentsOf: "null".utf8); return }
        bytes.append(contentsOf: JSONWriter.formatDecimal(value, decimals: decimals).utf8)
    }
    public mutating func null(_ name: String) {
        key(name); bytes.append(contentsOf: "null".utf8)
    }
    /// Writes already-encoded JSON (e.g. a cached sub-object) as the value.
    public mutating func raw(_ name: String, _ json: [UInt8]) {
        key(name); bytes.append(contentsOf: json)
    }
    public mutating func object(_ name: String, _ body: (inout ObjectWriter) -> Void) {
        key(name)
        var o = ObjectWriter(bytes: bytes)
        bytes = []
        o.open(); body(&o); o.close()
        bytes = o.bytes
    }
    public mutating func array<S: Sequence>(_ name: String, _ items: S,
                                            _ body: (inout ObjectWriter, S.Element) -> Void) {
        key(name)
        bytes.append(0x5B)
        var firstItem = true
        for item in items {
            if !firstItem { bytes.append(0x2C) }
            firstItem = false
            var o = ObjectWriter(bytes: bytes)
            bytes = []
            o.open(); body(&o, item); o.close()
            bytes = o.bytes
        }
        bytes.append(0x5D)
    }
    public mutating func stringArray(_ name: String, _ items: [String]) {
        key(name)
        bytes.append(0x5B)
        for (i, item) in items.enumerated() {
            if i > 0 { bytes.append(0x2C) }
            JSONWriter.appendString(item.utf8, to: &bytes)
        }
        bytes.append(0x5D)
    }
}

extension JSONWriter {
    /// Formats without exponent notation, trimming trailing zeros: 12.50 -> "12.5", 3.0 -> "3". A finite value
    /// too large for Int64 (2^63 and up) is written in Swift's shortest form, e.g. `1e+20`, still a JSON number.
    public static func formatDecimal(_ value: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (value * scale).rounded()
        guard abs(scaled) < 9e15 else {
            let whole = value.rounded()
            if let n = Int64(exactly: whole) { return String(n) }
            return "\(whole)"
        }
        let n = Int64(scaled)
        let negative = n < 0
        let magnitude = negative ? -n : n
        let whole = magnitude / Int64(scale)
        var frac = magnitude % Int64(scale)
        var s = (negative ? "-" : "") + String(whole)
        guard decimals > 0, frac != 0 else { return s }
        var digits = decimals
        while frac % 10 == 0 { frac /= 10; digits -= 1 }
        let f = String(frac)
        s += "." + String(repeating: "0", count: digits - f.count) + f
        return s
    }
}
