/// What the ingest is told about a synced file (the `metadata` object of docs/ingest-protocol.md): kind,
/// format, size and SHA-256 for every file; for a PNG also its pixel size and text chunks, with the
/// generation settings of Forge (`parameters`) and ComfyUI (`prompt`, `workflow`) surfaced.
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
    /// A read error, or the PNG's fault: one line naming what is wrong. The other fields hold what was read.
    public var error: String?

    public init(kind: MediaKind, format: String? = nil, size: Int64, sha256: String? = nil, png: PNGMetadata? = nil,
                error: String? = nil) {
        self.kind = kind
        self.format = format
        self.size = size
        self.sha256 = sha256
        self.png = png
        self.error = error
    }

    /// Writes the fields of the `metadata` object. Absent values are left out, never null.
    ///
    /// `{"kind":"image","format":"png","size":1312554,"sha256":"9f86…","width":832,"height":1216,
    ///   "parameters":"a cat…","texts":{"Software":"…"},"error":"…"}`
    public func writeFields(_ o: inout ObjectWriter) {
        o.field("kind", kind.rawValue)
        if let format { o.field("format", format) }
        o.field("size", size)
        if let sha256 { o.field("sha256", sha256) }
        if let png {
            if let width = png.width { o.field("width", width) }
            if let height = png.height { o.field("height", height) }
            for keyword in Self.surfacedKeywords {
                if let value = png.text(keyword) { o.field(keyword, value) }
            }
            // One key per keyword (a JSON object must not repeat keys): the first chunk of a keyword wins.
            var seen = Set(Self.surfacedKeywords)
            let others = png.texts.filter { seen.insert($0.keyword).inserted }
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

/// Builds a `MediaMetadata` while a file is read once, in chunks of any size: hashes every byte, sniffs
/// the format from the first bytes and feeds a PNG to `PNGMetadataParser` until it has what it needs.
public struct MediaMetadataReader: Sendable {
    private let byName: MediaKind
    private let namedPNG: Bool
    private var head: [UInt8] = []
    private var format: MediaFormat?
    private var sniffed = false
    private var hasher = SHA256()
    private var parser: PNGMetadataParser?
    private var size: Int64 = 0

    /// `path` (exact bytes) gives the kind when the magic bytes are not recognised.
    public init(path: [UInt8], limits: PNGMetadataParser.Limits = .init()) {
        byName = MediaKind(path: path)
        namedPNG = path.split(separator: UInt8(ascii: "/")).last.map {
            String(decoding: $0, as: UTF8.self).lowercased().hasSuffix(".png")
        } ?? false
        parser = PNGMetadataParser(limits: limits)
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { update($0) }
    }

    public mutating func update(_ chunk: UnsafeBufferPointer<UInt8>) {
        guard chunk.count > 0 else { return }
        size += Int64(chunk.count)
        hasher.update(chunk)
        if !sniffed {
            head.append(contentsOf: chunk.prefix(MediaFormat.headLength - head.count))
            if head.count >= MediaFormat.headLength { sniff() }
        }
        if parser?.isDone == false { parser?.feed(chunk) }
    }

    /// The metadata of everything fed. `readError` (the file could not be read to the end) is reported
    /// in `error`, and then no `sha256` is given: it would describe only part of the file.
    public mutating func finish(readError: String? = nil) -> MediaMetadata {
        if !sniffed { sniff() }
        let isPNG = format?.name == "png" || namedPNG
        let png = isPNG ? parser?.finish() : nil
        let digest = readError == nil ? hasher.finalize().hex : nil
        var error = readError ?? png?.error
        if namedPNG, format != nil, format?.name != "png", readError == nil {
            error = "named .png but the content is \(format!.name)"
        }
        return MediaMetadata(kind: format?.kind ?? byName, format: format?.name, size: size, sha256: digest,
                             png: png, error: error)
    }

    private mutating func sniff() {
        sniffed = true
        format = MediaFormat.sniff(head)
        if format?.name != "png" && !namedPNG { parser = nil }
        head = []
    }
}
