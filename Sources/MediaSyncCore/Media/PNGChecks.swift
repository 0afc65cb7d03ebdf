/// The checks a PNG decoder makes beyond chunk framing and CRCs, named the way a person can act on them
/// (PngSuite's corrupted files, `x*.png`, each fail one): the signature, the IHDR fields and unknown critical
/// chunks. `PNGMetadataParser` asks these; the checks at IEND (IDAT present and consecutive, PLTE for a
/// palette image) it makes itself.
enum PNGChecks {
    /// Why 8 bytes that are not the PNG signature are not: damage a transfer does, or another file.
    static func signatureProblem(_ head: [UInt8]) -> String {
        let signature = PNGWriter.signature
        guard head.count == 8 else { return "not a PNG: signature missing" }
        if head[0] == 0x09, head[1...] == signature[1...] {
            return "not a PNG: the signature's high bit is stripped (the file went through a 7-bit transfer)"
        }
        if head.starts(with: signature.prefix(4)) {
            // \r\n\x1a\n with line endings converted one way or the other.
            let tail = Array(head[4...])
            if tail.starts(with: [0x0d, 0x0d, 0x0a]) || tail.starts(with: [0x0a, 0x1a]) || tail.starts(with: [0x0d, 0x0a, 0x0a])
                || tail.starts(with: [0x0d, 0x1a]) || tail.starts(with: [0x0d, 0x0d, 0x1a]) || tail == [0x0d, 0x0a, 0x1a, 0x0d] {
                return "not a PNG: the signature's line endings were converted (the file went through a text-mode transfer)"
            }
        }
        let differing = (0..<8).filter { head[$0] != signature[$0] }
        if differing.count <= 2, let first = differing.first {
            return "not a PNG: damaged signature (byte \(first) is \(hex(head[first])), not \(hex(signature[first])))"
        }
        return "not a PNG: signature missing"
    }

    /// What is wrong with a 13-byte IHDR's colour type, bit depth and methods, or nil.
    static func headerProblem(_ ihdr: [UInt8]) -> String? {
        let depth = ihdr[8], colour = ihdr[9]
        let allowed: [UInt8: (name: String, depths: [UInt8])] = [
            0: ("greyscale", [1, 2, 4, 8, 16]), 2: ("truecolour", [8, 16]), 3: ("palette", [1, 2, 4, 8]),
            4: ("greyscale with alpha", [8, 16]), 6: ("truecolour with alpha", [8, 16]),
        ]
        guard let kind = allowed[colour] else {
            return "IHDR: colour type \(colour) is not a PNG colour type (0, 2, 3, 4 or 6)"
        }
        guard kind.depths.contains(depth) else {
            return "IHDR: bit depth \(depth) is not allowed with colour type \(colour) (\(kind.name): "
                + kind.depths.map(String.init).joined(separator: ", ") + ")"
        }
        if ihdr[10] != 0 { return "IHDR: unknown compression method \(ihdr[10])" }
        if ihdr[11] != 0 { return "IHDR: unknown filter method \(ihdr[11])" }
        if ihdr[12] > 1 { return "IHDR: unknown interlace method \(ihdr[12])" }
        return nil
    }

    /// A critical chunk (first letter upper case) a decoder does not know stops it.
    static func chunkProblem(_ type: [UInt8], at offset: Int) -> String? {
        guard type[0] & 0x20 == 0 else { return nil }
        let name = String(decoding: type, as: UTF8.self)
        guard !["IHDR", "PLTE", "IDAT", "IEND"].contains(name) else { return nil }
        return "unknown critical chunk \(name) at byte \(offset)"
    }

    private static func hex(_ byte: UInt8) -> String {
        "0x" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
    }
}
