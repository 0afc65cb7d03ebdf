import Foundation

/// Reads one JSON object of the wire field by field: the reading twin of `ObjectWriter`, for the lines mediasync
/// itself writes (events, the control socket's replies). Each accessor throws `WireError` naming the field.
///
/// ```swift
/// let r = try WireReader(line: bytes)
/// let cycle = try r.int64("cycle")
/// let path = try r.path("path")          // exact bytes: `path_b64` when present, else the string's UTF-8
/// ```
public struct WireReader {
    private let fields: [String: WireValue]

    /// Reads a line (with or without its `\n`) that holds one JSON object.
    public init(line: some Collection<UInt8>) throws(WireError) {
        var bytes = Array(line)
        if bytes.last == 0x0A { bytes.removeLast() }
        guard let value = try? JSONDecoder().decode(WireValue.self, from: Data(bytes)), case let .object(fields) = value else {
            throw WireError("the line is not one JSON object")
        }
        self.fields = fields
    }

    private init(fields: [String: WireValue]) { self.fields = fields }

    /// True when the object has `key`, whatever its value (null included).
    public func has(_ key: String) -> Bool { fields[key] != nil }

    /// True when `key` is missing or null.
    public func isNull(_ key: String) -> Bool {
        guard let value = fields[key] else { return true }
        if case .null = value { return true }
        return false
    }

    public func string(_ key: String) throws(WireError) -> String {
        guard case let .string(text) = try value(key) else { throw wrongType(key, "text") }
        return text
    }

    public func int64(_ key: String) throws(WireError) -> Int64 {
        guard case let .int(number) = try value(key) else { throw wrongType(key, "a whole number") }
        return number
    }

    public func int(_ key: String) throws(WireError) -> Int {
        guard let number = Int(exactly: try int64(key)) else { throw wrongType(key, "a whole number") }
        return number
    }

    public func double(_ key: String) throws(WireError) -> Double {
        switch try value(key) {
        case let .int(number): return Double(number)
        case let .double(number): return number
        default: throw wrongType(key, "a number")
        }
    }

    public func bool(_ key: String) throws(WireError) -> Bool {
        guard case let .bool(flag) = try value(key) else { throw wrongType(key, "true or false") }
        return flag
    }

    /// nil when the field is missing or null.
    public func optionalString(_ key: String) throws(WireError) -> String? { isNull(key) ? nil : try string(key) }
    /// nil when the field is missing or null.
    public func optionalInt(_ key: String) throws(WireError) -> Int? { isNull(key) ? nil : try int(key) }
    /// nil when the field is missing or null.
    public func optionalInt64(_ key: String) throws(WireError) -> Int64? { isNull(key) ? nil : try int64(key) }

    /// A name written with `ObjectWriter.pathField`: the exact bytes of `<key>_b64` when present, else the
    /// string's UTF-8 bytes.
    public func path(_ key: String) throws(WireError) -> [UInt8] {
        guard has(key + "_b64") else { return Array(try string(key).utf8) }
        guard let bytes = Data(base64Encoded: try string(key + "_b64")) else {
            throw WireError("`\(key)_b64` is not base64")
        }
        return Array(bytes)
    }

    /// `path(_:)`, or nil when the field is missing.
    public func optionalPath(_ key: String) throws(WireError) -> [UInt8]? { has(key) ? try path(key) : nil }

    /// An object inside this one.
    public func object(_ key: String) throws(WireError) -> WireReader {
        guard case let .object(inner) = try value(key) else { throw wrongType(key, "an object") }
        return WireReader(fields: inner)
    }

    /// `object(_:)`, or nil when the field is missing or null.
    public func optionalObject(_ key: String) throws(WireError) -> WireReader? { isNull(key) ? nil : try object(key) }

    /// A list of objects.
    public func objects(_ key: String) throws(WireError) -> [WireReader] {
        guard case let .array(items) = try value(key) else { throw wrongType(key, "a list") }
        var readers: [WireReader] = []
        for item in items {
            guard case let .object(inner) = item else { throw wrongType(key, "a list of objects") }
            readers.append(WireReader(fields: inner))
        }
        return readers
    }

    private func value(_ key: String) throws(WireError) -> WireValue {
        guard let value = fields[key] else { throw WireError("`\(key)` is missing") }
        return value
    }

    private func wrongType(_ key: String, _ expected: String) -> WireError {
        WireError("`\(key)` is not \(expected)")
    }
}

/// Why a line could not be read: the field at fault, or that the line is no JSON object.
public struct WireError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A JSON value, read whole.
private enum WireValue: Decodable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([WireValue])
    case object([String: WireValue])

    init(from decoder: any Decoder) throws {
        let single = try decoder.singleValueContainer()
        if single.decodeNil() { self = .null; return }
        if let flag = try? single.decode(Bool.self) { self = .bool(flag); return }
        if let number = try? single.decode(Int64.self) { self = .int(number); return }
        if let number = try? single.decode(Double.self) { self = .double(number); return }
        if let text = try? single.decode(String.self) { self = .string(text); return }
        if let items = try? single.decode([WireValue].self) { self = .array(items); return }
        self = .object(try single.decode([String: WireValue].self))
    }
}
