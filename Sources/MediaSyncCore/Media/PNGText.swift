/// Reads the tEXt chunks of a PNG (Forge's `parameters`, ComfyUI's `prompt` and `workflow`), checking
/// the signature and every chunk's CRC on the way.
public enum PNGText {
    /// The `(keyword, value)` pairs of all tEXt chunks, in file order. Latin-1 is decoded to Unicode.
    public static func read(_ png: [UInt8]) throws -> [(keyword: String, value: String)] {
        guard png.starts(with: PNGWriter.signature) else { throw PNGError("not a PNG: signature missing") }
        var offset = PNGWriter.signature.count
        var texts: [(keyword: String, value: String)] = []
        while offset < png.count {
            guard png.count - offset >= 12 else { throw PNGError("chunk header cut short at byte \(offset)") }
            let length = Int(png[offset]) << 24 | Int(png[offset + 1]) << 16 | Int(png[offset + 2]) << 8
                | Int(png[offset + 3])
            guard length <= png.count - offset - 12 else {
                throw PNGError("chunk at byte \(offset) claims \(length) bytes, file is shorter")
            }
            let typeAndData = Array(png[(offset + 4)..<(offset + 8 + length)])
            let stored = png[(offset + 8 + length)..<(offset + 12 + length)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            guard CRC32.checksum(typeAndData) == stored else {
                throw PNGError("bad CRC in chunk at byte \(offset)")
            }
            let type = String(decoding: typeAndData[0..<4], as: UTF8.self)
            if type == "tEXt" {
                let data = typeAndData[4...]
                guard let nul = data.firstIndex(of: 0) else { throw PNGError("tEXt chunk without NUL separator") }
                texts.append((keyword: latin1(data[data.startIndex..<nul]), value: latin1(data[(nul + 1)...])))
            }
            offset += 12 + length
            if type == "IEND" { break }
        }
        return texts
    }

    private static func latin1(_ bytes: ArraySlice<UInt8>) -> String {
        String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }
}
