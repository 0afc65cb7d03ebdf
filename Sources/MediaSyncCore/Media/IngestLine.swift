/// The lines mediasync writes to the ingest child (docs/ingest-protocol.md), built from the event
/// stream's own types so both stay one contract.
public enum IngestLine {
    /// The protocol version this build speaks.
    public static let protocolVersion = 1
    /// Capabilities offered in `hello`.
    public static let capabilities = ["metadata", "verify", "batch-ack"]

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

    /// An event as the ingest gets it: the event line with `id` after `v`, `library_path` added to a
    /// `file_purged` (the ingest keys media by it), and `metadata` last when given.
    public static func event(_ event: Event, id: Int64, libraryPath: [UInt8]? = nil,
                             metadata: MediaMetadata? = nil) -> [UInt8] {
        line { o in
            o.field("v", Event.schemaVersion)
            o.field("id", id)
            o.field("seq", event.seq)
            o.field("time", Timestamp.rfc3339(milliseconds: event.timeMs))
            o.field("type", event.body.type)
            event.body.writeFields(&o)
            if let libraryPath { o.pathField("library_path", libraryPath) }
            if let metadata { o.object("metadata") { metadata.writeFields(&$0) } }
        }
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
