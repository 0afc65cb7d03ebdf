/// Builds a `MediaMetadata` while a file is read once, in chunks of any size: hashes every byte, sniffs
/// the format from the first bytes and feeds the format's reader until it has what it needs (PNG:
/// `PNGMetadataParser`; JPEG, WebP, MP4/MOV, WebM/Matroska: a `StreamedReader` each).
public struct MediaMetadataReader: Sendable {
    private let byName: MediaKind
    private let namedPNG: Bool
    private let limits: PNGMetadataParser.Limits
    private var head: [UInt8] = []
    /// The first few bytes, for the message about a file that is no known format.
    private var firstBytes: [UInt8] = []
    private var format: MediaFormat?
    private var sniffed = false
    private var hasher = SHA256()
    private var size: Int64 = 0
    // One of these reads the file, by its format; separate optionals so each is mutated in place.
    private var png: PNGMetadataParser?
    private var jpeg: StreamDriver<JPEGReader>?
    private var webp: StreamDriver<WebPReader>?
    private var isobmff: StreamDriver<ISOBMFFReader>?
    private var ebml: StreamDriver<EBMLReader>?

    /// `path` (exact bytes) gives the kind when the magic bytes are not recognised.
    public init(path: [UInt8], limits: PNGMetadataParser.Limits = .init()) {
        byName = MediaKind(path: path)
        namedPNG = path.split(separator: UInt8(ascii: "/")).last.map {
            String(decoding: $0, as: UTF8.self).lowercased().hasSuffix(".png")
        } ?? false
        self.limits = limits
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { update($0) }
    }

    public mutating func update(_ chunk: UnsafeBufferPointer<UInt8>) {
        guard chunk.count > 0 else { return }
        size += Int64(chunk.count)
        hasher.update(chunk)
        if sniffed { return feedReader(chunk) }
        let take = min(chunk.count, MediaFormat.headLength - head.count)
        head.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[0..<take]))
        guard head.count >= MediaFormat.headLength else { return }
        sniff()
        feedReader(UnsafeBufferPointer(rebasing: chunk[take...]))
    }

    /// The metadata of everything fed. `readError` (the file could not be read to the end) is reported
    /// in `error`, and then no `sha256` is given: it would describe only part of the file.
    public mutating func finish(readError: String? = nil) -> MediaMetadata {
        if !sniffed { sniff() }
        let pngResult = png?.finish()
        let details = jpeg?.finish() ?? webp?.finish() ?? isobmff?.finish() ?? ebml?.finish()
        let digest = readError == nil ? hasher.finalize().hex : nil
        var error = readError ?? pngResult?.error ?? details?.error
        if namedPNG, let format, format.name != "png", readError == nil {
            error = "named .png but the content is \(format.name)"
        }
        if format == nil, pngResult == nil, byName != .other, readError == nil {
            // Named as an image or video, but no decoder would take it.
            error = size == 0 ? "empty file" : "not an image or video format mediasync knows (first bytes: "
                + firstBytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ") + ")"
        }
        return MediaMetadata(kind: format?.kind ?? byName, format: format?.name, size: size, sha256: digest,
                             png: pngResult, details: details, error: error)
    }

    private mutating func feedReader(_ chunk: UnsafeBufferPointer<UInt8>) {
        guard chunk.count > 0 else { return }
        if png?.isDone == false { png?.feed(chunk) }
        if jpeg?.isDone == false { jpeg?.feed(chunk) }
        if webp?.isDone == false { webp?.feed(chunk) }
        if isobmff?.isDone == false { isobmff?.feed(chunk) }
        if ebml?.isDone == false { ebml?.feed(chunk) }
    }

    /// Picks the reader by the magic bytes (a `.png` name with unknown content still gets the PNG parser,
    /// which says why it is not one) and gives it the bytes held so far.
    private mutating func sniff() {
        sniffed = true
        firstBytes = Array(head.prefix(8))
        format = MediaFormat.sniff(head)
        switch format?.name {
        case "png": png = PNGMetadataParser(limits: limits)
        case "jpeg": jpeg = StreamDriver(JPEGReader(limits: limits))
        case "webp": webp = StreamDriver(WebPReader(limits: limits))
        case "mp4", "mov": isobmff = StreamDriver(ISOBMFFReader(limits: limits))
        case "webm", "matroska": ebml = StreamDriver(EBMLReader(limits: limits))
        case nil where namedPNG: png = PNGMetadataParser(limits: limits)
        default: break
        }
        let bytes = head
        head = []
        bytes.withUnsafeBufferPointer { feedReader($0) }
    }
}
