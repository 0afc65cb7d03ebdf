/// A file format recognised by its first bytes (magic numbers), so a PNG named `.jpg`, or a file with no
/// extension, still gets the right kind.
public struct MediaFormat: Sendable, Equatable {
    /// Short lower-case name: `png`, `jpeg`, `gif`, `webp`, `bmp`, `tiff`, `avif`, `heic`, `jxl`, `mp4`,
    /// `mov`, `webm`, `matroska`, `avi`.
    public var name: String
    public var kind: MediaKind

    /// How many leading bytes `sniff` looks at.
    public static let headLength = 32

    /// The format the first bytes of a file show, or nil when none is recognised.
    public static func sniff(_ head: [UInt8]) -> MediaFormat? {
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            head.count >= offset + magic.count && Array(head[offset..<(offset + magic.count)]) == magic
        }
        func ascii(_ text: String, at offset: Int = 0) -> Bool { starts(Array(text.utf8), at: offset) }
        if starts(PNGWriter.signature) { return MediaFormat(name: "png", kind: .image) }
        if starts([0xff, 0xd8, 0xff]) { return MediaFormat(name: "jpeg", kind: .image) }
        if ascii("GIF87a") || ascii("GIF89a") { return MediaFormat(name: "gif", kind: .image) }
        if ascii("RIFF") && ascii("WEBP", at: 8) { return MediaFormat(name: "webp", kind: .image) }
        if ascii("RIFF") && ascii("AVI ", at: 8) { return MediaFormat(name: "avi", kind: .video) }
        if starts([0x49, 0x49, 0x2a, 0x00]) || starts([0x4d, 0x4d, 0x00, 0x2a]) {
            return MediaFormat(name: "tiff", kind: .image)
        }
        if starts([0xff, 0x0a]) || starts([0, 0, 0, 0x0c, 0x4a, 0x58, 0x4c, 0x20]) {
            return MediaFormat(name: "jxl", kind: .image)
        }
        if starts([0x1a, 0x45, 0xdf, 0xa3]) {
            // EBML: the DocType says which; WebM names itself within the first few dozen bytes.
            let isWebM = head.count >= 8 && (0...(head.count - 4)).contains { Array(head[$0..<($0 + 4)]) == Array("webm".utf8) }
            return MediaFormat(name: isWebM ? "webm" : "matroska", kind: .video)
        }
        if ascii("ftyp", at: 4), head.count >= 12 {
            // ISO base media: the major brand tells still images (AVIF, HEIC) from video.
            let brand = String(decoding: head[8..<12], as: UTF8.self)
            switch brand {
            case "avif", "avis": return MediaFormat(name: "avif", kind: .image)
            case "heic", "heix", "mif1", "msf1", "heim", "heis": return MediaFormat(name: "heic", kind: .image)
            case "qt  ": return MediaFormat(name: "mov", kind: .video)
            default: return MediaFormat(name: "mp4", kind: .video)
            }
        }
        if ["moov", "mdat", "wide", "free", "skip"].contains(where: { ascii($0, at: 4) }) {
            // An old QuickTime movie, without the ftyp box later files start with.
            return MediaFormat(name: "mov", kind: .video)
        }
        if ascii("BM"), head.count >= 14, head[6...9].allSatisfy({ $0 == 0 }) {
            // "BM" alone is too weak (text files start with it); BMP's reserved header bytes are zero.
            return MediaFormat(name: "bmp", kind: .image)
        }
        return nil
    }
}
