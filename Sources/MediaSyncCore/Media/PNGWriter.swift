/// Writes real PNG files without any library: what Forge and ComfyUI outputs look like, for the demo
/// and the tests.
///
/// ```swift
/// let png = try PNGWriter.encode(width: 64, height: 64, pixels: PNGWriter.gradient(width: 64, height: 64, seed: 7),
///                                text: [("parameters", "a cat in a hat\nSteps: 20, Seed: 3912345")])
/// ```
/// The image data is a zlib stream of stored (uncompressed) deflate blocks: valid for every decoder,
/// and the file size is predictable (about 3 bytes per pixel).
public enum PNGWriter {
    /// Pixel layouts supported, all 8 bits per sample.
    public enum ColorType: UInt8, Sendable {
        case gray = 0
        case rgb = 2
        case rgba = 6

        var channels: Int {
            switch self {
            case .gray: 1
            case .rgb: 3
            case .rgba: 4
            }
        }
    }

    public static let signature: [UInt8] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

    /// Encodes `pixels` (row-major, `width * height * channels` bytes) with `text` as tEXt chunks, in order.
    public static func encode(width: Int, height: Int, colorType: ColorType = .rgb, pixels: [UInt8],
                              text: [(keyword: String, value: String)] = []) throws -> [UInt8] {
        guard width > 0, height > 0, width <= 0x7fff_ffff, height <= 0x7fff_ffff else {
            throw PNGError("width and height must be 1...2^31-1, got \(width)x\(height)")
        }
        let rowBytes = width * colorType.channels
        guard pixels.count == rowBytes * height else {
            throw PNGError("expected \(rowBytes * height) pixel bytes for \(width)x\(height) \(colorType), "
                           + "got \(pixels.count)")
        }
        var png = signature
        var header = bigEndian(UInt32(width)) + bigEndian(UInt32(height))
        header += [8, colorType.rawValue, 0, 0, 0]  // depth, color type, deflate, adaptive filter, no interlace
        appendChunk("IHDR", header, to: &png)
        for (keyword, value) in text {
            appendChunk("tEXt", try latin1(keyword: keyword) + [0] + (try latin1(value, what: "value of \(keyword)")),
                        to: &png)
        }
        // Each scanline starts with its filter type; 0 (None) keeps the bytes as they are.
        var raw: [UInt8] = []
        raw.reserveCapacity((rowBytes + 1) * height)
        for row in 0..<height {
            raw.append(0)
            raw += pixels[(row * rowBytes)..<((row + 1) * rowBytes)]
        }
        appendChunk("IDAT", zlibStored(raw), to: &png)
        appendChunk("IEND", [], to: &png)
        return png
    }

    /// A deterministic RGB picture that differs with `seed`, so generated files differ in content.
    public static func gradient(width: Int, height: Int, seed: UInt32) -> [UInt8] {
        var pixels: [UInt8] = []
        pixels.reserveCapacity(width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                pixels.append(UInt8(truncatingIfNeeded: x &* 255 / max(width - 1, 1) &+ Int(seed)))
                pixels.append(UInt8(truncatingIfNeeded: y &* 255 / max(height - 1, 1) &+ Int(seed >> 8)))
                pixels.append(UInt8(truncatingIfNeeded: (x ^ y) &+ Int(seed >> 16)))
            }
        }
        return pixels
    }

    /// A Forge/A1111-style `parameters` text, the way those UIs write it.
    public static func forgeParameters(prompt: String, steps: Int = 20, seed: Int, width: Int, height: Int,
                                       model: String = "sdxl") -> String {
        "\(prompt)\nSteps: \(steps), Sampler: Euler a, CFG scale: 7, Seed: \(seed), Size: \(width)x\(height), "
            + "Model: \(model)"
    }

    /// zlib wrapper (RFC 1950) around stored deflate blocks (RFC 1951 BTYPE=00), at most 65,535 bytes each.
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]  // CM=8, 32K window, no dictionary, fastest; 0x7801 % 31 == 0
        var offset = 0
        repeat {
            let count = min(65_535, data.count - offset)
            let final: UInt8 = offset + count == data.count ? 1 : 0
            out.append(final)
            out += [UInt8(count & 0xff), UInt8(count >> 8), UInt8(~count & 0xff), UInt8((~count >> 8) & 0xff)]
            out += data[offset..<(offset + count)]
            offset += count
        } while offset < data.count
        return out + bigEndian(adler32(data))
    }

    static func appendChunk(_ type: String, _ data: [UInt8], to png: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        png += bigEndian(UInt32(data.count))
        png += typeBytes
        png += data
        png += bigEndian(CRC32.checksum(typeBytes + data))
    }

    static func latin1(keyword: String) throws -> [UInt8] {
        let bytes = try latin1(keyword, what: "keyword")
        // PNG spec: 1-79 bytes, no leading/trailing/double spaces, no NUL.
        guard (1...79).contains(bytes.count), bytes.first != 0x20, bytes.last != 0x20, !bytes.contains(0) else {
            throw PNGError("tEXt keyword \"\(keyword)\" must be 1-79 Latin-1 characters without NUL or edge spaces")
        }
        return bytes
    }

    static func latin1(_ text: String, what: String) throws -> [UInt8] {
        try text.unicodeScalars.map { scalar in
            guard scalar.value <= 0xff else {
                throw PNGError("tEXt \(what) holds \"\(scalar)\" which is not Latin-1 (tEXt chunks are Latin-1)")
            }
            return UInt8(scalar.value)
        }
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
    }

    /// Adler-32 of `data` (RFC 1950), the zlib stream's trailer.
    public static func adler32(_ data: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        // 5552 is the most bytes that can be summed before b could overflow 32 bits (zlib's NMAX).
        var index = 0
        while index < data.count {
            let end = min(index + 5_552, data.count)
            for byte in data[index..<end] {
                a += UInt32(byte)
                b += a
            }
            a %= 65_521
            b %= 65_521
            index = end
        }
        return (b << 16) | a
    }
}

/// CRC-32 (ISO-HDLC, as in PNG and zlib's crc32), table-driven.
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xedb8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func checksum(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for byte in data { crc = table[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8) }
        return crc ^ 0xffff_ffff
    }
}

/// A PNG that could not be written or read, and why.
public struct PNGError: Error, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
