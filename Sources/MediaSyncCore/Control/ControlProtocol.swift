import Foundation

/// The control socket's wire format (docs/protocol.md): one JSON object per line each way. Pure (the
/// supervisor's `ControlConnection` feeds it), so it is tested and fuzzed without a loop.
public enum ControlProtocol {
    /// Bumped when a change breaks clients; `hello` carries it.
    public static let version = 1
    /// Longest request line the supervisor reads; a longer one gets an error and the client is dropped.
    public static let maxRequestLine = 64 * 1024

    /// `{"ok":false,"error":"…"}` plus extra fields, as one line.
    public static func errorLine(_ message: String, _ extra: (inout ObjectWriter) -> Void = { _ in }) -> [UInt8] {
        line { o in
            o.field("ok", false)
            o.field("error", message)
            extra(&o)
        }
    }

    /// `{"ok":true, …}` as one line.
    public static func okLine(_ body: (inout ObjectWriter) -> Void = { _ in }) -> [UInt8] {
        line { o in
            o.field("ok", true)
            body(&o)
        }
    }

    /// Any object as one line ending in `\n`.
    public static func line(_ body: (inout ObjectWriter) -> Void) -> [UInt8] {
        var w = JSONWriter()
        w.object(body)
        var bytes = w.bytes
        bytes.append(0x0A)
        return bytes
    }
}

/// One request a client sends.
public enum ControlRequest: Equatable, Sendable {
    case attach(since: Int64?)
    case status
    /// nil sources: all of them. `wait`: a second reply comes when that cycle has finished.
    case trigger(sources: [String]?, wait: Bool)
    /// `{"cmd":"trigger","purge":true}`: a purge cycle of its own (of `sources`, nil: all) instead of a sync.
    case triggerPurge(sources: [String]?, wait: Bool)
    case pause
    case resume
    case reload
    /// The metrics in Prometheus' text format, as the `text` of the reply.
    case metrics

    /// Parses one request line (without its `\n`); the error is what the client is told.
    public static func parse(_ line: [UInt8]) -> Result<ControlRequest, ControlRequestError> {
        let trimmed = line.last == 0x0D ? Array(line.dropLast()) : line
        let fields: Fields
        do {
            fields = try JSONDecoder().decode(Fields.self, from: Data(trimmed))
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            guard let key = context.codingPath.first?.stringValue else {
                return .failure(ControlRequestError("the request is not a JSON object; send one object per line, e.g. {\"cmd\":\"status\"}"))
            }
            return .failure(ControlRequestError("\"\(key)\" has the wrong type: \(Fields.help(key))"))
        } catch {
            return .failure(ControlRequestError("the request is not a JSON object; send one object per line, e.g. {\"cmd\":\"status\"}"))
        }
        guard let cmd = fields.cmd else {
            return .failure(ControlRequestError("the request has no \"cmd\"; e.g. {\"cmd\":\"status\"}"))
        }
        switch cmd {
        case "attach":
            if let since = fields.since, since < 0 {
                return .failure(ControlRequestError("\"since\" must be >= 0 (the last seq you saw)"))
            }
            return .success(.attach(since: fields.since))
        case "status": return .success(.status)
        case "pause": return .success(.pause)
        case "resume": return .success(.resume)
        case "reload": return .success(.reload)
        case "metrics": return .success(.metrics)
        case "trigger":
            let sources = fields.sources.flatMap { $0.isEmpty ? nil : $0 }
            if fields.purge == true { return .success(.triggerPurge(sources: sources, wait: fields.wait ?? false)) }
            return .success(.trigger(sources: sources, wait: fields.wait ?? false))
        default:
            return .failure(ControlRequestError("unknown cmd \"\(cmd)\"; known: attach, status, trigger, pause, resume, reload, metrics"))
        }
    }

    private struct Fields: Decodable {
        var cmd: String?
        var since: Int64?
        var sources: [String]?
        var wait: Bool?
        var purge: Bool?

        static func help(_ key: String) -> String {
            switch key {
            case "cmd": "a string such as \"status\""
            case "since": "a whole number, the last seq you saw"
            case "sources": "a list of source names"
            case "wait", "purge": "true or false"
            default: "see docs/protocol.md"
            }
        }
    }
}

/// Why a request line was refused.
public struct ControlRequestError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Splits a byte stream into request lines, refusing a line longer than `limit` (the client is then
/// dropped: reading on would let one client make us hold any amount of memory).
public struct RequestLineDecoder: Sendable {
    public enum Output: Equatable, Sendable {
        case line([UInt8])
        case tooLong
    }

    public let limit: Int
    private var buffer: [UInt8] = []
    private var failed = false

    public init(limit: Int = ControlProtocol.maxRequestLine) { self.limit = limit }

    /// Feeds bytes; returns the complete lines (and `.tooLong` once, after which nothing more).
    public mutating func feed(_ bytes: some Collection<UInt8>) -> [Output] {
        guard !failed else { return [] }
        var out: [Output] = []
        for byte in bytes {
            if byte == 0x0A {
                out.append(.line(buffer))
                buffer.removeAll(keepingCapacity: true)
            } else {
                buffer.append(byte)
                if buffer.count > limit {
                    failed = true
                    buffer = []
                    out.append(.tooLong)
                    return out
                }
            }
        }
        return out
    }
}
