import MediaSyncCore

/// rsync's stdout and stderr through `RsyncOutputParser`: never a crash, never more buffered than one line
/// allows, and the same records whether the bytes come at once or in the pieces a pipe happens to deliver.
enum RsyncOutputFuzz {
    static func run(_ data: UnsafeRawBufferPointer) {
        for stream in [RsyncOutputParser.Stream.stdout, .stderr] {
            var whole = RsyncOutputParser(stream: stream)
            var expected = whole.feed(data)
            expected += whole.finish()

            var pieces = RsyncOutputParser(stream: stream)
            var got: [RsyncRecord] = []
            for range in randomSplits(data) {
                pieces.feed(UnsafeRawBufferPointer(rebasing: data[range])) { got.append($0) }
                fuzzCheck(pieces.bufferedByteCount <= RsyncOutputParser.maxLineLength,
                          "buffered \(pieces.bufferedByteCount) bytes, more than one line may hold")
            }
            pieces.finish { got.append($0) }
            fuzzCheck(got == expected, "\(stream): records differ when fed in pieces:\n\(got)\nvs whole:\n\(expected)")
        }
    }
}
