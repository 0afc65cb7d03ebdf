/// What a JPEG, WebP, MP4/MOV or WebM/Matroska file says about itself: pixel size, duration (video) and
/// its text tags, where generators keep their settings (`parameters`, `prompt`, `workflow`). `error` says
/// what is wrong with the file; what was read before the fault is kept. PNG has its own, `PNGMetadata`,
/// which gives the same view through `PNGMetadata.details`.
public struct MediaDetails: Sendable, Equatable {
    public var width: Int?
    public var height: Int?
    /// Seconds, for video.
    public var duration: Double?
    /// In file order; a keyword may repeat (the first one wins in the JSON).
    public var texts: [MediaText]
    /// The first problem met, one line naming the part of the file at fault. nil for a sound file.
    public var error: String?

    public init(width: Int? = nil, height: Int? = nil, duration: Double? = nil, texts: [MediaText] = [],
                error: String? = nil) {
        self.width = width
        self.height = height
        self.duration = duration
        self.texts = texts
        self.error = error
    }

    /// The first value of `keyword`.
    public func text(_ keyword: String) -> String? { texts.first { $0.keyword == keyword }?.value }
}

/// One text of a file, named the way the ingest sees it: `parameters`, `prompt`, `workflow`, or the tag's
/// own name (`Software`, `ImageDescription`, `comment`, `encoder`, ...).
public struct MediaText: Sendable, Equatable {
    public var keyword: String
    public var value: String
    public init(keyword: String, value: String) {
        self.keyword = keyword
        self.value = value
    }
}

/// Collects texts under the limits every reader shares, and the first problem met.
struct MediaTextCollector: Sendable {
    let limits: PNGMetadataParser.Limits
    private(set) var texts: [MediaText] = []
    private(set) var bytes = 0
    private(set) var error: String?

    init(limits: PNGMetadataParser.Limits) { self.limits = limits }

    /// Adds a text unless all texts together would pass `totalTextBytes` (then notes that, naming `place`).
    mutating func add(_ keyword: String, _ value: String, place: String) {
        let size = keyword.utf8.count + value.utf8.count
        guard bytes + size <= limits.totalTextBytes else {
            return note("texts from \(place) on exceed \(limits.totalTextBytes) bytes; skipped")
        }
        bytes += size
        texts.append(MediaText(keyword: keyword, value: value))
    }

    mutating func add(_ entries: [MediaText], place: String) {
        for entry in entries { add(entry.keyword, entry.value, place: place) }
    }

    /// Whether a text of `count` bytes may be read at all: not over `chunkBytes`, not past the total.
    mutating func admits(_ count: Int64, place: String) -> Bool {
        if count > Int64(limits.chunkBytes) {
            note("\(place) is \(count) bytes, over the \(limits.chunkBytes) byte limit; skipped")
            return false
        }
        if Int64(bytes) + count > Int64(limits.totalTextBytes) {
            note("texts from \(place) on exceed \(limits.totalTextBytes) bytes; skipped")
            return false
        }
        return true
    }

    /// Keeps the first problem.
    mutating func note(_ message: String) {
        if error == nil { error = message }
    }
}

/// Text decoding shared by the readers.
enum MediaTextDecoding {
    /// UTF-8 with U+FFFD for bad bytes, trailing NULs dropped (EXIF ASCII strings end in one).
    static func utf8(_ bytes: ArraySlice<UInt8>) -> String {
        var end = bytes.endIndex
        while end > bytes.startIndex, bytes[end - 1] == 0 { end -= 1 }
        return String(decoding: bytes[bytes.startIndex..<end], as: UTF8.self)
    }

    /// UTF-16 in the given byte order (a BOM overrides it); trailing NULs dropped, lone surrogates U+FFFD.
    static func utf16(_ bytes: ArraySlice<UInt8>, bigEndian: Bool) -> String {
        var big = bigEndian
        var start = bytes.startIndex
        if bytes.count >= 2 {
            let a = bytes[start], b = bytes[start + 1]
            if a == 0xfe, b == 0xff { big = true; start += 2 } else if a == 0xff, b == 0xfe { big = false; start += 2 }
        }
        var units: [UInt16] = []
        units.reserveCapacity((bytes.endIndex - start) / 2)
        var i = start
        while i + 1 < bytes.endIndex {
            let hi = UInt16(bytes[big ? i : i + 1]), lo = UInt16(bytes[big ? i + 1 : i])
            units.append(hi << 8 | lo)
            i += 2
        }
        while units.last == 0 { units.removeLast() }
        return String(decoding: units, as: UTF16.self)
    }
}
