/// The lines mediasync writes to the ingest child (docs/ingest-protocol.md), built from the event
/// stream's own types so both stay one contract.
///
/// An event reaches the ingest in two steps: `outboxBody` renders it once, when it is stored in the
/// outbox (in the same transaction that records the file); `event(id:body:metadata:)` frames it with its
/// outbox id (and the metadata read later) each time it is sent.
public enum IngestLine {
    /// The ingest protocol's own version (docs/ingest-protocol.md), 1: the events the ingest gets did not change
    /// when the event stream went to v2 (only `progress` did, and the ingest never gets it).
    public static let schemaVersion = 1

    /// The protocol version this build speaks.
    public static let protocolVersion = 1
    /// Capabilities offered in `hello`.
    public static let capabilities = ["metadata", "verify", "batch-ack"]
    /// Event types the ingest is sent.
    public static let eventTypes: Set<String> = ["file_synced", "file_purged", "cycle_finished"]

    /// `{"type":"hello","protocol":1,"capabilities":[...],"mediasync":VERSION,"pid":PID}` + `\n`.
    public static func hello(version: String, pid: Int) -> [UInt8] {
        line { o in
            o.field("type", "hello")
            o.field("protocol", protocolVersion)
            o.stringArray("capabilities", capabilities)
            o.field("mediasync", version)
            o.field("pid", pid)
        }
    }

    /// The stored form of an event: `{"time":...,"type":...,<fields of docs/events.md>}` with `library_path`
    /// added when given (a `file_purged`: the ingest keys media by it). No newline.
    public static func outboxBody(_ body: EventBody, timeMs: Int64, libraryPath: [UInt8]? = nil) -> [UInt8] {
        var w = JSONWriter()
        w.object { o in
            o.field("time", Timestamp.rfc3339(milliseconds: timeMs))
            o.field("type", body.type)
            body.writeFields(&o)
            if let libraryPath { o.pathField("library_path", libraryPath) }
        }
        return w.bytes
    }

    /// `{"v":1,"id":ID,<body's fields>,"metadata":{...}}` + `\n`: a stored body framed for sending.
    /// `metadata` is the object's JSON (`MediaMetadata.json()`), left out when nil.
    public static func event(id: Int64, body: [UInt8], metadata: [UInt8]? = nil) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count + (metadata?.count ?? 0) + 40)
        out += Array(#"{"v":\#(IngestLine.schemaVersion),"id":\#(id)"#.utf8)
        // The body is our own writer's object: `{` fields `}`; an empty one adds nothing.
        let inner = body.count > 2 ? body[1..<(body.count - 1)] : []
        if !inner.isEmpty {
            out.append(UInt8(ascii: ","))
            out += inner
        }
        if let metadata {
            out += Array(#","metadata":"#.utf8)
            out += metadata
        }
        out += [UInt8(ascii: "}"), 0x0A]
        return out
    }

    /// An event as the ingest gets it, in one step (docs and tests; the supervisor goes through the outbox).
    public static func event(_ event: Event, id: Int64, libraryPath: [UInt8]? = nil,
                             metadata: MediaMetadata? = nil) -> [UInt8] {
        Self.event(id: id, body: outboxBody(event.body, timeMs: event.timeMs, libraryPath: libraryPath),
                   metadata: metadata?.json())
    }

    /// `{"type":"verify","id":N,"library_path":...,"size":N,"sha256":...?}` + `\n`.
    public static func verify(id: Int64, libraryPath: [UInt8], size: Int64, sha256: String?) -> [UInt8] {
        line { o in
            o.field("type", "verify")
            o.field("id", id)
            o.pathField("library_path", libraryPath)
            o.field("size", size)
            if let sha256 { o.field("sha256", sha256) }
        }
    }

    private static func line(_ body: (inout ObjectWriter) -> Void) -> [UInt8] {
        var w = JSONWriter()
        w.object(body)
        return w.bytes + [0x0A]
    }
}
