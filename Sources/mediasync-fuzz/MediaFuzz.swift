import MediaSyncCore

/// A synced file's bytes through `MediaMetadataReader` (magic bytes, SHA-256, PNG chunks with zTXt/iTXt
/// inflation and eXIf; JPEG, WebP, MP4/MOV and WebM/Matroska through their streamed readers and the EXIF
/// block reader): the same metadata whether the file is read at once or in pieces, texts within the
/// limits, and its JSON is strict.
enum MediaFuzz {
    /// Small limits on half the inputs, so the limit paths are reached with short inputs.
    static let smallLimits = PNGMetadataParser.Limits(chunkBytes: 4096, inflatedBytes: 8192, totalTextBytes: 16384)

    static func run(_ data: UnsafeRawBufferPointer) {
        let splits = randomSplits(data, maxPiece: 512)
        let hint = splits.count
        // Mostly a neutral name (the magic bytes pick the reader); a third named .png (the PNG parser also
        // reads what is not one).
        let path = Array((hint % 3 == 0 ? "out/00001-12345.png" : "out/00001.bin").utf8)
        let limits = hint % 2 == 0 ? PNGMetadataParser.Limits() : smallLimits

        var whole = MediaMetadataReader(path: path, limits: limits)
        whole.update(data.bindMemory(to: UInt8.self))
        let expected = whole.finish()

        var pieces = MediaMetadataReader(path: path, limits: limits)
        for range in splits { pieces.update(UnsafeBufferPointer(rebasing: data.bindMemory(to: UInt8.self)[range])) }
        let got = pieces.finish()
        fuzzCheck(got == expected, "metadata differs when read in pieces:\n\(got)\nvs whole:\n\(expected)")
        fuzzCheck(got.size == Int64(data.count), "size \(got.size) for \(data.count) bytes")
        if let found = got.found {
            // PNG counts keyword and value against the total; the others too, plus at most one EXIF block of
            // a JPEG APP1 segment (64 KiB) read before the total is checked.
            fuzzCheck(found.texts.reduce(0) { $0 + $1.value.utf8.count } <= limits.totalTextBytes * 3 + (64 << 10),
                      "more text kept than the limits allow")
            if let duration = found.duration { fuzzCheck(duration.isFinite && duration >= 0, "duration \(duration)") }
            fuzzCheck((found.width ?? 1) > 0 && (found.height ?? 1) > 0, "a size of zero or less")
        }

        let json = got.json()
        do {
            let value = try StrictJSON.parse(json)
            for keyword in MediaMetadata.surfacedKeywords {
                if let text = got.found?.text(keyword) {
                    fuzzCheck(value[keyword]?.stringBytes == Array(text.utf8), "\(keyword) does not round-trip")
                }
            }
        } catch {
            fuzzCheck(false, "metadata JSON is not strict JSON (\(error)): \(String(decoding: json, as: UTF8.self))")
        }
    }
}
