import Foundation
import MediaSyncCore

/// The batch a purge is about to hand to the source, written (and fsynced) before the delete script starts
/// and removed once every record of it was answered. The script deletes a file before it reports it, so a
/// mediasync killed in between leaves a file gone with no audit row; the next purge of that folder finds
/// the intent, sees which of its files are gone from the fresh listing, and records those in the audit.
///
/// File: `<state_dir>/purge-intent/<source>-<hash of the folder>`; one record per line:
/// `<size> <mtime> <hex path> <hex library path>`.
struct PurgeIntent {
    let file: String

    init(stateDirectory: String, job: SyncJob) {
        // FNV-1a of the folder: any folder name fits in one short file name.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in job.folder.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        file = stateDirectory + "/purge-intent/" + job.source.name + "-" + String(hash, radix: 16)
    }

    /// Durable before it returns: the folder entry and the bytes both reach the disk.
    func write(_ batch: [PurgePlan.Deletion]) throws {
        let folder = (file as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        var bytes: [UInt8] = []
        bytes.reserveCapacity(batch.count * 96)
        for d in batch {
            bytes += "\(d.size) \(d.mtime) ".utf8
            Self.appendHex(d.path, to: &bytes)
            bytes.append(0x20)
            Self.appendHex(d.libraryPath, to: &bytes)
            bytes.append(0x0A)
        }
        let temp = file + ".tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw PurgeIntentError(text: "cannot write \(temp): \(String(cString: strerror(errno)))") }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                close(fd)
                throw PurgeIntentError(text: "cannot write \(temp): \(String(cString: strerror(errno)))")
            }
            offset += n
        }
        let synced = fsync(fd) == 0
        close(fd)
        guard synced, rename(temp, file) == 0 else {
            throw PurgeIntentError(text: "cannot write \(file): \(String(cString: strerror(errno)))")
        }
        let dir = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 { fsync(dir); close(dir) }
    }

    func remove() { unlink(file) }

    /// The records of an interrupted batch, or [] when there is none.
    func read() -> [PurgePlan.Deletion] {
        guard let data = FileManager.default.contents(atPath: file) else { return [] }
        var records: [PurgePlan.Deletion] = []
        for line in data.split(separator: 0x0A) {
            let fields = line.split(separator: 0x20)
            guard fields.count == 4, let size = Int64(String(decoding: fields[0], as: UTF8.self)),
                  let mtime = Int64(String(decoding: fields[1], as: UTF8.self)),
                  let path = Self.unhex(fields[2]), let library = Self.unhex(fields[3]) else { continue }
            records.append(PurgePlan.Deletion(path: path, size: size, mtime: mtime, libraryPath: library, ageSeconds: 0))
        }
        return records
    }

    /// Appends `bytes` as lower-case hex (in place: one intent line per file of a batch of 5,000).
    static func appendHex(_ bytes: [UInt8], to out: inout [UInt8]) {
        for b in bytes {
            let high = b >> 4, low = b & 15
            out.append(high < 10 ? 0x30 + high : 0x57 + high)
            out.append(low < 10 ? 0x30 + low : 0x57 + low)
        }
    }

    static func unhex<C: Collection>(_ text: C) -> [UInt8]? where C.Element == UInt8 {
        guard text.count % 2 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        var high: UInt8?
        for c in text {
            guard let v = value(c) else { return nil }
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        return out
    }
}

struct PurgeIntentError: Error, CustomStringConvertible {
    let text: String
    var description: String { text }
}
