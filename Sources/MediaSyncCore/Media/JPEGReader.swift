#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a JPEG's structure as it streams by: the segments before the picture (APP1 `Exif\0\0` for the
/// generation settings, COM, the SOF frame header for width and height), then the entropy-coded data,
/// scanned for the next marker, until EOI. Only APP1 and COM segments are held (at most 64 KiB each).
///
/// Faults a decoder refuses are reported: no SOI, a marker that is not one, a segment length below 2, a
/// frame header with no width or components, picture data before a frame header or none at all, and a file
/// that ends before EOI (truncated). JPEG has no checksums: a flipped bit in the picture data is not seen.
struct JPEGReader: StreamedReader {
    private enum Phase: Sendable {
        case soi, marker, fill, length(UInt8), body(UInt8, Int), entropy, done
    }

    private var phase = Phase.soi
    private var texts: MediaTextCollector
    private var width: Int?
    private var height: Int?
    private var sawFrame = false
    private var sawScan = false
    /// Inside entropy-coded data: the previous byte was 0xFF.
    private var pendingFF = false
    /// The marker the entropy scan stopped at.
    private var foundMarker: UInt8 = 0
    private var segmentStart: Int64 = 0
    private var fault: String?

    init(limits: PNGMetadataParser.Limits) { texts = MediaTextCollector(limits: limits) }

    mutating func next(at offset: Int64) -> StreamRequest {
        switch phase {
        case .soi: return .bytes(2)
        case .marker: return .bytes(2)
        case .fill: return .bytes(1)
        case .length: return .bytes(2)
        case let .body(marker, length):
            // Keep the segments that are read; skip the rest (ICC profiles, tables, XMP).
            if keeps(marker) { return .bytes(length) }
            phase = .marker
            return .skip(Int64(length))
        case .entropy: return .scan
        case .done: return .done
        }
    }

    private func keeps(_ marker: UInt8) -> Bool {
        marker == 0xe1 || marker == 0xfe || isFrame(marker) || marker == 0xda
    }

    private func isFrame(_ marker: UInt8) -> Bool {
        (0xc0...0xcf).contains(marker) && ![0xc4, 0xc8, 0xcc].contains(marker)
    }

    mutating func take(_ bytes: [UInt8], at offset: Int64) {
        switch phase {
        case .soi:
            guard bytes == [0xff, 0xd8] else { return fail("not a JPEG: no start-of-image marker") }
            phase = .marker
        case .marker:
            guard bytes[0] == 0xff else {
                return fail("garbage where a marker belongs at byte \(offset)")
            }
            segmentStart = offset
            marker(bytes[1], at: offset)
        case .fill:
            marker(bytes[0], at: offset)
        case let .length(marker):
            let length = Int(bytes[0]) << 8 | Int(bytes[1])
            guard length >= 2 else {
                return fail("\(name(marker)) segment at byte \(segmentStart) has length \(length), below 2")
            }
            phase = .body(marker, length - 2)
        case let .body(marker, _):
            segment(marker, bytes)
        case .entropy, .done:
            break
        }
    }

    /// Acts on a marker just read (after `FF`).
    private mutating func marker(_ code: UInt8, at offset: Int64) {
        switch code {
        case 0xff:
            // A fill byte: the marker code is a later one.
            phase = .fill
        case 0xd9:
            if !sawScan { return fail("end-of-image marker at byte \(offset) before any picture data (SOS)") }
            phase = .done
        case 0xd8:
            fail("a second start-of-image marker at byte \(offset)")
        case 0xd0...0xd7, 0x01:
            phase = sawScan ? .entropy : .marker
        case 0x00:
            fail("garbage where a marker belongs at byte \(offset)")
        default:
            phase = .length(code)
        }
    }

    private mutating func segment(_ marker: UInt8, _ body: [UInt8]) {
        let place = "\(name(marker)) segment at byte \(segmentStart)"
        phase = .marker
        if marker == 0xe1, body.starts(with: EXIFReader.exifHeader) {
            let exif = EXIFReader.read(Array(body.dropFirst(6)))
            texts.add(exif.texts, place: place)
            if let problem = exif.problem { texts.note("\(place): \(problem)") }
        } else if marker == 0xfe {
            texts.add("Comment", MediaTextDecoding.utf8(body[...]), place: place)
        } else if isFrame(marker) {
            guard !sawFrame else { return }
            sawFrame = true
            guard body.count >= 6 else { return fail("\(place) is too short for a frame header") }
            let h = Int(body[1]) << 8 | Int(body[2]), w = Int(body[3]) << 8 | Int(body[4]), components = Int(body[5])
            guard w > 0, components > 0, body.count >= 6 + 3 * components else {
                return fail("\(place): frame header declares \(w)x\(h) pixels and \(components) components")
            }
            width = w
            // A height of 0 is defined later by a DNL segment; leave it unknown.
            height = h > 0 ? h : nil
        } else if marker == 0xda {
            guard sawFrame else { return fail("picture data (SOS) at byte \(segmentStart) before any frame header (SOF)") }
            sawScan = true
            pendingFF = false
            phase = .entropy
        }
    }

    mutating func scan(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int64) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        var i = 0
        while i < bytes.count {
            if pendingFF {
                let byte = bytes[i]
                switch byte {
                case 0x00, 0xd0...0xd7: pendingFF = false
                case 0xff: break
                default:
                    pendingFF = false
                    segmentStart = offset + Int64(i) - 1
                    marker(byte, at: segmentStart)
                    return i + 1
                }
                i += 1
            } else {
                // Markers start with 0xFF; memchr finds the next one far faster than a byte loop.
                guard let found = memchr(base + i, 0xff, bytes.count - i) else { return nil }
                i = UnsafeRawPointer(found) - UnsafeRawPointer(base) + 1
                pendingFF = true
            }
        }
        return nil
    }

    mutating func finish(at offset: Int64, pending: StreamRequest?) -> MediaDetails {
        switch phase {
        case .done: break
        case .soi: fail(offset == 0 ? "empty file, not a JPEG" : "not a JPEG: only \(offset) bytes")
        case .entropy: fail("truncated inside the picture data, before the end-of-image marker (\(offset) bytes)")
        default:
            fail(sawScan ? "truncated before the end-of-image marker (\(offset) bytes)"
                 : "truncated before the picture data (\(offset) bytes)")
        }
        var details = MediaDetails(width: width, height: height, texts: texts.texts, error: fault ?? texts.error)
        if fault == nil, details.error == nil, !sawFrame { details.error = "no frame header (SOF)" }
        return details
    }

    private mutating func fail(_ message: String) {
        if fault == nil { fault = message }
        phase = .done
    }

    private func name(_ marker: UInt8) -> String {
        switch marker {
        case 0xe0...0xef: "APP\(marker - 0xe0)"
        case 0xfe: "COM"
        case 0xda: "SOS"
        case 0xdb: "DQT"
        case 0xc4: "DHT"
        case 0xdd: "DRI"
        default: isFrame(marker) ? "SOF\(marker - 0xc0)" : "marker 0x" + String(marker, radix: 16, uppercase: true)
        }
    }
}
