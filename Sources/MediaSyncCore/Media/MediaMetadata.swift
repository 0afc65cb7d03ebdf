/// What the ingest is told about a synced file (the `metadata` object of docs/ingest-protocol.md): kind,
/// format, size and SHA-256 for every file; for PNG, JPEG, WebP, MP4/MOV and WebM/Matroska also its pixel
/// size (and a video's duration) and its texts, with the generation settings of Forge / A1111
/// (`parameters`) and ComfyUI (`prompt`, `workflow`) surfaced.
public struct MediaMetadata: Sendable, Equatable {
    /// Text keywords lifted out of `texts` into fields of their own in the JSON object.
    public static let surfacedKeywords = ["parameters", "prompt", "workflow"]

    public var kind: MediaKind
    /// From the magic bytes (`MediaFormat.name`), nil when not recognised.
    public var format: String?
    public var size: Int64
    /// Lower-case hex; nil when the file could not be read to the end.
    public var sha256: String?
    /// Present when the file is a PNG (by magic bytes or by its `.png` name).
    public var png: PNGMetadata?
    /// Present for JPEG, WebP, MP4/MOV and WebM/Matroska (by magic bytes).
    public var details: MediaDetails?
    /// A read error, or the file's fault: one line naming what is wrong. The other fields hold what was read.
    public var error: String?

    public init(kind: MediaKind, format: String? = nil, size: Int64, sha256: String? = nil, png: PNGMetadata? = nil,
                details: MediaDetails? = nil, error: String? = nil) {
        self.kind = kind
        self.format = format
        self.size = size
        self.sha256 = sha256
        self.png = png
        self.details = details
        self.error = error
    }

    /// What the file's own reader found, whichever format: the PNG's through `PNGMetadata.details`.
    public var found: MediaDetails? { png?.details ?? details }

    /// Writes the fields of the `metadata` object. Absent values are left out, never null.
    ///
    /// `{"kind":"image","format":"png","size":1312554,"sha256":"9f86…","width":832,"height":1216,
    ///   "parameters":"a cat…","texts":{"Software":"…"},"error":"…"}`; a video also has `"duration":4.125`.
    public func writeFields(_ o: inout ObjectWriter) {
        o.field("kind", kind.rawValue)
        if let format { o.field("format", format) }
        o.field("size", size)
        if let sha256 { o.field("sha256", sha256) }
        if let found {
            if let width = found.width { o.field("width", width) }
            if let height = found.height { o.field("height", height) }
            if let duration = found.duration { o.field("duration", duration, decimals: 3) }
            for keyword in Self.surfacedKeywords {
                if let value = found.text(keyword) { o.field(keyword, value) }
            }
            // One key per keyword (a JSON object must not repeat keys): the first text of a keyword wins.
            var seen = Set(Self.surfacedKeywords)
            let others = found.texts.filter { seen.insert($0.keyword).inserted }
            if !others.isEmpty {
                o.object("texts") { t in
                    for entry in others { t.field(entry.keyword, entry.value) }
                }
            }
        }
        if let error { o.field("error", error) }
    }

    /// The object alone, as JSON bytes.
    public func json() -> [UInt8] {
        var w = JSONWriter()
        w.object { writeFields(&$0) }
        return w.bytes
    }
}

