/// Reads a WebM or Matroska file (EBML) as its elements stream by. Walks into the EBML header, Segment,
/// Info (TimestampScale, Duration), Tracks (the first video track's PixelWidth and PixelHeight) and Tags
/// (global SimpleTags: TagName, TagString), and the Info's Title (ffmpeg's `title`); skips Clusters (the frames) by their size, or walks through
/// one of unknown size (a live recording) element by element. Only small elements and TagStrings within
/// the text limits are held.
///
/// Tag names are lower-cased (`COMMENT` → `comment`, as the MP4 reader names it); a `comment` holding
/// VideoHelperSuite's JSON object gives `prompt` and `workflow` (`VideoComment`).
///
/// Faults reported: no EBML header, a DocType other than `webm`/`matroska`, a bad element ID or size, an
/// element running past its parent, a file that ends inside an element (truncated), no Segment, Tracks or
/// Cluster.
struct EBMLReader: StreamedReader {
    private enum Phase: Sendable {
        case idStart, idMore(UInt8), sizeMore(UInt32, UInt8, Int), leaf(UInt32, Int), skip(Int64), toEnd, done
    }

    private struct Open: Sendable {
        var id: UInt32
        var start: Int64
        var end: Int64?
    }

    private var phase = Phase.idStart
    private var stack: [Open] = []
    private var texts: MediaTextCollector
    private var headerStart: Int64 = 0
    private var requestedAt: Int64 = 0
    private var current = Open(id: 0, start: 0, end: nil)
    private var seen: Set<UInt32> = []
    private var docType: String?
    private var scale: UInt64 = 1_000_000
    private var rawDuration: Double?
    private var size: (width: Int, height: Int)?
    private var track = (type: UInt64(0), width: 0, height: 0)
    private var tagTargeted = false
    private var tagTexts: [MediaText] = []
    private var simpleTags: [(name: String?, value: String?)] = []
    private var fault: String?

    init(limits: PNGMetadataParser.Limits) { texts = MediaTextCollector(limits: limits) }

    mutating func next(at offset: Int64) -> StreamRequest {
        while let top = stack.last, let end = top.end, offset >= end { close() }
        requestedAt = offset
        switch phase {
        case .idStart: return .bytes(1)
        case let .idMore(first): return .bytes(EBML.length(first))  // rest of the ID and the size's first byte
        case let .sizeMore(_, _, count): return .bytes(count)
        case let .leaf(_, count): return .bytes(count)
        case let .skip(count):
            phase = .idStart
            return .skip(count)
        case .toEnd: return .skip(Int64.max)
        case .done: return .done
        }
    }

    mutating func take(_ bytes: [UInt8], at offset: Int64) {
        switch phase {
        case .idStart:
            headerStart = offset
            guard EBML.length(bytes[0]) <= 4 else { return fail("bad element ID at byte \(offset)") }
            phase = .idMore(bytes[0])
        case let .idMore(first):
            let id = ([first] + bytes.dropLast()).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let sizeFirst = bytes.last!
            let length = EBML.length(sizeFirst)
            guard length <= 8 else { return fail("bad size of \(EBML.name(id)) at byte \(headerStart)") }
            if length == 1 {
                open(id, size: EBML.size(sizeFirst, []), dataStart: offset + Int64(bytes.count))
            } else {
                phase = .sizeMore(id, sizeFirst, length - 1)
            }
        case let .sizeMore(id, first, _):
            open(id, size: EBML.size(first, bytes), dataStart: offset + Int64(bytes.count))
        case let .leaf(id, _):
            phase = .idStart
            leaf(id, bytes)
        case .skip, .toEnd, .done:
            break
        }
    }

    /// Acts on an element header: closes unknown-size parents it cannot belong to, checks it fits its
    /// parent, then walks in, reads or skips it.
    private mutating func open(_ id: UInt32, size: Int64?, dataStart: Int64) {
        while let top = stack.last, top.end == nil, !EBML.mayContain(top.id, id) { close() }
        if stack.isEmpty && seen.isEmpty && id != EBML.header { return fail("not EBML: no EBML header") }
        let end = size.map { dataStart + $0 }
        current = Open(id: id, start: headerStart, end: end)
        seen.insert(id)
        if let parent = stack.last, let parentEnd = parent.end, end ?? Int64.max > parentEnd {
            if end == nil { return fail("\(EBML.name(id)) at byte \(headerStart) has an unknown size inside a sized parent") }
            return fail("\(EBML.name(id)) at byte \(headerStart) runs past the end of its parent \(EBML.name(parent.id))")
        }
        if EBML.masters.contains(id) || (id == EBML.cluster && size == nil) {
            if id == EBML.trackEntry { track = (0, 0, 0) }
            if id == EBML.tag { tagTargeted = false; tagTexts = [] }
            if id == EBML.simpleTag { simpleTags.append((nil, nil)) }
            stack.append(current)
            phase = .idStart
        } else if id == EBML.tagString, let size {
            phase = texts.admits(size, place: "TagString at byte \(headerStart)") ? .leaf(id, Int(size)) : .skip(size)
        } else if let size, let limit = readLimit(id) {
            guard size <= limit else {
                return fail("\(EBML.name(id)) at byte \(headerStart) declares \(size) bytes, more than such an element holds")
            }
            phase = .leaf(id, Int(size))
        } else if let size {
            phase = .skip(size)
        } else if stack.isEmpty || stack.last?.id == EBML.segment {
            phase = .toEnd  // an unknown-size element that is not walked: the rest of the file
        } else {
            fail("\(EBML.name(id)) at byte \(headerStart) has an unknown size")
        }
    }

    /// How many bytes an element this reader reads may have; nil for the ones it skips.
    private func readLimit(_ id: UInt32) -> Int64? {
        switch id {
        case EBML.tagName, EBML.docType, EBML.title: return 4_096
        case EBML.timestampScale, EBML.duration, EBML.trackType, EBML.pixelWidth, EBML.pixelHeight,
             EBML.tagTrackUID, EBML.tagEditionUID, EBML.tagChapterUID, EBML.tagAttachmentUID: return 8
        default: return nil
        }
    }

    private mutating func leaf(_ id: UInt32, _ b: [UInt8]) {
        let number = b.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        switch id {
        case EBML.docType:
            docType = MediaTextDecoding.utf8(b[...])
            if docType != "webm" && docType != "matroska" {
                fail("DocType '\(docType!)' is neither webm nor matroska")
            }
        case EBML.title: texts.add("title", MediaTextDecoding.utf8(b[...]), place: "Title")
        case EBML.timestampScale: if number > 0 { scale = number }
        case EBML.duration:
            if b.count == 8 { rawDuration = Double(bitPattern: number) }
            else if b.count == 4 { rawDuration = Double(Float(bitPattern: UInt32(number))) }
        case EBML.trackType: track.type = number
        case EBML.pixelWidth: track.width = Int(clamping: number)
        case EBML.pixelHeight: track.height = Int(clamping: number)
        case EBML.tagTrackUID, EBML.tagEditionUID, EBML.tagChapterUID, EBML.tagAttachmentUID:
            if number != 0 { tagTargeted = true }
        case EBML.tagName: if !simpleTags.isEmpty { simpleTags[simpleTags.count - 1].name = MediaTextDecoding.utf8(b[...]) }
        case EBML.tagString:
            if !simpleTags.isEmpty { simpleTags[simpleTags.count - 1].value = String(decoding: b, as: UTF8.self) }
        default: break
        }
    }

    private mutating func close() {
        let top = stack.removeLast()
        switch top.id {
        case EBML.trackEntry:
            if size == nil, track.type == 1, track.width > 0, track.height > 0 { size = (track.width, track.height) }
        case EBML.simpleTag:
            if let tag = simpleTags.popLast(), let name = tag.name, let value = tag.value {
                tagTexts.append(MediaText(keyword: name.lowercased(), value: value))
            }
        case EBML.tag:
            if !tagTargeted { texts.add(tagTexts, place: "Tag at byte \(top.start)") }
            tagTexts = []
        default: break
        }
    }

    mutating func finish(at offset: Int64, pending: StreamRequest?) -> MediaDetails {
        switch phase {
        case .done, .toEnd: break
        case .idStart where pending == .bytes(1) && offset == requestedAt:
            if let open = stack.last(where: { ($0.end ?? 0) > offset }) {
                fail("truncated inside \(EBML.name(open.id)) at byte \(open.start) (the file ends at byte \(offset))")
            }
        default:
            var inside = false
            if case .leaf = phase { inside = true }
            if case .skip = pending { inside = true }
            if offset == 0 {
                fail("empty file")
            } else if inside {
                fail("truncated inside \(EBML.name(current.id)) at byte \(current.start) (the file ends at byte \(offset))")
            } else {
                fail("truncated inside an element header at byte \(headerStart)")
            }
        }
        while !stack.isEmpty { close() }
        if fault == nil, docType == nil { fail("the EBML header has no DocType") }
        if fault == nil, !seen.contains(EBML.segment) { fail("no Segment") }
        if fault == nil, !seen.contains(EBML.tracks) { fail("no Tracks element") }
        if fault == nil, !seen.contains(EBML.cluster) { fail("no Cluster: the file holds no frames") }
        let seconds = rawDuration.map { $0 * Double(scale) / 1e9 }.flatMap { $0.isFinite && $0 >= 0 ? $0 : nil }
        return MediaDetails(width: size?.width, height: size?.height, duration: seconds,
                            texts: VideoComment.expand(texts.texts), error: fault ?? texts.error)
    }

    private mutating func fail(_ message: String) {
        if fault == nil { fault = message }
        phase = .done
    }
}
