#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MediaSyncCore

/// Makes sure the library mediasync writes to is the library it wrote to before. The classic home-server
/// failure is a library drive that is not mounted: the library path is then an empty mount-point folder on
/// the system disk, every file looks "deleted by the user", new files fill the system disk, and a purge
/// would delete sources whose only copy vanishes under the mount once the drive is back.
///
/// mediasync marks its library with an identity (`<library>/.mediasync/library-id`, a random id) and keeps
/// the same id, the path and the device in the state directory (`<state_dir>/library-id`). Before a sync or a
/// purge touches the library:
/// - marker and record agree: go on (a changed device number is only noted: removable and FUSE file systems
///   get a new one at every mount, while the marker travels with the files);
/// - the record exists but the library has no marker, or another one, while the manifest says files are home:
///   refuse, naming the path and the likely cause;
/// - no record yet (a first run, or a state directory from before markers): mark the library, unless the
///   manifest says files are home and none of the last recorded ones is there (an unmounted drive again);
/// - a deliberate move of the library: `mediasync adopt-library` marks the new place with the old id.
///
/// ```swift
/// switch LibraryIdentity.check(library: config.library, stateDirectory: config.stateDirectory, manifest: store) {
/// case .ready(let note): if let note { log("info", note) }
/// case .refused(let reason): failEveryJob(reason)    // not a byte written
/// }
/// ```
public enum LibraryIdentity {
    public enum Verdict: Equatable, Sendable {
        /// The library is the right one; `note` says what was done (marked, device changed), if anything.
        case ready(note: String?)
        /// Not the library: nothing may be written to it or purged because of it.
        case refused(String)
    }

    static let markerName = ".mediasync/library-id"
    static let recordName = "library-id"

    public static func check(library: String, stateDirectory: String, manifest: ManifestStore) -> Verdict {
        let marker = readMarker(library)
        let record = Record.read(stateDirectory)
        let device = deviceOf(library)
        // A manifest that cannot be read proves nothing either way: nothing is written until it can be.
        guard let filesHome = try? manifest.count() else {
            return .refused("cannot read the manifest in \(stateDirectory) to check the library \(library); check that folder's disk and permissions")
        }
        let fix = "mount it and try again; if you moved the library on purpose, run `mediasync adopt-library` "
            + "(see docs/operations.md)"
        switch (record, marker) {
        case let (record?, marker?) where record.id == marker:
            if record.device != device || record.path != library {
                write(Record(id: record.id, path: library, device: device), stateDirectory)
                return .ready(note: "library \(library) found on device \(device) (was \(record.device) at \(record.path)); its marker matches")
            }
            return .ready(note: nil)
        case let (_, marker?) where record != nil && filesHome > 0:
            return .refused("library \(library) is another mediasync library (its marker says \(marker), this state directory "
                            + "\(stateDirectory) wrote to \(record!.id)); check `library:` and `state_dir:`, or run `mediasync adopt-library` to make it this one")
        case let (record?, nil) where filesHome > 0:
            let unmounted = isPlainFolderOnParentDevice(library) ? " (it sits on the same disk as its parent folder)" : ""
            return .refused("library \(library) is not the library mediasync wrote \(filesHome) files to: its marker "
                            + ".mediasync/library-id is missing\(unmounted). Most likely its drive is not mounted (last seen on "
                            + "device \(record.device)); \(fix)")
        case (nil, nil) where filesHome > 0 && !holdsRecentFiles(library, manifest):
            return .refused("library \(library) holds none of the last files the manifest says are home, and no mediasync "
                            + "marker. Most likely its drive is not mounted; \(fix)")
        default:
            // A first run, a state directory from before markers (the library holds what the manifest says), a
            // marker found by a new state directory, or an empty manifest: mark this library as ours.
            let id = marker ?? record?.id ?? UUID().uuidString.lowercased()
            do {
                try writeMarker(id, library)
            } catch {
                return .refused("cannot mark the library \(library) (\(error)); check that it is writable")
            }
            write(Record(id: id, path: library, device: device), stateDirectory)
            return .ready(note: marker == nil ? "marked \(library) as this mediasync library (\(markerName))" : nil)
        }
    }

    /// `mediasync adopt-library`: the library at `library` becomes this state directory's library (after a
    /// deliberate move), keeping the id. Returns what was done, for people.
    public static func adopt(library: String, stateDirectory: String) throws -> String {
        let record = Record.read(stateDirectory)
        let marker = readMarker(library)
        let id = record?.id ?? marker ?? UUID().uuidString.lowercased()
        try writeMarker(id, library)
        let device = deviceOf(library)
        write(Record(id: id, path: library, device: device), stateDirectory)
        return "library \(library) (device \(device)) is now this mediasync library (id \(id))"
            + (record.map { $0.path != library ? "; it was at \($0.path)" : "" } ?? "")
    }

    // MARK: files

    struct Record: Equatable {
        var id: String
        var path: String
        var device: String

        static func read(_ stateDirectory: String) -> Record? {
            guard let text = try? String(contentsOfFile: stateDirectory + "/" + recordName, encoding: .utf8) else { return nil }
            var fields: [String: String] = [:]
            for line in text.split(separator: "\n") {
                guard let space = line.firstIndex(of: " ") else { continue }
                fields[String(line[..<space])] = String(line[line.index(after: space)...])
            }
            guard let id = fields["id"], !id.isEmpty else { return nil }
            return Record(id: id, path: fields["path"] ?? "", device: fields["device"] ?? "")
        }
    }

    private static func write(_ record: Record, _ stateDirectory: String) {
        let text = "id \(record.id)\npath \(record.path)\ndevice \(record.device)\n"
        try? atomicWrite(text, to: stateDirectory + "/" + recordName)
    }

    private static func readMarker(_ library: String) -> String? {
        guard let text = try? String(contentsOfFile: library + "/" + markerName, encoding: .utf8) else { return nil }
        let id = text.split(separator: "\n").first.map { String($0.split(separator: " ").last ?? "") } ?? ""
        return id.isEmpty ? nil : id
    }

    private static func writeMarker(_ id: String, _ library: String) throws {
        try FileManager.default.createDirectory(atPath: library + "/.mediasync", withIntermediateDirectories: true)
        try atomicWrite("mediasync library \(id)\n", to: library + "/" + markerName)
    }

    /// Written to a temporary name, flushed, then renamed: a crash leaves the old file or the new one.
    private static func atomicWrite(_ text: String, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        let fd = open(temporary, O_RDONLY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw LibraryIdentityError(description: "cannot write \(path): \(reason)")
        }
    }

    // MARK: facts

    /// `major:minor` of the file system holding `path`.
    static func deviceOf(_ path: String) -> String {
        var st = stat()
        guard stat(path, &st) == 0 else { return "?" }
        return "\(major(st.st_dev)):\(minor(st.st_dev))"
    }

    /// The library folder is not a mount point: it lives on the same device as its parent folder.
    private static func isPlainFolderOnParentDevice(_ library: String) -> Bool {
        let parent = (library as NSString).deletingLastPathComponent
        return !parent.isEmpty && deviceOf(parent) == deviceOf(library)
    }

    /// Whether any of the last recorded files is in the library (a library from before markers).
    private static func holdsRecentFiles(_ library: String, _ manifest: ManifestStore) -> Bool {
        let recent = (try? manifest.recentLibraryPaths(limit: 50)) ?? []
        let root = Array(library.utf8)
        return recent.contains { LibraryPaths.exists(LibraryPaths.join(root, $0)) }
    }

    private static func major(_ device: UInt) -> UInt { ((device >> 8) & 0xfff) | ((device >> 32) & ~0xfff) }
    private static func minor(_ device: UInt) -> UInt { (device & 0xff) | ((device >> 12) & ~0xff) }
}

struct LibraryIdentityError: Error, CustomStringConvertible {
    let description: String
}
