/// Reads typed values off a fuzzer's input, front to back; past the end everything is zero or empty,
/// so every input builds something.
struct FuzzInput {
    private let bytes: [UInt8]
    private var index = 0

    init(_ data: UnsafeRawBufferPointer) { bytes = Array(data) }

    var isAtEnd: Bool { index >= bytes.count }

    mutating func byte() -> UInt8 {
        guard index < bytes.count else { return 0 }
        defer { index += 1 }
        return bytes[index]
    }

    mutating func bool() -> Bool { byte() & 1 == 1 }

    mutating func uint64() -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(byte()) << (8 * UInt64(i)) }
        return v
    }

    /// Mostly small numbers (the ones that matter), sometimes any 64-bit value or one at a type's edge.
    mutating func int64() -> Int64 {
        switch byte() % 5 {
        case 0: return Int64(byte())
        case 1: return -Int64(byte())
        case 2: return Int64(truncatingIfNeeded: uint64() & 0xFFFF_FFFF)
        case 3: return Int64(bitPattern: uint64())
        default:
            let edges: [Int64] = [.min, .min + 1, .max, .max - 1, -1, Int64(Int32.min), Int64(Int32.max),
                                  Int64(UInt32.max), 1 << 53, -(1 << 53)]
            return edges[Int(byte()) % edges.count]
        }
    }

    mutating func int() -> Int { Int(int64()) }

    /// Any Double, NaN, infinities and huge values included, or a plain one.
    mutating func double() -> Double {
        switch byte() % 4 {
        case 0: return Double(bitPattern: uint64())
        case 1: return Double(int64()) / 1000
        case 2: return Double(byte()) / 7
        default:
            let specials: [Double] = [0, -0.0, .nan, .infinity, -.infinity, 1e300, -1e20, 9.2e18, 0.05, 0.0049999]
            return specials[Int(byte()) % specials.count]
        }
    }

    /// Up to `max` raw bytes: any values, invalid UTF-8, NUL and newlines included.
    mutating func bytes(max: Int = 64) -> [UInt8] {
        let count = min(Int(byte()), max)
        var out: [UInt8] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            guard !isAtEnd else { break }
            out.append(byte())
        }
        return out
    }

    /// A path: raw bytes, or UTF-8 text with a few bytes that make it invalid.
    mutating func pathBytes() -> [UInt8] {
        switch byte() % 3 {
        case 0: return bytes()
        case 1: return Array(string().utf8)
        default:
            var p = Array(string().utf8)
            let bad: [[UInt8]] = [[0xE9], [0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]]
            p.insert(contentsOf: bad[Int(byte()) % bad.count], at: p.isEmpty ? 0 : Int(byte()) % p.count)
            return p
        }
    }

    /// A valid Swift string: decoded from raw bytes (so U+FFFD where they are not UTF-8), or built from
    /// arbitrary scalars (controls, astral planes, noncharacters).
    mutating func string() -> String {
        if byte() % 2 == 0 { return String(decoding: bytes(), as: UTF8.self) }
        var s = String.UnicodeScalarView()
        for _ in 0..<(Int(byte()) % 24) {
            let raw = UInt32(byte()) | UInt32(byte()) << 8 | UInt32(byte() % 0x11) << 16
            if let scalar = Unicode.Scalar(raw) { s.append(scalar) }
        }
        return String(s)
    }
}

/// Cuts `count` bytes into pieces of 1... bytes, chosen from a hash of the bytes themselves: each input
/// gets its own split without spending input bytes on it.
func randomSplits(_ data: UnsafeRawBufferPointer, maxPiece: Int = 64) -> [Range<Int>] {
    var state: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in data { state = (state ^ UInt64(b)) &* 0x100_0000_01b3 }
    func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    var ranges: [Range<Int>] = []
    var start = 0
    while start < data.count {
        // Mostly tiny pieces (one byte at a time is where line splitters break), sometimes big ones.
        let r = next()
        let piece = r % 4 == 0 ? 1 + Int((r >> 8) % UInt64(maxPiece * 64)) : 1 + Int((r >> 8) % UInt64(maxPiece))
        let end = min(data.count, start + piece)
        ranges.append(start..<end)
        start = end
    }
    return ranges
}
