/// Reads a WebP's RIFF chunks as they stream by: width and height from VP8X (the canvas of an extended or
/// animated file), else from the VP8 key frame or the VP8L header; the `EXIF` chunk through `EXIFReader`
/// (A1111's UserComment, ComfyUI SaveAnimatedWEBP's Make/Model). Image data is skipped, only its first
/// bytes are looked at; an EXIF chunk is held within the text limits.
///
/// Faults reported: no RIFF/WEBP header, a chunk running past the RIFF size, a file shorter than its RIFF
/// size (truncated), a VP8 frame that is not a key frame or lacks its start code, a VP8L header with the
/// wrong signature or version, and no image chunk at all.
struct WebPReader: StreamedReader {
    private enum Phase: Sendable {
        case header, chunk, head(String, Int64), payload(String, Int64), rest(Int64), done
    }

    private var phase = Phase.header
    private var riffEnd: Int64 = 0
    private var chunkStart: Int64 = 0
    private var texts: MediaTextCollector
    private var canvas: (width: Int, height: Int)?
    private var frame: (width: Int, height: Int)?
    private var sawImage = false
    private var fault: String?

    init(limits: PNGMetadataParser.Limits) { texts = MediaTextCollector(limits: limits) }

    mutating func next(at offset: Int64) -> StreamRequest {
        switch phase {
        case .header: return .bytes(12)
        case .chunk:
            if riffEnd - offset >= 8 { return .bytes(8) }
            phase = .done  // the RIFF data is read; what follows it is not WebP's
            return .done
        case let .head(type, size): return .bytes(Int(min(size, type == "VP8 " ? 10 : 5)))
        case let .payload(_, size): return .bytes(Int(size))
        case let .rest(count):
            phase = .chunk
            return .skip(count)
        case .done: return .done
        }
    }

    mutating func take(_ bytes: [UInt8], at offset: Int64) {
        switch phase {
        case .header:
            guard bytes.starts(with: Array("RIFF".utf8)), bytes[8..<12].elementsEqual(Array("WEBP".utf8)) else {
                return fail("not a WebP: no RIFF/WEBP header")
            }
            let size = Int64(le32(bytes, 4))
            guard size >= 4 else { return fail("RIFF header declares \(size) bytes, too few for WebP") }
            riffEnd = 8 + size
            phase = .chunk
        case .chunk:
            chunkStart = offset
            let type = String(decoding: bytes[0..<4], as: UTF8.self)
            let size = Int64(le32(bytes, 4)), padded = size + (size & 1)
            guard offset + 8 + size <= riffEnd else {
                return fail("\(type) chunk at byte \(offset) declares \(size) bytes, past the RIFF size (\(riffEnd))")
            }
            chunk(type, size: size, padded: padded)
        case let .head(type, size):
            frameHeader(type, bytes)
            phase = .rest(size + (size & 1) - Int64(bytes.count))
        case let .payload(type, size):
            if type == "VP8X" {
                guard bytes.count >= 10 else { return fail("VP8X chunk at byte \(chunkStart) is \(bytes.count) bytes, not 10") }
                canvas = (Int(le24(bytes, 4)) + 1, Int(le24(bytes, 7)) + 1)
            } else if type == "EXIF" {
                let place = "EXIF chunk at byte \(chunkStart)"
                let exif = EXIFReader.read(bytes)
                texts.add(exif.texts, place: place)
                if let problem = exif.problem { texts.note("\(place): \(problem)") }
            }
            phase = .rest(size & 1)
        case .rest, .done:
            break
        }
    }

    private mutating func chunk(_ type: String, size: Int64, padded: Int64) {
        switch type {
        case "VP8 ", "VP8L":
            sawImage = true
            // Only the first image chunk gives the size (an extended file's VP8X canvas wins anyway).
            phase = frame == nil ? .head(type, size) : .rest(padded)
        case "ANMF":
            sawImage = true
            phase = .rest(padded)
        case "VP8X":
            phase = chunkStart == 12 && size <= 64 ? .payload(type, size) : .rest(padded)
            if chunkStart != 12 { fail("VP8X chunk at byte \(chunkStart) is not the first chunk") }
        case "EXIF":
            phase = texts.admits(size, place: "EXIF chunk at byte \(chunkStart)") ? .payload(type, size) : .rest(padded)
        default:
            phase = .rest(padded)
        }
    }

    private mutating func frameHeader(_ type: String, _ bytes: [UInt8]) {
        let place = "\(type == "VP8 " ? "VP8" : type) chunk at byte \(chunkStart)"
        if type == "VP8 " {
            guard bytes.count == 10 else { return fail("\(place) is too short for a frame header") }
            guard bytes[0] & 1 == 0 else { return fail("\(place) does not start with a key frame") }
            guard bytes[3] == 0x9d, bytes[4] == 0x01, bytes[5] == 0x2a else {
                return fail("\(place) lacks the VP8 start code")
            }
            frame = (Int(le16(bytes, 6) & 0x3fff), Int(le16(bytes, 8) & 0x3fff))
        } else {
            guard bytes.count == 5, bytes[0] == 0x2f else { return fail("\(place) lacks the VP8L signature") }
            let bits = le32(bytes, 1)
            guard bits >> 29 == 0 else { return fail("\(place) has VP8L version \(bits >> 29), not 0") }
            frame = (Int(bits & 0x3fff) + 1, Int((bits >> 14) & 0x3fff) + 1)
        }
        if let size = frame, size.width == 0 || size.height == 0 {
            frame = nil
            fail("\(place) declares \(size.width)x\(size.height) pixels")
        }
    }

    mutating func finish(at offset: Int64, pending: StreamRequest?) -> MediaDetails {
        if case .header = phase {
            fail(offset == 0 ? "empty file, not a WebP" : "not a WebP: only \(offset) bytes")
        } else if fault == nil, !isDone {
            fail("truncated: \(offset) of the \(riffEnd) bytes the RIFF header declares")
        }
        if fault == nil, !sawImage { fail("no image data (VP8, VP8L or ANMF chunk)") }
        let size = canvas ?? frame
        return MediaDetails(width: size?.width, height: size?.height, texts: texts.texts, error: fault ?? texts.error)
    }

    private var isDone: Bool { if case .done = phase { true } else { false } }

    private mutating func fail(_ message: String) {
        if fault == nil { fault = message }
        phase = .done
    }
}

extension StreamedReader {
    func le16(_ b: [UInt8], _ at: Int) -> UInt32 { UInt32(b[at]) | UInt32(b[at + 1]) << 8 }
    func le24(_ b: [UInt8], _ at: Int) -> UInt32 { le16(b, at) | UInt32(b[at + 2]) << 16 }
    func le32(_ b: [UInt8], _ at: Int) -> UInt32 { le24(b, at) | UInt32(b[at + 3]) << 24 }
}
