/// One result line of `RemotePurgeScript` (or of `RemoteChecksumScript`).
public enum RemotePurgeResult: Sendable, Equatable {
    /// The file is gone.
    case deleted(path: [UInt8])
    /// The script left the file alone: `symlink`, `symlink_or_not_folder`, `missing`, `not_regular`,
    /// `changed`, `other_device`, `bad_path`, `bad_record`, `rm_failed` or `error`.
    case kept(reason: String, path: [UInt8])
    /// An emptied parent folder was removed.
    case removedFolder(path: [UInt8])
    /// A checksum: lower-case hex SHA-256 of the file, or nil when it could not be computed.
    case checksum(path: [UInt8], sha256: String?)
    /// The script reached its end (a cut-short output lacks it).
    case done

    /// The `file_kept` reason the engine reports for a script-side keep.
    public static func keepReason(forScriptReason reason: String) -> PurgeKeepReason {
        switch reason {
        case "missing", "changed", "not_regular": .changed
        default: .error
        }
    }
}

/// Splits the scripts' NUL-terminated output into results as the bytes arrive, so each deletion can be
/// written to the audit the moment the source reports it.
public struct RemotePurgeOutput: Sendable {
    private var pending: [UInt8] = []
    private let checksums: Bool
    /// Records that did not parse, made printable: a sign of a broken or foreign script.
    public private(set) var garbage: [String] = []

    /// `checksums`: parse `RemoteChecksumScript` output instead of `RemotePurgeScript` output.
    public init(checksums: Bool = false) {
        self.checksums = checksums
    }

    /// Feeds bytes; calls `handle` for every complete record.
    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes, _ handle: (RemotePurgeResult) -> Void)
        where Bytes.Element == UInt8
    {
        for byte in bytes {
            if byte != 0 { pending.append(byte); continue }
            let record = pending
            pending.removeAll(keepingCapacity: true)
            if let result = parse(record) { handle(result) } else {
                garbage.append(RemoteListingError.printable(record[...].prefix(120)))
            }
        }
    }

    /// True when bytes after the last NUL were left over (the output was cut short).
    public var hasPartialRecord: Bool { !pending.isEmpty }

    private func parse(_ record: [UInt8]) -> RemotePurgeResult? {
        if record == Array("done".utf8) { return .done }
        guard let space = record.firstIndex(of: UInt8(ascii: " ")) else { return nil }
        let word = String(decoding: record[..<space], as: UTF8.self)
        let rest = Array(record[(space + 1)...])
        if checksums {
            if word == "error" { return .checksum(path: rest, sha256: nil) }
            guard word.utf8.count == 64, word.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
            else { return nil }
            return .checksum(path: rest, sha256: word)
        }
        switch word {
        case "deleted": return .deleted(path: rest)
        case "rmdir": return .removedFolder(path: rest)
        case "kept":
            guard let second = rest.firstIndex(of: UInt8(ascii: " ")) else { return nil }
            return .kept(reason: String(decoding: rest[..<second], as: UTF8.self), path: Array(rest[(second + 1)...]))
        default: return nil
        }
    }
}
