/// Decodes the small boxes `ISOBMFFReader` reads whole. Every function takes a box's body (after its
/// header) and checks its length; nil means the box does not hold what its kind should.
enum ISOBMFFItems {
    /// ffmpeg's names for iTunes-style items (libavformat/mov.c), so a key reads the same as in ffprobe.
    static let itemNames: [String: String] = [
        "\u{A9}cmt": "comment", "\u{A9}too": "encoder", "\u{A9}nam": "title", "\u{A9}ART": "artist",
        "\u{A9}alb": "album", "\u{A9}day": "date", "\u{A9}gen": "genre", "\u{A9}wrt": "composer",
        "\u{A9}cpy": "copyright", "cprt": "copyright", "desc": "description", "ldes": "synopsis",
        "aART": "album_artist", "\u{A9}des": "description", "\u{A9}inf": "comment", "\u{A9}swr": "encoder",
    ]

    /// `mvhd`: (timescale, duration); the duration is nil when unknown (all ones).
    static func timing(_ b: [UInt8]) -> (UInt32, UInt64?)? {
        guard let version = b.first else { return nil }
        if version == 1 {
            guard b.count >= 32 else { return nil }
            let length = be64(b, 24)
            return (be32(b, 20), length == UInt64.max ? nil : length)
        }
        guard b.count >= 20 else { return nil }
        let length = be32(b, 16)
        return (be32(b, 12), length == UInt32.max ? nil : UInt64(length))
    }

    /// `tkhd`: the display size, whole pixels of its 16.16 fixed-point width and height.
    static func trackSize(_ b: [UInt8]) -> (width: Int, height: Int)? {
        guard let version = b.first else { return nil }
        let at = version == 1 ? 88 : 76
        guard b.count >= at + 8 else { return nil }
        return (Int(be32(b, at) >> 16), Int(be32(b, at + 4) >> 16))
    }

    /// `keys` (QuickTime metadata, ffmpeg's `-movflags use_metadata_tags`): the names, 1-based in `ilst`.
    static func keys(_ b: [UInt8]) -> [String] {
        guard b.count >= 8 else { return [] }
        var names: [String] = []
        var at = 8
        for _ in 0..<min(Int(be32(b, 4)), 4_096) {
            guard at + 8 <= b.count else { break }
            let size = Int(be32(b, at))
            guard size >= 8, at + size <= b.count else { break }
            names.append(MediaTextDecoding.utf8(b[(at + 8)..<(at + size)]))
            at += size
        }
        return names
    }

    /// An `ilst` item's `data` box: 4 bytes of type (1 = UTF-8, 2 = UTF-16BE), 4 of locale, the value.
    /// nil for other types (numbers, pictures).
    static func dataText(_ b: [UInt8]) -> String? {
        guard b.count >= 8 else { return nil }
        switch be32(b, 0) & 0x00ff_ffff {
        case 1: return String(decoding: b[8...], as: UTF8.self)
        case 2: return MediaTextDecoding.utf16(b[8...], bigEndian: true)
        default: return nil
        }
    }

    /// A QuickTime user-data text (`©cmt` in `udta`): 2-byte length, 2-byte language, the text (the first
    /// of the list).
    static func quickTimeString(_ b: [UInt8]) -> String? {
        guard b.count >= 4 else { return nil }
        let length = Int(b[0]) << 8 | Int(b[1])
        guard 4 + length <= b.count else { return nil }
        return String(decoding: b[4..<(4 + length)], as: UTF8.self)
    }

    /// The name of an `ilst` item or `udta` string: ffmpeg's name, the `keys` name for an index, else the
    /// four characters without a leading `©`.
    static func name(item: String, keys: [String]) -> String {
        if let known = itemNames[item] { return known }
        let scalars = Array(item.unicodeScalars)
        if scalars.count == 4 {
            let index = scalars.reduce(0) { $0 << 8 | Int($1.value & 0xff) }
            if index >= 1, index <= keys.count { return keys[index - 1] }
        }
        return scalars.first == "\u{A9}" ? String(item.unicodeScalars.dropFirst()) : item
    }

    private static func be32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }

    private static func be64(_ b: [UInt8], _ at: Int) -> UInt64 { UInt64(be32(b, at)) << 32 | UInt64(be32(b, at + 4)) }
}
