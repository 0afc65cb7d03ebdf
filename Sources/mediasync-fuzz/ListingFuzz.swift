import MediaSyncCore

/// The remote listing's parsers (the script's header, `find -printf` records, the `rsync --list-only`
/// fallback) and the purge script's output, all on every input.
enum ListingFuzz {
    static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        describe { try RemoteListingParser.parseScriptOutput(bytes) }
        describe { try RemoteListingParser.parseFindOutput(bytes) }
        if let files = describe({ try RemoteListingParser.parseFindRecords(bytes[...]) }) {
            // Every record ends in NUL, so a good listing has one file per NUL.
            fuzzCheck(files.count == bytes.count(where: { $0 == 0 }), "find: \(files.count) files from a listing with other NUL count")
            for file in files { fuzzCheck(!file.path.isEmpty && !file.path.contains(0), "find: bad path \(file.path)") }
        }
        if let files = describe({ try RemoteListingParser.parseRsyncListOnly(bytes[...]) }) {
            for file in files { fuzzCheck(!file.path.isEmpty, "rsync --list-only: an empty path") }
        }
        for checksums in [false, true] {
            var whole = RemotePurgeOutput(checksums: checksums)
            var expected: [RemotePurgeResult] = []
            whole.feed(bytes) { expected.append($0) }
            var pieces = RemotePurgeOutput(checksums: checksums)
            var got: [RemotePurgeResult] = []
            for range in randomSplits(data) { pieces.feed(bytes[range]) { got.append($0) } }
            fuzzCheck(got == expected, "purge output differs when fed in pieces")
            fuzzCheck(pieces.garbage == whole.garbage && pieces.hasPartialRecord == whole.hasPartialRecord,
                      "purge output's garbage differs when fed in pieces")
        }
    }

    /// Runs a parse; a refusal must be a `RemoteListingError` whose message can be printed.
    @discardableResult
    static func describe<T>(_ parse: () throws -> T) -> T? {
        do { return try parse() } catch let error as RemoteListingError {
            _ = error.description
            return nil
        } catch {
            fuzzCheck(false, "a listing parser threw \(type(of: error)), not RemoteListingError")
            return nil
        }
    }
}
