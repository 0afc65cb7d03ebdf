/// What the library's file system can do, probed once per library and cycle (see the engine's
/// `LibraryProbe`): how a finished file is moved home without ever replacing one, how fine the mtimes it
/// stores are, and which names it refuses. ext4, xfs and btrfs can do everything; exFAT and FAT (USB drives)
/// and some network file systems cannot, and the sync adapts instead of failing.
///
/// ```swift
/// let traits = LibraryTraits(fileSystem: "exfat (fuseblk)", move: .checkedRename, mtimeStep: 1, names: .fat)
/// traits.sameMTime(stagedMtime, planned)          // within the file system's step
/// traits.names.problem(libraryPath)                // "has `:`, which exfat cannot hold"
/// ```
public struct LibraryTraits: Sendable, Equatable {
    /// How a staged file becomes a library file without replacing what is there.
    public enum Move: String, Sendable {
        /// `renameat2(RENAME_NOREPLACE)`: atomic, refuses an existing name (ext4, xfs, btrfs, tmpfs).
        case renameNoReplace = "rename without replace"
        /// `link()` then `unlink()` of the staged name: atomic refusal too (file systems without the flag).
        case link = "link and unlink"
        /// Neither is offered (exFAT, FAT): the name is checked, then `rename()`. An existing file is never
        /// replaced; only a file another program creates at the same name in the microseconds between the
        /// check and the rename could be.
        case checkedRename = "checked rename"
    }

    /// For people: `ext4`, `exfat (fuseblk on /dev/sdb1)`, ...
    public var fileSystem: String
    public var move: Move
    /// The file system keeps mtimes in steps of this many seconds: 1 (or finer), 2 on FAT.
    public var mtimeStep: Int64
    public var names: NameRules
    /// The file system keeps a file's mtime through a rename. Debian's fusefat does not: a moment after a
    /// rename it stamps the current time over it. Then a staged file is judged by its size alone, and the
    /// library copy gets its time set again after the move.
    public var keepsTimes: Bool
    /// `chmod` works. fusefat answers ENOSYS, and rsync reports that for every file (exit 23): those
    /// complaints are harmless there.
    public var setsModes: Bool

    public init(fileSystem: String, move: Move, mtimeStep: Int64, names: NameRules, keepsTimes: Bool = true,
                setsModes: Bool = true) {
        self.fileSystem = fileSystem
        self.move = move
        self.mtimeStep = max(1, mtimeStep)
        self.names = names
        self.keepsTimes = keepsTimes
        self.setsModes = setsModes
    }

    /// A POSIX file system that can do everything (and what tests and unknown cases assume).
    public static let posix = LibraryTraits(fileSystem: "posix", move: .renameNoReplace, mtimeStep: 1, names: .posix)

    /// Whether rsync's complaint `text` is only that the library cannot take a file's permissions.
    public func isHarmless(_ text: String) -> Bool {
        !setsModes && text.contains("failed to set permissions on") && text.hasSuffix("Function not implemented (38)")
    }

    /// Whether a library mtime (whole seconds, as the file system gives it back) stands for the planned one.
    public func sameMTime(_ stored: Int64, _ planned: Int64) -> Bool {
        guard keepsTimes else { return true }
        let difference = stored > planned ? stored - planned : planned - stored
        return difference < mtimeStep
    }

    /// `ext4, no limits` or `fuseblk on /dev/sdb1: file times are kept in 2-second steps; names refused: ...`.
    public var summary: String {
        limits.isEmpty ? "\(fileSystem), no limits" : "\(fileSystem): " + limits.joined(separator: "; ")
    }

    /// What a person should know about this library, one line each; empty for a file system with no limits.
    public var limits: [String] {
        var lines: [String] = []
        switch move {
        case .renameNoReplace: break
        case .link: lines.append("no atomic no-replace rename: files are moved home with link and unlink")
        case .checkedRename: lines.append("no hard links and no atomic no-replace rename: files are moved home with a checked rename")
        }
        if !keepsTimes {
            lines.append("a rename loses a file's time: mediasync sets it again, and checks staged files by size only")
        } else if mtimeStep > 1 {
            lines.append("file times are kept in \(mtimeStep)-second steps")
        }
        if !setsModes { lines.append("no file permissions (rsync's complaints about them are ignored)") }
        if let refused = names.summary { lines.append("names refused: \(refused)") }
        return lines
    }
}

/// Which file names a library's file system refuses. FAT and exFAT refuse `: ? * " < > | \`, names that end
/// in a dot or a space, names longer than 255 UTF-16 units and bytes that are not UTF-8; POSIX file systems
/// refuse only names over 255 bytes. A file whose name cannot be stored is reported and left at the source
/// (never renamed behind the user's back), and the purge keeps it there (`not_synced`).
public struct NameRules: Sendable, Equatable {
    /// Bytes (ASCII) a name may not contain.
    public var forbidden: [UInt8]
    /// A name may not end in `.` or a space.
    public var noTrailingDotOrSpace: Bool
    /// Longest name, in bytes, or in UTF-16 units when `countsUTF16`.
    public var maxLength: Int
    public var countsUTF16: Bool
    /// Names must be valid UTF-8 (the file system stores Unicode).
    public var needsUTF8: Bool
    /// Only ASCII names (Debian's fusefat refuses any other character).
    public var asciiOnly: Bool

    public init(forbidden: [UInt8], noTrailingDotOrSpace: Bool, maxLength: Int, countsUTF16: Bool, needsUTF8: Bool,
                asciiOnly: Bool = false) {
        self.asciiOnly = asciiOnly
        self.forbidden = forbidden
        self.noTrailingDotOrSpace = noTrailingDotOrSpace
        self.maxLength = maxLength
        self.countsUTF16 = countsUTF16
        self.needsUTF8 = needsUTF8
    }

    public static let posix = NameRules(forbidden: [], noTrailingDotOrSpace: false, maxLength: 255, countsUTF16: false,
                                        needsUTF8: false)
    /// FAT32 and exFAT as Linux (vfat, exfat, and their FUSE drivers) present them.
    public static let fat = NameRules(forbidden: Array(#":?*"<>|\"#.utf8), noTrailingDotOrSpace: true, maxLength: 255,
                                      countsUTF16: true, needsUTF8: true)

    /// Why the file system cannot hold `path` (relative, `/`-separated), naming the part and the reason; nil
    /// when it can.
    public func problem(_ path: [UInt8]) -> String? {
        // Asked once per listed file: the parts are walked in place, and a name all ASCII (nearly every
        // generator's) is never decoded.
        var start = path.startIndex
        while start < path.endIndex {
            let end = path[start...].firstIndex(of: UInt8(ascii: "/")) ?? path.endIndex
            if end > start, let reason = problem(name: path[start..<end]) {
                return "`\(String(decoding: path[start..<end], as: UTF8.self))` \(reason)"
            }
            start = end + 1
        }
        return nil
    }

    func problem(name: ArraySlice<UInt8>) -> String? {
        if !forbidden.isEmpty, let bad = name.first(where: { forbidden.contains($0) }) {
            return "has `\(Character(Unicode.Scalar(bad)))`"
        }
        if noTrailingDotOrSpace, let last = name.last, last == UInt8(ascii: ".") || last == UInt8(ascii: " ") {
            return last == UInt8(ascii: ".") ? "ends in a dot" : "ends in a space"
        }
        // ASCII is valid UTF-8 and one UTF-16 unit a byte.
        let isASCII = !name.contains(where: { $0 >= 0x80 })
        if isASCII { return name.count > maxLength ? tooLong(name.count) : nil }
        let text = String(validating: name, as: UTF8.self)
        if needsUTF8, text == nil { return "is not valid UTF-8" }
        if asciiOnly { return "has characters other than ASCII" }
        let length = countsUTF16 ? (text?.utf16.count ?? name.count) : name.count
        return length > maxLength ? tooLong(length) : nil
    }

    private func tooLong(_ length: Int) -> String {
        "is \(length) \(countsUTF16 ? "characters (UTF-16 units)" : "bytes") long, more than \(maxLength)"
    }

    /// `: ? * " < > | \, a trailing dot or space, invalid UTF-8`, or nil when only the length is limited.
    public var summary: String? {
        var parts: [String] = []
        if !forbidden.isEmpty { parts.append(forbidden.map { String(Character(Unicode.Scalar($0))) }.joined(separator: " ")) }
        if noTrailingDotOrSpace { parts.append("a trailing dot or space") }
        if asciiOnly { parts.append("characters other than ASCII") } else if needsUTF8 { parts.append("bytes that are not UTF-8") }
        if parts.isEmpty && maxLength == 255 && !countsUTF16 { return nil }
        parts.append("over \(maxLength) \(countsUTF16 ? "UTF-16 units" : "bytes")")
        return parts.joined(separator: ", ")
    }
}
