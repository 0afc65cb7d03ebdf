/// Reads the text tags of an EXIF block (a TIFF header and its IFDs), shared by JPEG (APP1 `Exif\0\0`),
/// WebP (`EXIF` chunk) and PNG (`eXIf` chunk). Only IFD0 and the Exif IFD are read; every offset is
/// checked against the block, so a hostile block costs at most one pass over its own bytes.
///
/// What generators write, and where it lands:
/// - A1111 / Forge / reForge / SD.Next: the infotext in UserComment (0x9286, Exif IFD) as `UNICODE\0` +
///   UTF-16 in the TIFF header's byte order (a BOM wins), or `ASCII\0\0\0` + text, or in IFD0 with no
///   prefix: `parameters`.
/// - ComfyUI SaveAnimatedWEBP: Model (0x0110) = `prompt:` + JSON and Make (0x010F) = `workflow:` + JSON;
///   other save nodes write `Prompt: ` / `Workflow: ` into ImageDescription (0x010E) or Make: `prompt`
///   and `workflow`, the JSON after the prefix exactly as stored.
/// - Every other text tag read keeps its exiftool name (`Software`, `ImageDescription`, `Make`, ...).
enum EXIFReader {
    /// The texts found and the first problem met (nil for a sound block).
    struct Result: Sendable, Equatable {
        var texts: [MediaText] = []
        var problem: String?
    }

    /// Text tags of IFD0 (exiftool's names).
    static let ifd0Tags: [UInt16: String] = [
        0x010d: "DocumentName", 0x010e: "ImageDescription", 0x010f: "Make", 0x0110: "Model",
        0x0131: "Software", 0x0132: "DateTime", 0x013b: "Artist", 0x8298: "Copyright", 0x9286: "UserComment",
        0x9c9b: "XPTitle", 0x9c9c: "XPComment", 0x9c9d: "XPAuthor", 0x9c9e: "XPKeywords", 0x9c9f: "XPSubject",
    ]
    /// Text tags of the Exif IFD.
    static let exifTags: [UInt16: String] = [
        0x9286: "UserComment", 0x9003: "DateTimeOriginal", 0x9004: "CreateDate", 0xa420: "ImageUniqueID",
    ]
    /// Tags where ComfyUI-style `prompt:` / `workflow:` prefixes are looked for.
    static let prefixedTags: Set<UInt16> = [0x010d, 0x010e, 0x010f, 0x0110]

    /// Reads `block`: a TIFF header first, or `Exif\0\0` and then one (both are met in WebP and PNG).
    static func read(_ block: [UInt8]) -> Result {
        var tiff = block[...]
        if tiff.starts(with: exifHeader) { tiff = tiff.dropFirst(exifHeader.count) }
        var result = Result()
        guard tiff.count >= 8 else {
            result.problem = "EXIF block of \(block.count) bytes is too short for a TIFF header"
            return result
        }
        let base = tiff.startIndex
        let big: Bool
        switch (tiff[base], tiff[base + 1]) {
        case (0x4d, 0x4d): big = true
        case (0x49, 0x49): big = false
        default:
            result.problem = "EXIF block does not start with a TIFF header (II or MM)"
            return result
        }
        let data = TIFFBytes(bytes: tiff, big: big)
        guard data.u16(2) == 42 else {
            result.problem = "EXIF block's TIFF header lacks the number 42"
            return result
        }
        var exifIFD: Int?
        read(ifdAt: Int(data.u32(4)!), tags: ifd0Tags, name: "IFD0", data, into: &result) { tag, offset in
            if tag == 0x8769 { exifIFD = offset }
        }
        if let exifIFD, exifIFD != Int(data.u32(4)!) {
            read(ifdAt: exifIFD, tags: exifTags, name: "Exif IFD", data, into: &result) { _, _ in }
        }
        return result
    }

    static let exifHeader: [UInt8] = Array("Exif".utf8) + [0, 0]

    private static func read(ifdAt start: Int, tags: [UInt16: String], name: String, _ data: TIFFBytes,
                             into result: inout Result, pointer: (UInt16, Int) -> Void) {
        guard let count = data.u16(start) else {
            return note("\(name) at offset \(start) lies outside the EXIF block", &result)
        }
        guard start + 2 + Int(count) * 12 <= data.count else {
            return note("\(name) at offset \(start) claims \(count) entries, more than the EXIF block holds", &result)
        }
        for index in 0..<Int(count) {
            let entry = start + 2 + index * 12
            let tag = data.u16(entry)!, type = data.u16(entry + 2)!, n = Int(data.u32(entry + 4)!)
            if tag == 0x8769 { pointer(tag, Int(data.u32(entry + 8)!)) }
            guard let tagName = tags[tag], [1, 2, 7].contains(type) else { continue }
            // BYTE, ASCII and UNDEFINED are one byte a value: inline up to 4, else at an offset.
            let at = n <= 4 ? entry + 8 : Int(data.u32(entry + 8)!)
            guard at >= 0, n >= 0, at <= data.count, n <= data.count - at else {
                note("\(name) tag \(tagName) points past the end of the EXIF block", &result)
                continue
            }
            let raw = data.slice(at, n)
            let value: String
            if tag == 0x9286 {
                value = userComment(raw, bigEndian: data.big)
            } else if tag >= 0x9c9b && tag <= 0x9c9f {
                value = MediaTextDecoding.utf16(raw, bigEndian: false)  // Windows XP tags: always UTF-16LE
            } else {
                value = MediaTextDecoding.utf8(raw)
            }
            result.texts.append(mapped(tag: tag, name: tagName, value: value))
        }
    }

    /// UserComment: an 8-byte character code, then the text; without a known code, the bytes as UTF-8.
    static func userComment(_ raw: ArraySlice<UInt8>, bigEndian: Bool) -> String {
        let code = raw.prefix(8)
        if code.elementsEqual(Array("UNICODE".utf8) + [0]) {
            return MediaTextDecoding.utf16(raw.dropFirst(8), bigEndian: bigEndian)
        }
        if code.elementsEqual(Array("ASCII".utf8) + [0, 0, 0]) || code.elementsEqual([UInt8](repeating: 0, count: 8)) {
            return MediaTextDecoding.utf8(raw.dropFirst(8))
        }
        return MediaTextDecoding.utf8(raw)
    }

    /// The keyword a tag's value is known by: `parameters` for UserComment, `prompt` / `workflow` for a
    /// prefixed value, else the tag's name.
    static func mapped(tag: UInt16, name: String, value: String) -> MediaText {
        if tag == 0x9286 { return MediaText(keyword: "parameters", value: value) }
        if prefixedTags.contains(tag) {
            for keyword in ["prompt", "workflow"] {
                let utf8 = value.utf8
                guard utf8.count > keyword.utf8.count,
                      String(decoding: utf8.prefix(keyword.utf8.count), as: UTF8.self).lowercased() == keyword,
                      utf8.dropFirst(keyword.utf8.count).first == UInt8(ascii: ":") else { continue }
                var rest = utf8.dropFirst(keyword.utf8.count + 1)
                if rest.first == UInt8(ascii: " ") { rest = rest.dropFirst() }
                return MediaText(keyword: keyword, value: String(decoding: rest, as: UTF8.self))
            }
        }
        return MediaText(keyword: name, value: value)
    }

    private static func note(_ message: String, _ result: inout Result) {
        if result.problem == nil { result.problem = message }
    }
}

/// Bounds-checked reads of a TIFF block in its byte order; offsets count from the TIFF header.
private struct TIFFBytes {
    let bytes: ArraySlice<UInt8>
    let big: Bool
    var count: Int { bytes.count }

    func u16(_ at: Int) -> UInt16? {
        guard at >= 0, at + 2 <= count else { return nil }
        let a = UInt16(bytes[bytes.startIndex + at]), b = UInt16(bytes[bytes.startIndex + at + 1])
        return big ? a << 8 | b : b << 8 | a
    }

    func u32(_ at: Int) -> UInt32? {
        guard let hi = u16(big ? at : at + 2), let lo = u16(big ? at + 2 : at) else { return nil }
        return UInt32(hi) << 16 | UInt32(lo)
    }

    func slice(_ at: Int, _ n: Int) -> ArraySlice<UInt8> {
        bytes[(bytes.startIndex + at)..<(bytes.startIndex + at + n)]
    }
}
