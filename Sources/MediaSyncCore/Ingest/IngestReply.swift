import Foundation

/// One line from the ingest child, read (docs/ingest-protocol.md "Errors and garbage"). Pure.
///
/// ```swift
/// switch IngestReply.parse(line) {
/// case .success(.ack(let ids)): ...
/// case .failure(let problem): restart(because: problem.description)
/// }
/// ```
public enum IngestReply: Equatable, Sendable {
    case ready(protocol: Int, capabilities: [String])
    /// One id, or several with `batch-ack`.
    case ack([Int64])
    case verified(id: Int64, committed: Bool)
    /// `{"type":"error","message":...}`: the child gives up and says why.
    case error(String)
    /// An object mediasync does not know (a newer ingest saying more): ignored with a warning.
    case unknown(String)

    /// Lines longer than this are a protocol error.
    public static let maxLineLength = 65_536

    /// Reads one line (without its newline).
    public static func parse(_ line: [UInt8]) -> Result<IngestReply, IngestProtocolError> {
        guard (try? JSONSerialization.jsonObject(with: Data(line))) is [String: Any] else {
            return .failure(IngestProtocolError("a line is not a JSON object: \(quote(line))"))
        }
        let fields: Fields
        do {
            fields = try JSONDecoder().decode(Fields.self, from: Data(line))
        } catch {
            return .failure(IngestProtocolError("a line has a field of the wrong type (\(describe(error))): \(quote(line))"))
        }
        if let ack = fields.ack { return .success(.ack(ack.ids)) }
        if let committed = fields.committed {
            guard let id = fields.id else {
                return .failure(IngestProtocolError("a verify answer has no numeric id: \(quote(line))"))
            }
            return .success(.verified(id: id, committed: committed))
        }
        switch fields.type {
        case "ready":
            guard let version = fields.protocolVersion else {
                return .failure(IngestProtocolError("`ready` has no protocol version: \(quote(line))"))
            }
            return .success(.ready(protocol: version, capabilities: fields.capabilities ?? []))
        case "error":
            return .success(.error(fields.message ?? "(no message)"))
        case let type?:
            return .success(.unknown("an object of type \(type)"))
        case nil:
            return .success(.unknown("an object without type, ack or committed: \(quote(line))"))
        }
    }

    /// The first 200 bytes of a line, for a log message.
    public static func quote(_ line: [UInt8]) -> String {
        let shown = String(decoding: line.prefix(200), as: UTF8.self)
        let escaped = shown.unicodeScalars.map { scalar -> String in
            switch scalar {
            case "\"": return "\\\""
            case "\\": return "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: return "\\u{\(String(scalar.value, radix: 16))}"
            default: return String(scalar)
            }
        }.joined()
        return "\"\(escaped)\(line.count > 200 ? "…" : "")\""
    }

    private static func describe(_ error: Error) -> String {
        guard let decoding = error as? DecodingError else { return "\(error)" }
        switch decoding {
        case let .typeMismatch(_, context), let .valueNotFound(_, context), let .dataCorrupted(context):
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            return key.isEmpty ? context.debugDescription : "`\(key)`: \(context.debugDescription)"
        case let .keyNotFound(key, _):
            return "`\(key.stringValue)` is missing"
        @unknown default:
            return "\(error)"
        }
    }

    private struct Fields: Decodable {
        var type: String?
        var protocolVersion: Int?
        var capabilities: [String]?
        var ack: AckIDs?
        var id: Int64?
        var committed: Bool?
        var message: String?

        enum CodingKeys: String, CodingKey {
            case type, capabilities, ack, id, committed, message
            case protocolVersion = "protocol"
        }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            type = try c.decodeIfPresent(String.self, forKey: .type)
            protocolVersion = try c.decodeIfPresent(Int.self, forKey: .protocolVersion)
            capabilities = try c.decodeIfPresent([String].self, forKey: .capabilities)
            ack = try c.decodeIfPresent(AckIDs.self, forKey: .ack)
            committed = try c.decodeIfPresent(Bool.self, forKey: .committed)
            // `id` matters only in a verify answer; elsewhere an odd one is not our business.
            id = committed == nil ? nil : try c.decodeIfPresent(Int64.self, forKey: .id)
            message = (try? c.decodeIfPresent(String.self, forKey: .message)) ?? nil
        }
    }

    private struct AckIDs: Decodable {
        var ids: [Int64]
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let one = try? c.decode(Int64.self) {
                ids = [one]
            } else {
                ids = try c.decode([Int64].self)
            }
        }
    }
}

/// The child broke the protocol: one line saying how (the child is then restarted).
public struct IngestProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
