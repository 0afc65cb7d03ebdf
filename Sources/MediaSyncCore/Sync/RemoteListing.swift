/// One regular file on a source, as a listing saw it.
public struct RemoteFile: Hashable, Sendable {
    /// Path relative to the listed folder, as raw bytes (file names need not be UTF-8).
    public var path: [UInt8]
    /// Size in bytes.
    public var size: Int64
    /// Modification time in whole seconds since the epoch, rounded down (the `st_mtime` seconds field).
    /// Whole seconds because `rsync --list-only` prints no more, and rsync's own up-to-date check is
    /// size plus whole-second mtime; find's fraction is dropped with floor, never rounded up.
    public var mtime: Int64
    /// The time `purge.age_by` measures age from when it is not the mtime: the access or birth time in whole
    /// seconds, when the purge's listing asked for it; nil when not asked, or when the source did not say
    /// (a file system without birth times).
    public var ageTime: Int64? {
        get { storedAgeTime == Self.noAgeTime ? nil : storedAgeTime }
        set { storedAgeTime = newValue ?? Self.noAgeTime }
    }
    /// `ageTime` without an optional's extra byte, which made every file of a 200,000-file listing 8 bytes
    /// bigger (a stride of 40 instead of 32).
    private var storedAgeTime: Int64
    private static let noAgeTime = Int64.min

    public init(path: [UInt8], size: Int64, mtime: Int64, ageTime: Int64? = nil) {
        self.path = path
        self.size = size
        self.mtime = mtime
        self.storedAgeTime = ageTime ?? Self.noAgeTime
    }

    /// The path as a String; invalid UTF-8 becomes U+FFFD (use `path` for the exact bytes).
    public var displayPath: String { String(decoding: path, as: UTF8.self) }
}

extension Array where Element == RemoteFile {
    /// In byte order of their paths (what the parser hands over), checked in one pass.
    public var isSortedByPath: Bool {
        guard count > 1 else { return true }
        for index in 1..<count where PathBytes.precedes(self[index].path, self[index - 1].path) { return false }
        return true
    }
}

/// A folder's listing: its regular files and the source's clock when it was taken.
public struct RemoteListing: Equatable, Sendable {
    /// Which program produced the records; `absent` when the folder does not exist (yet) under its root.
    /// `findAccessed`, `statCreated` and `rsyncAccessed` carry each file's access or birth time too (the purge's
    /// listing with `purge.age_by`).
    public enum Format: String, Sendable {
        case find, rsync, absent
        case findAccessed = "find-atime"
        case statCreated = "stat-birth"
        case rsyncAccessed = "rsync-atime"
    }

    /// The source's `date +%s` when listing began: ages are measured against this, never the host's clock.
    public var now: Int64
    public var files: [RemoteFile]
    public var format: Format

    public init(now: Int64, files: [RemoteFile], format: Format) {
        self.now = now
        self.files = files
        self.format = format
    }
}

/// Why a listing could not be read; `line` is 1-based, counting lines of the whole script output
/// (a NUL-separated find record counts as one line).
public struct RemoteListingError: Error, Equatable, Sendable, CustomStringConvertible {
    public var line: Int
    public var reason: String
    /// The offending text, made printable (non-ASCII and control bytes as `\xNN`), at most 120 bytes.
    public var excerpt: String

    public init(line: Int, reason: String, bytes: ArraySlice<UInt8>) {
        self.line = line
        self.reason = reason
        self.excerpt = Self.printable(bytes.prefix(120))
    }

    public var description: String {
        "remote listing, line \(line): \(reason): \"\(excerpt)\" (the source's find or rsync printed "
            + "something mediasync does not understand; check the folder path and the tools in the container)"
    }

    static func printable(_ bytes: ArraySlice<UInt8>) -> String {
        let hex = Array("0123456789abcdef")
        var out = ""
        for byte in bytes {
            if byte >= 0x20 && byte < 0x7f && byte != UInt8(ascii: "\\") {
                out.append(Character(Unicode.Scalar(byte)))
            } else {
                out += "\\x" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 15)])
            }
        }
        return out
    }
}

/// Text that reached the listing's stdout before the list script's first line: the remote login shell
/// printed it (a banner in `~/.bashrc`), so it is named as such instead of being parsed.
public struct RemoteShellNoise: Error, Equatable, Sendable {
    /// The first non-empty line of the noise, made printable, at most 120 bytes; empty when the shell
    /// printed only empty lines.
    public var firstLine: String

    public init(noise: ArraySlice<UInt8>) {
        let lines = noise.split(separator: UInt8(ascii: "\n"))
            .map { $0.last == UInt8(ascii: "\r") ? $0.dropLast() : $0 }
        firstLine = lines.first { !$0.isEmpty }.map { RemoteListingError.printable($0.prefix(120)) } ?? ""
    }
}

/// Parses the output of `RemoteListScript` and its two listing formats.
public enum RemoteListingParser {
    /// The list script's first line. Whatever comes before it was printed by the remote shell, not the script.
    public static let startMarker = "mediasync-listing-begin"

    /// Parses the whole script output: the start marker, clock line, format line (`find` / `rsync`), then
    /// records. Output without the marker (from a script before it had one) is read from its clock line.
    /// Throws `RemoteShellNoise` when something came before the marker.
    public static func parseScriptOutput(_ output: [UInt8]) throws -> RemoteListing {
        let (start, base) = try afterStartMarker(output[...])
        let (clockLine, afterClock) = try headerLine(start, line: base + 1, what: "the source's clock")
        let now = try parseClock(clockLine, line: base + 1)
        let (formatLine, body) = try headerLine(afterClock, line: base + 2, what: "the listing format")
        switch String(decoding: formatLine, as: UTF8.self) {
        case "find":
            return RemoteListing(now: now, files: sortedByPath(try parseFindRecords(body, firstLine: base + 3)), format: .find)
        case "rsync":
            return RemoteListing(now: now, files: sortedByPath(try parseRsyncListOnly(body, firstLine: base + 3)), format: .rsync)
        case "find-atime":
            return RemoteListing(now: now, files: sortedByPath(try parseTimedRecords(body, firstLine: base + 3, stat: false)),
                                 format: .findAccessed)
        case "stat-birth":
            return RemoteListing(now: now, files: sortedByPath(try parseTimedRecords(body, firstLine: base + 3, stat: true)),
                                 format: .statCreated)
        case "rsync-atime":
            return RemoteListing(now: now, files: sortedByPath(try parseRsyncListOnly(body, firstLine: base + 3, accessTimes: true)),
                                 format: .rsyncAccessed)
        case "absent" where body.isEmpty:
            return RemoteListing(now: now, files: [], format: .absent)
        default:
            throw RemoteListingError(line: base + 2, reason: "expected `find`, `rsync` or `absent` (or, for a purge by "
                                     + "access or birth time, `find-atime`, `rsync-atime` or `stat-birth`)", bytes: formatLine)
        }
    }

    /// Sorted in place (the array is ours alone), so the planner needs no sorted copy of a big folder.
    public static func sortedByPath(_ files: [RemoteFile]) -> [RemoteFile] {
        var files = files
        files.sort { PathBytes.precedes($0.path, $1.path) }
        return files
    }

    /// What a noisy remote shell printed before the list script's marker, if anything: also for a listing
    /// that failed, since the noise breaks rsync whatever else went wrong.
    public static func shellNoise(in output: [UInt8]) -> RemoteShellNoise? {
        do {
            _ = try afterStartMarker(output[...])
            return nil
        } catch {
            return error as? RemoteShellNoise
        }
    }

    /// The output after the marker line and how many lines that skipped.
    static func afterStartMarker(_ output: ArraySlice<UInt8>) throws -> (ArraySlice<UInt8>, Int) {
        let marker = Array((startMarker + "\n").utf8)
        if output.starts(with: marker) { return (output.dropFirst(marker.count), 1) }
        // Noise that does not end in a newline runs into the marker: search for it anywhere.
        var index = output.startIndex
        while let at = output[index...].firstIndex(of: marker[0]) {
            if output[at...].starts(with: marker) { throw RemoteShellNoise(noise: output[output.startIndex..<at]) }
            index = at + 1
        }
        return (output, 0)
    }

    /// Parses GNU find output: the clock as decimal seconds on the first line, then `%T@ %s %P\0` records.
    public static func parseFindOutput(_ output: [UInt8]) throws -> RemoteListing {
        let (clockLine, body) = try headerLine(output[...], line: 1, what: "the source's clock")
        let now = try parseClock(clockLine, line: 1)
        return RemoteListing(now: now, files: try parseFindRecords(body, firstLine: 2), format: .find)
    }

    /// Parses `find . -type f -printf '%T@ %s %P\0'` records. Every record must end in NUL: output cut
    /// short (a dropped connection) would otherwise yield a truncated path.
    public static func parseFindRecords(_ body: ArraySlice<UInt8>, firstLine: Int = 1) throws -> [RemoteFile] {
        var files: [RemoteFile] = []
        var start = body.startIndex
        var line = firstLine
        while start < body.endIndex {
            guard let end = body[start...].firstIndex(of: 0) else {
                throw RemoteListingError(line: line, reason: "record does not end in NUL (output cut short?)",
                                         bytes: body[start...])
            }
            files.append(try parseFindRecord(body[start..<end], line: line))
            start = end + 1
            line += 1
        }
        return files
    }

    static func parseFindRecord(_ record: ArraySlice<UInt8>, line: Int, stripDotSlash: Bool = false) throws -> RemoteFile {
        let space = UInt8(ascii: " ")
        guard let s1 = record.firstIndex(of: space),
              let s2 = record[(s1 + 1)...].firstIndex(of: space) else {
            throw RemoteListingError(line: line, reason: "expected `mtime size path`", bytes: record)
        }
        guard let mtime = parseSeconds(record[record.startIndex..<s1]) else {
            throw RemoteListingError(line: line, reason: "bad mtime", bytes: record)
        }
        guard let size = parseInt(record[(s1 + 1)..<s2]) else {
            throw RemoteListingError(line: line, reason: "bad size", bytes: record)
        }
        var path = Array(record[(s2 + 1)...])
        if stripDotSlash {
            guard path.starts(with: [0x2e, 0x2f]) else {
                throw RemoteListingError(line: line, reason: "expected a path starting with ./", bytes: record)
            }
            path.removeFirst(2)
        }
        try checkPath(path, line: line, record: record)
        return RemoteFile(path: path, size: size, mtime: mtime)
    }

    /// Parses `find -printf "%A@ %T@ %s %P\0"` records (`stat: false`) or GNU `stat --printf "%W %Y %s %n\0"`
    /// records of `./`-prefixed names (`stat: true`): the age time, then the mtime, size and path. A birth time of
    /// `0` or `-` is stat's "unknown", and a negative one find's: the file gets no `ageTime`.
    public static func parseTimedRecords(_ body: ArraySlice<UInt8>, firstLine: Int, stat: Bool) throws -> [RemoteFile] {
        var files: [RemoteFile] = []
        var start = body.startIndex
        var line = firstLine
        let space = UInt8(ascii: " ")
        while start < body.endIndex {
            guard let end = body[start...].firstIndex(of: 0) else {
                throw RemoteListingError(line: line, reason: "record does not end in NUL (output cut short?)",
                                         bytes: body[start...])
            }
            let record = body[start..<end]
            guard let s0 = record.firstIndex(of: space) else {
                throw RemoteListingError(line: line, reason: "expected `time mtime size path`", bytes: record)
            }
            var file = try parseFindRecord(record[(s0 + 1)...], line: line, stripDotSlash: stat)
            let stamp = record[record.startIndex..<s0]
            if stamp.elementsEqual([UInt8(ascii: "-")]) {
                file.ageTime = nil
            } else if let seconds = parseSeconds(stamp) {
                file.ageTime = seconds > 0 ? seconds : nil
            } else {
                throw RemoteListingError(line: line, reason: "bad access or birth time", bytes: record)
            }
            files.append(file)
            start = end + 1
            line += 1
        }
        return files
    }

    /// Parses `rsync -r --list-only DIR/` output run with TZ=UTC; keeps regular files only.
    /// Sizes may carry `,` or `.` thousands separators; names are `\#ooo`-escaped. With `accessTimes`
    /// (`--atimes`), a file's line has the access date and time after the mtime.
    public static func parseRsyncListOnly(_ body: ArraySlice<UInt8>, firstLine: Int = 1,
                                          accessTimes: Bool = false) throws -> [RemoteFile] {
        var files: [RemoteFile] = []
        var line = firstLine
        for raw in body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            defer { line += 1 }
            var text = raw
            if text.last == UInt8(ascii: "\r") { text = text.dropLast() }
            if text.isEmpty { continue }
            if let file = try parseRsyncLine(text, line: line, accessTimes: accessTimes) { files.append(file) }
        }
        return files
    }

    static func parseRsyncLine(_ text: ArraySlice<UInt8>, line: Int, accessTimes: Bool = false) throws -> RemoteFile? {
        // perms, size, date and time are space-separated (size right-aligned); the name is the rest after
        // exactly one space, so names with leading or inner spaces survive.
        var fields: [ArraySlice<UInt8>] = []
        var index = text.startIndex
        let space = UInt8(ascii: " ")
        // A folder's line has blanks where a file's access time is: only files carry the two more fields.
        let count = accessTimes && text.first == UInt8(ascii: "-") ? 6 : 4
        while fields.count < count {
            while index < text.endIndex && text[index] == space { index += 1 }
            let fieldStart = index
            while index < text.endIndex && text[index] != space { index += 1 }
            if fieldStart == index { break }
            fields.append(text[fieldStart..<index])
        }
        guard fields.count == count, index < text.endIndex, fields[0].count == 10 else {
            throw RemoteListingError(line: line, reason: "expected `perms size date time name`", bytes: text)
        }
        // Directories, symlinks, devices, fifos and sockets: not media.
        guard fields[0].first == UInt8(ascii: "-") else { return nil }
        let digits = fields[1].filter { $0 != UInt8(ascii: ",") && $0 != UInt8(ascii: ".") }
        guard let size = parseInt(digits[...]) else {
            throw RemoteListingError(line: line, reason: "bad size", bytes: text)
        }
        guard let mtime = RsyncListTime.epochSeconds(date: fields[2], time: fields[3]) else {
            throw RemoteListingError(line: line, reason: "bad date (want YYYY/MM/DD hh:mm:ss)", bytes: text)
        }
        guard let path = RsyncListTime.unescape(text[(index + 1)...]) else {
            throw RemoteListingError(line: line, reason: "bad \\#ooo escape", bytes: text)
        }
        try checkPath(path, line: line, record: text)
        var file = RemoteFile(path: path, size: size, mtime: mtime)
        if count == 6 {
            guard let atime = RsyncListTime.epochSeconds(date: fields[4], time: fields[5]) else {
                throw RemoteListingError(line: line, reason: "bad access date (want YYYY/MM/DD hh:mm:ss)", bytes: text)
            }
            file.ageTime = atime
        }
        return file
    }

    /// Refuses paths that could leave the destination folder: a hostile source could print `../x`.
    static func checkPath(_ path: [UInt8], line: Int, record: ArraySlice<UInt8>) throws {
        let slash = UInt8(ascii: "/")
        guard !path.isEmpty, path.first != slash, path.last != slash else {
            throw RemoteListingError(line: line, reason: "path is empty, absolute or ends in /", bytes: record)
        }
        for component in path.split(separator: slash, omittingEmptySubsequences: false) {
            if component.isEmpty || component.elementsEqual([0x2e]) || component.elementsEqual([0x2e, 0x2e]) {
                throw RemoteListingError(line: line, reason: "path has an empty, `.` or `..` component",
                                         bytes: record)
            }
        }
        if path.contains(0) {
            throw RemoteListingError(line: line, reason: "path contains NUL", bytes: record)
        }
    }

    static func headerLine(_ bytes: ArraySlice<UInt8>, line: Int, what: String)
        throws -> (ArraySlice<UInt8>, ArraySlice<UInt8>)
    {
        guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) else {
            throw RemoteListingError(line: line, reason: "missing \(what) (empty or cut-short output)",
                                     bytes: bytes)
        }
        return (bytes[bytes.startIndex..<newline], bytes[(newline + 1)...])
    }

    static func parseClock(_ text: ArraySlice<UInt8>, line: Int) throws -> Int64 {
        guard let now = parseSeconds(text) else {
            throw RemoteListingError(line: line, reason: "expected the source's clock as `date +%s`", bytes: text)
        }
        return now
    }

    /// Decimal integer with optional `-`, no overflow.
    static func parseInt(_ text: ArraySlice<UInt8>) -> Int64? {
        var digits = text
        var negative = false
        if digits.first == UInt8(ascii: "-") { negative = true; digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.count <= 19 else { return nil }
        var value: Int64 = 0
        for byte in digits {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(Int64(byte - 0x30))
            if o1 || o2 { return nil }
            value = sum
        }
        return negative ? -value : value
    }

    /// `1732612345.1234567890` → 1732612345; `-1.5` → -2 (floor, like `st_mtime` of a pre-1970 time).
    static func parseSeconds(_ text: ArraySlice<UInt8>) -> Int64? {
        guard let dot = text.firstIndex(of: UInt8(ascii: ".")) else { return parseInt(text) }
        let fraction = text[(dot + 1)...]
        guard !fraction.isEmpty, fraction.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let whole = parseInt(text[text.startIndex..<dot]) else { return nil }
        let negative = text.first == UInt8(ascii: "-")
        if negative && fraction.contains(where: { $0 != 0x30 }) { return whole - 1 }
        return whole
    }
}
