/// Reads the list script's output as it arrives, so a folder of 200,000 files is never held twice (its
/// raw bytes, about 9 MB, beside the parsed files): `find` records are parsed as soon as their NUL ends
/// them and only a partial record is kept. The result and every error are exactly those of
/// `RemoteListingParser.parseScriptOutput` on the whole output (tested on random splits).
///
/// ```swift
/// var reader = RemoteListingReader()
/// child.onStdout { reader.feed($0) }
/// // on exit:
/// if let noise = reader.shellNoise { ... }
/// let listing = try reader.finish()
/// ```
public struct RemoteListingReader: Sendable {
    /// Everything until the header (marker, clock, format) is read; for a listing not in `find` format
    /// (rsync's, `absent`, one from a script without the marker, one after shell noise, or one broken in
    /// its header) all of it, parsed whole at the end.
    private var head: [UInt8] = []
    /// Set once the header is not going to be streamed: `head` takes the rest.
    private var whole = false
    /// Set once the header says `find`: records are parsed as they come.
    private var streaming: Streaming?
    private var noise: RemoteShellNoise?
    /// What the remote shell printed before the marker, if anything (ask before `finish`).
    public var shellNoise: RemoteShellNoise? {
        if streaming != nil { return nil }  // streamed only when the output starts with the marker
        return noise ?? RemoteListingParser.shellNoise(in: head)
    }

    /// The marker is looked for in this much of the output at most; noise longer than that is parsed whole.
    static let headerLimit = 64 * 1024
    static let markerLine = Array((RemoteListingParser.startMarker + "\n").utf8)
    /// How much of `head` was searched for the marker already.
    private var searchedUpTo = 0

    private struct Streaming: Sendable {
        var now: Int64
        var files: [RemoteFile] = []
        /// The bytes of a record whose NUL has not come yet.
        var partial: [UInt8] = []
        var line: Int
        var error: RemoteListingError?
    }

    /// A listing already made (`JobMachine.listedHere`): no output to read.
    private var given: RemoteListing?

    public init() {}

    /// The reader of a listing made without a script: `finish` returns it.
    public init(listed: RemoteListing) { given = listed }

    /// Takes the next bytes of the script's standard output.
    public mutating func feed(_ bytes: [UInt8]) {
        if streaming != nil { return stream(bytes[...]) }
        head.append(contentsOf: bytes)
        if !whole { startStreamingIfHeaderIsRead() }
    }

    /// The same, from a read buffer.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        feed(Array(bytes))
    }

    /// The listing; throws what `parseScriptOutput` throws for the same output.
    public mutating func finish() throws -> RemoteListing {
        if let given { return given }
        guard let streaming else { return try RemoteListingParser.parseScriptOutput(head) }
        self.streaming = nil
        if let error = streaming.error { throw error }
        if !streaming.partial.isEmpty {
            throw RemoteListingError(line: streaming.line, reason: "record does not end in NUL (output cut short?)",
                                     bytes: streaming.partial[...])
        }
        return RemoteListing(now: streaming.now, files: RemoteListingParser.sortedByPath(streaming.files), format: .find)
    }

    private mutating func startStreamingIfHeaderIsRead() {
        let marker = Self.markerLine
        guard head.count >= marker.count, head.starts(with: marker) else {
            // Not (yet) at the start: look for it in what is new, as `afterStartMarker` would anywhere.
            let from = max(0, searchedUpTo - marker.count + 1)
            searchedUpTo = head.count
            var index = from
            while let at = head[index...].firstIndex(of: marker[0]) {
                if head[at...].starts(with: marker) {
                    noise = RemoteShellNoise(noise: head[..<at])
                    whole = true
                    return
                }
                index = at + 1
            }
            // The marker may still come, or this is a script from before markers.
            if head.count > Self.headerLimit { whole = true }
            return
        }
        let start = head[marker.count...]
        let newline = UInt8(ascii: "\n")
        guard let clockEnd = start.firstIndex(of: newline),
              let formatEnd = start[(clockEnd + 1)...].firstIndex(of: newline) else {
            if head.count > Self.headerLimit { whole = true }
            return
        }
        guard start[(clockEnd + 1)..<formatEnd].elementsEqual("find".utf8),
              let now = try? RemoteListingParser.parseClock(start[start.startIndex..<clockEnd], line: 2)
        else { whole = true; return }
        let body = head[(formatEnd + 1)...]
        streaming = Streaming(now: now, line: 4)
        head = []
        stream(body)
    }

    private mutating func stream(_ bytes: ArraySlice<UInt8>) {
        guard streaming!.error == nil else { return }
        var rest = bytes
        while let end = rest.firstIndex(of: 0) {
            let record = rest[rest.startIndex..<end]
            do {
                if streaming!.partial.isEmpty {
                    streaming!.files.append(try RemoteListingParser.parseFindRecord(record, line: streaming!.line))
                } else {
                    streaming!.partial.append(contentsOf: record)
                    streaming!.files.append(try RemoteListingParser.parseFindRecord(streaming!.partial[...], line: streaming!.line))
                    streaming!.partial = []
                }
            } catch {
                streaming!.error = (error as? RemoteListingError)
                    ?? RemoteListingError(line: streaming!.line, reason: "\(error)", bytes: record)
                streaming!.partial = []
                return
            }
            streaming!.line += 1
            rest = rest[(end + 1)...]
        }
        streaming!.partial.append(contentsOf: rest)
    }
}
