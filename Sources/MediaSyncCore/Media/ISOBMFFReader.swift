/// Reads an MP4 or MOV (ISO base media) as its boxes stream by. Descends into `moov`, `trak`, `mdia`,
/// `udta`, `meta` and `ilst`; reads only the small boxes it needs (`mvhd` for the duration, `tkhd` and
/// `hdlr` for the first video track's size, `keys` and the `ilst` items' `data`, QuickTime `©xxx` strings
/// in `udta`) and skips everything else, `mdat` and the sample tables above all. `moov` may come before or
/// after `mdat` (ffmpeg writes it last unless told `+faststart`).
///
/// Texts keep ffmpeg's metadata names (`comment`, `encoder`, `title`, ...; `keys` names as written); a
/// `comment` holding VideoHelperSuite's JSON object gives `prompt` and `workflow` (`VideoComment`).
///
/// Faults reported: a box smaller than its header or running past its parent, a file that ends inside a
/// box (truncated), no `moov` (the index; a recording that was never finished), no `mdat`.
struct ISOBMFFReader: StreamedReader {
    private enum Phase: Sendable {
        case header, largeSize(String, Int64), metaFlags(Int64), metaChildType(Int64, Int64)
        case body(String, Int64, Int64), skip(Int64), toEnd, done
    }

    /// Boxes walked into; an `ilst` item (any type inside `ilst`) is one too.
    private static let containers: Set<String> = ["moov", "trak", "mdia", "udta"]
    /// Largest structural box read whole (mvhd, tkhd, hdlr, keys).
    private static let structureLimit: Int64 = 1 << 20

    private var phase = Phase.header
    private var stack: [(type: String, end: Int64)] = []
    private var texts: MediaTextCollector
    private var keys: [String] = []
    private var duration: Double?
    private var size: (width: Int, height: Int)?
    private var trackSize: (width: Int, height: Int)?
    private var trackHandler = ""
    private var sawMoov = false
    private var sawData = false
    private var topStart: Int64 = 0
    private var topType = ""
    /// Where the outstanding request began.
    private var requestedAt: Int64 = 0
    private var fault: String?

    init(limits: PNGMetadataParser.Limits) { texts = MediaTextCollector(limits: limits) }

    mutating func next(at offset: Int64) -> StreamRequest {
        while let top = stack.last, offset >= top.end {
            stack.removeLast()
            if top.type == "trak" { endTrack() }
        }
        requestedAt = offset
        switch phase {
        case .header: return .bytes(8)
        case .largeSize: return .bytes(8)
        case .metaFlags: return .bytes(4)
        case .metaChildType: return .bytes(4)
        case let .body(_, _, count): return .bytes(Int(count))
        case let .skip(count):
            phase = .header
            return .skip(count)
        case .toEnd: return .skip(Int64.max)
        case .done: return .done
        }
    }

    mutating func take(_ bytes: [UInt8], at offset: Int64) {
        switch phase {
        case .header:
            let size = Int64(be32(bytes, 0)), type = fourCC(bytes[4..<8])
            if size == 1 { phase = .largeSize(type, offset); return }
            open(type, at: offset, size: size, header: 8)
        case let .largeSize(type, start):
            open(type, at: start, size: Int64(bitPattern: be64(bytes, 0)), header: 16)
        case let .metaFlags(end):
            // ISO's `meta` is a full box (4 bytes of version and flags); QuickTime's is a plain container,
            // whose first 4 bytes are then its first child's size.
            stack.append(("meta", end))
            let first = Int64(be32(bytes, 0))
            phase = first == 0 ? .header : .metaChildType(first, offset)
        case let .metaChildType(size, start):
            open(fourCC(bytes[0..<4]), at: start, size: size, header: 8)
        case let .body(type, start, _):
            phase = .header
            leaf(type, bytes, at: start)
        case .skip, .toEnd, .done:
            break
        }
    }

    private var parent: String { stack.last?.type ?? "" }

    /// Acts on a box header: checks its size against its parent, then walks in, reads or skips it.
    private mutating func open(_ type: String, at start: Int64, size declared: Int64, header: Int64) {
        let parentEnd = stack.last?.end
        var size = declared
        if size == 0 {
            // "To the end of the file" (or of the parent).
            guard let parentEnd else {
                if type == "mdat" { sawData = true }
                phase = .toEnd
                return
            }
            size = parentEnd - start
        }
        guard size >= header else {
            return fail("'\(type)' box at byte \(start) declares \(size) bytes, less than its header")
        }
        let end = start + size, body = size - header
        if let parentEnd, end > parentEnd {
            return fail("'\(type)' box at byte \(start) runs past the end of its parent '\(parent)'")
        }
        if stack.isEmpty {
            topStart = start
            topType = type
            if type == "moov" { sawMoov = true }
            if type == "mdat" || type == "moof" { sawData = true }
        }
        if Self.containers.contains(type) || parent == "ilst" || (type == "ilst" && parent == "meta") {
            if type == "trak" { trackSize = nil; trackHandler = "" }
            stack.append((type, end))
            phase = .header
        } else if type == "meta" && (parent == "udta" || parent == "moov") {
            phase = body >= 4 ? .metaFlags(end) : .skip(body)
        } else if ["mvhd", "tkhd", "hdlr", "keys"].contains(type) {
            guard body <= Self.structureLimit else {
                return fail("'\(type)' box at byte \(start) declares \(size) bytes, far more than such a box holds")
            }
            phase = .body(type, start, body)
        } else if (type == "data" && stack.count >= 2 && stack[stack.count - 2].type == "ilst")
                    || (parent == "udta" && type.unicodeScalars.first == "\u{A9}") {
            phase = texts.admits(body, place: "'\(type)' box at byte \(start)") ? .body(type, start, body) : .skip(body)
        } else {
            phase = .skip(body)
        }
    }

    private mutating func leaf(_ type: String, _ b: [UInt8], at start: Int64) {
        let place = "'\(type)' box at byte \(start)"
        switch type {
        case "mvhd":
            guard let (timescale, length) = ISOBMFFItems.timing(b) else { return fail("\(place) is too short") }
            if timescale > 0, let length { duration = Double(length) / Double(timescale) }
        case "tkhd":
            guard let dims = ISOBMFFItems.trackSize(b) else { return fail("\(place) is too short") }
            trackSize = dims
        case "hdlr":
            if b.count >= 12, parent == "mdia" { trackHandler = fourCC(b[8..<12]) }
        case "keys":
            keys = ISOBMFFItems.keys(b)
        case "data":
            let item = stack.last?.type ?? ""
            if let text = ISOBMFFItems.dataText(b) {
                texts.add(ISOBMFFItems.name(item: item, keys: keys), text, place: place)
            }
        default:
            // A QuickTime user-data string in `udta`: 2-byte length, 2-byte language, text.
            if let text = ISOBMFFItems.quickTimeString(b) {
                texts.add(ISOBMFFItems.name(item: type, keys: []), text, place: place)
            }
        }
    }

    private mutating func endTrack() {
        if size == nil, trackHandler == "vide", let trackSize, trackSize.width > 0, trackSize.height > 0 {
            size = trackSize
        }
    }

    mutating func finish(at offset: Int64, pending: StreamRequest?) -> MediaDetails {
        switch phase {
        case .done, .toEnd:
            break
        case .header where stack.isEmpty && pending == .bytes(8) && offset == requestedAt && offset > 0:
            break  // ended cleanly between two top-level boxes
        default:
            if offset == 0 {
                fail("empty file")
            } else if stack.isEmpty, pending == .bytes(8) {
                fail("truncated inside a box header at byte \(requestedAt) (the file ends at byte \(offset))")
            } else {
                fail("truncated inside the '\(topType)' box at byte \(topStart) (the file ends at byte \(offset))")
            }
        }
        if fault == nil, !sawMoov { fail("no 'moov' box: the index is missing (a recording that was never finished?)") }
        if fault == nil, !sawData { fail("no 'mdat' box: no media data") }
        for top in stack.reversed() where top.type == "trak" { endTrack() }
        return MediaDetails(width: size?.width, height: size?.height, duration: duration,
                            texts: VideoComment.expand(texts.texts), error: fault ?? texts.error)
    }

    private mutating func fail(_ message: String) {
        if fault == nil { fault = message }
        phase = .done
    }

    private func fourCC(_ bytes: ArraySlice<UInt8>) -> String {
        String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }

    private func be32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }

    private func be64(_ b: [UInt8], _ at: Int) -> UInt64 { UInt64(be32(b, at)) << 32 | UInt64(be32(b, at + 4)) }
}
