/// What a PNG says about itself: size in pixels and its text chunks (tEXt, zTXt, iTXt), where Forge keeps
/// `parameters` and ComfyUI keeps `prompt` and `workflow`. `error` says what was wrong with the file; what
/// was read before the fault is kept.
public struct PNGMetadata: Sendable, Equatable {
    public var width: Int?
    public var height: Int?
    public var texts: [PNGTextEntry] = []
    /// The first problem met (truncated, bad CRC, bad zlib stream, oversized chunk), naming the chunk and
    /// its byte offset. nil for a sound file.
    public var error: String?

    public init(width: Int? = nil, height: Int? = nil, texts: [PNGTextEntry] = [], error: String? = nil) {
        self.width = width
        self.height = height
        self.texts = texts
        self.error = error
    }

    /// The first value of `keyword` (PNG allows repeats; the first one wins, as in most readers).
    public func text(_ keyword: String) -> String? { texts.first { $0.keyword == keyword }?.value }
    /// Forge / A1111 generation settings.
    public var parameters: String? { text("parameters") }
    /// ComfyUI's API-format prompt graph (JSON).
    public var prompt: String? { text("prompt") }
    /// ComfyUI's editor workflow (JSON).
    public var workflow: String? { text("workflow") }

    /// The format-neutral view the ingest's JSON is written from.
    public var details: MediaDetails {
        MediaDetails(width: width, height: height, texts: texts.map { MediaText(keyword: $0.keyword, value: $0.value) },
                     error: error)
    }

    /// Parses a whole file held in memory (the streaming form is `PNGMetadataParser`).
    public static func parse(_ bytes: [UInt8], limits: PNGMetadataParser.Limits = .init()) -> PNGMetadata {
        var parser = PNGMetadataParser(limits: limits)
        parser.feed(bytes)
        return parser.finish()
    }
}

/// One text chunk of a PNG, decoded: Latin-1 (tEXt, zTXt) or UTF-8 (iTXt; invalid bytes become U+FFFD);
/// or one text tag of its `eXIf` chunk, named as `EXIFReader` names it.
public struct PNGTextEntry: Sendable, Equatable {
    public enum Chunk: String, Sendable { case tEXt, zTXt, iTXt, eXIf }
    public var keyword: String
    public var value: String
    public var chunk: Chunk
    /// iTXt only: the language tag (may be empty) and the keyword translated into it.
    public var language: String?
    public var translatedKeyword: String?

    public init(keyword: String, value: String, chunk: Chunk, language: String? = nil,
                translatedKeyword: String? = nil) {
        self.keyword = keyword
        self.value = value
        self.chunk = chunk
        self.language = language
        self.translatedKeyword = translatedKeyword
    }
}

/// Reads PNG metadata from bytes fed in any pieces (as a file is read once for hashing), with bounded
/// memory: only IHDR and text chunks are buffered, each capped; other chunks (IDAT) only pass through the
/// CRC. Never traps on bad input: every fault ends up in `PNGMetadata.error`.
public struct PNGMetadataParser: Sendable {
    /// Caps that keep a hostile file from taking memory.
    public struct Limits: Sendable {
        /// Largest text chunk kept as stored (compressed) bytes; larger ones are skipped with an error.
        public var chunkBytes: Int
        /// Largest text one zTXt/iTXt chunk may inflate to (zip bombs).
        public var inflatedBytes: Int
        /// All texts of a file together; chunks past this are skipped with an error.
        public var totalTextBytes: Int
        public init(chunkBytes: Int = 8 << 20, inflatedBytes: Int = 8 << 20, totalTextBytes: Int = 32 << 20) {
            self.chunkBytes = chunkBytes
            self.inflatedBytes = inflatedBytes
            self.totalTextBytes = totalTextBytes
        }
    }

    private enum Phase: Sendable {
        case signature
        case header
        case data(remaining: Int)
        case crc
        case done
    }

    public let limits: Limits
    private var phase = Phase.signature
    private var result = PNGMetadata()
    /// Bytes of the current signature / chunk header / CRC.
    private var buffer: [UInt8] = []
    /// The data of a chunk being kept (IHDR, text).
    private var data: [UInt8] = []
    private var offset = 0
    private var chunkStart = 0
    private var chunkType = ""
    private var keepChunk = false
    private var crc: UInt32 = 0
    private var textBytes = 0
    private var chunks = 0
    /// Image-data bookkeeping for the checks at IEND: a PNG decoder refuses a file without IDAT, with
    /// IDAT chunks apart, or with a palette colour type and no PLTE.
    private var colourType: UInt8?
    private var sawPLTE = false
    private var idat = IDATState.none
    private enum IDATState: Sendable { case none, running, ended }

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// True once the parser needs no more bytes (IEND seen or a fatal fault): feeding more is harmless.
    public var isDone: Bool { if case .done = phase { true } else { false } }

    public mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { feed($0) }
    }

    public mutating func feed(_ input: UnsafeBufferPointer<UInt8>) {
        var i = 0
        while i < input.count {
            switch phase {
            case .done:
                return
            case .signature, .header, .crc:
                let need = (phaseIsSignature ? 8 : phaseIsHeader ? 8 : 4) - buffer.count
                let take = min(need, input.count - i)
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: input[i..<(i + take)]))
                i += take
                offset += take
                if take == need { completeFixedPart() }
            case let .data(remaining):
                let take = min(remaining, input.count - i)
                let slice = UnsafeBufferPointer(rebasing: input[i..<(i + take)])
                crc = Zlib.crc32(crc, slice)
                if keepChunk { data.append(contentsOf: slice) }
                i += take
                offset += take
                phase = take == remaining ? .crc : .data(remaining: remaining - take)
            }
        }
    }

    /// Ends the input: a file that stopped before IEND gets a "truncated" error.
    public mutating func finish() -> PNGMetadata {
        switch phase {
        case .done:
            break
        case .signature:
            fail(offset == 0 ? "empty file, not a PNG" : "not a PNG: only \(offset) bytes")
        case .header:
            fail(chunks == 0 ? "truncated after the signature" : "truncated after the \(chunkType) chunk at byte "
                 + "\(chunkStart), before IEND")
        case .data, .crc:
            fail("truncated inside the \(chunkType) chunk at byte \(chunkStart)")
        }
        return result
    }

    private var phaseIsSignature: Bool { if case .signature = phase { true } else { false } }
    private var phaseIsHeader: Bool { if case .header = phase { true } else { false } }

    private mutating func fail(_ message: String) {
        if result.error == nil { result.error = message }
        phase = .done
        buffer = []
        data = []
    }

    /// Notes a problem that does not stop the parse (one chunk skipped).
    private mutating func note(_ message: String) {
        if result.error == nil { result.error = message }
    }

    private mutating func completeFixedPart() {
        switch phase {
        case .signature:
            guard buffer == PNGWriter.signature else { return fail(PNGChecks.signatureProblem(buffer)) }
            buffer.removeAll(keepingCapacity: true)
            phase = .header
        case .header:
            chunkStart = offset - 8
            let length = Int(buffer[0]) << 24 | Int(buffer[1]) << 16 | Int(buffer[2]) << 8 | Int(buffer[3])
            let typeBytes = Array(buffer[4..<8])
            buffer.removeAll(keepingCapacity: true)
            // Chunk types are four ASCII letters; anything else means we lost the chunk boundaries.
            guard typeBytes.allSatisfy({ (0x41...0x5a).contains($0) || (0x61...0x7a).contains($0) }) else {
                return fail("garbage where a chunk header belongs at byte \(chunkStart)")
            }
            chunkType = String(decoding: typeBytes, as: UTF8.self)
            chunks += 1
            guard length <= 0x7fff_ffff else {
                return fail("\(chunkType) chunk at byte \(chunkStart) declares \(length) bytes, over the PNG limit")
            }
            if chunks == 1 && chunkType != "IHDR" {
                return fail("first chunk is \(chunkType), not IHDR")
            }
            if chunkType == "IDAT" {
                if idat == .ended { note("IDAT chunk at byte \(chunkStart) after other chunks: the image data must be consecutive") }
                idat = .running
            } else if idat == .running {
                idat = .ended
            }
            if let problem = PNGChecks.chunkProblem(typeBytes, at: chunkStart) { note(problem) }
            keepChunk = false
            if chunkType == "IHDR" {
                keepChunk = length == 13
            } else if ["tEXt", "zTXt", "iTXt", "eXIf"].contains(chunkType) {
                if length > limits.chunkBytes {
                    note("\(chunkType) chunk at byte \(chunkStart) is \(length) bytes, over the "
                         + "\(limits.chunkBytes) byte limit; skipped")
                } else if textBytes + length > limits.totalTextBytes {
                    note("text chunks past byte \(chunkStart) exceed \(limits.totalTextBytes) bytes; skipped")
                } else {
                    keepChunk = true
                }
            }
            crc = typeBytes.withUnsafeBufferPointer { Zlib.crc32(0, $0) }
            data.removeAll(keepingCapacity: false)
            if keepChunk { data.reserveCapacity(length) }
            phase = length == 0 ? .crc : .data(remaining: length)
        case .crc:
            let stored = UInt32(buffer[0]) << 24 | UInt32(buffer[1]) << 16 | UInt32(buffer[2]) << 8 | UInt32(buffer[3])
            buffer.removeAll(keepingCapacity: true)
            guard stored == crc else { return fail("bad CRC in the \(chunkType) chunk at byte \(chunkStart)") }
            let chunkData = data
            data = []
            phase = .header
            take(chunkData)
        case .data, .done:
            break
        }
    }

    /// Interprets a complete chunk whose CRC checked out.
    private mutating func take(_ data: [UInt8]) {
        switch chunkType {
        case "IHDR":
            guard data.count == 13 else { return fail("IHDR chunk is not 13 bytes") }
            let w = Int(data[0]) << 24 | Int(data[1]) << 16 | Int(data[2]) << 8 | Int(data[3])
            let h = Int(data[4]) << 24 | Int(data[5]) << 16 | Int(data[6]) << 8 | Int(data[7])
            guard w > 0, h > 0, w <= 0x7fff_ffff, h <= 0x7fff_ffff else {
                return fail("IHDR declares \(w)x\(h) pixels")
            }
            result.width = w
            result.height = h
            colourType = data[9]
            if let problem = PNGChecks.headerProblem(data) { note(problem) }
        case "PLTE":
            sawPLTE = true
        case "IEND":
            phase = .done
            if idat == .none { note("no IDAT chunk: the file holds no image data") }
            if colourType == 3, !sawPLTE { note("colour type 3 (palette) but no PLTE chunk") }
        case "eXIf":
            guard keepChunk else { return }
            let exif = EXIFReader.read(data)
            if let problem = exif.problem { note("eXIf chunk at byte \(chunkStart): \(problem)") }
            for text in exif.texts {
                let size = text.keyword.utf8.count + text.value.utf8.count
                guard textBytes + size <= limits.totalTextBytes else {
                    return note("text chunks past byte \(chunkStart) exceed \(limits.totalTextBytes) bytes; skipped")
                }
                textBytes += size
                result.texts.append(PNGTextEntry(keyword: text.keyword, value: text.value, chunk: .eXIf))
            }
        case "tEXt", "zTXt", "iTXt":
            guard keepChunk else { return }
            switch PNGTextDecoder.decode(chunkType, data, inflateLimit: limits.inflatedBytes) {
            case let .success(entry):
                let size = entry.keyword.utf8.count + entry.value.utf8.count
                guard textBytes + size <= limits.totalTextBytes else {
                    return note("text chunks past byte \(chunkStart) exceed \(limits.totalTextBytes) bytes; skipped")
                }
                textBytes += size
                result.texts.append(entry)
            case let .failure(problem):
                note("\(chunkType) chunk at byte \(chunkStart): \(problem.description)")
            }
        default:
            break
        }
    }
}
