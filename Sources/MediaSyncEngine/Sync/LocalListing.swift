import Foundation
import MediaSyncCore
import UV
#if canImport(Glibc)
import Glibc
#endif

/// What a listing on another thread tells the loop: it is still walking, or its result.
enum LocalListingNews: Sendable {
    case alive
    case done(LocalListing.Result)
}

/// `RemoteListScript`'s listing of a folder on this machine (`SourceTransport.isOnThisMachine`), made in this
/// process instead of by `sh`, `tr`, `date` and `find`: the same files, the same exit codes and the same
/// complaints, so the job machine judges both alike.
///
/// - The root is entered following symlinks, with search permission alone (`cd`): it cannot be, exit 3. A
///   folder that is not there at all (not even a dangling symlink) is `absent`; one that is there but cannot be
///   entered, exit 5; one that can be entered but not read, find's `find: '.': Permission denied`, exit 1.
/// - Below the folder, what `find . -type f` lists: regular files, symlinks not followed, sub-folders walked,
///   hidden names included; each with its size and its mtime's whole seconds.
/// - An entry gone between the folder's read and its stat is find's `No such file or directory`; a sub-folder
///   that cannot be read is find's complaint with its reason: both exit 1, as find does (`VanishedFiles`).
///
/// Why: find's own walk is most of a listing's cost, and a local one paid for five processes besides (setpriv,
/// sh, tr, date, find) and for the records' trip through a pipe and a parser on the loop. This runs on another
/// thread; the loop only takes the result.
enum LocalListing {
    struct Result: Sendable {
        /// The files, or `absent`; nil when the folder could not be listed (code 3, 5, or 1 when it cannot be read).
        var listing: RemoteListing?
        /// What find or the shell would have said, one line each.
        var complaints: [String] = []
        /// The script's exit code.
        var code: Int32
    }

    /// `alive` is called at most every `aliveEvery` seconds while the walk goes on (the job's stall watchdog hears
    /// of it, as it hears a child's output).
    static func list(root: String, folder: String, aliveEvery: Double = 0.5, alive: () -> Void = {}) -> Result {
        // As the script's `cd`: entering a folder takes search permission only (an O_PATH descriptor), and a
        // folder this user may read but not enter cannot be entered. Reading is find's part.
        let rootFD = access(root, X_OK) == 0 ? open(root, openPathOnly | O_DIRECTORY | O_CLOEXEC) : -1
        guard rootFD >= 0 else {
            return Result(listing: nil, complaints: ["sh: cd: can't cd to \(root): \(String(cString: strerror(errno)))"], code: 3)
        }
        defer { close(rootFD) }
        let now = Int64(time(nil))
        let entered = folder.isEmpty ? "." : folder
        if !folder.isEmpty {
            var info = stat()
            guard fstatat(rootFD, folder, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                return Result(listing: RemoteListing(now: now, files: [], format: .absent), code: 0)
            }
            let enterable = faccessat(rootFD, folder, X_OK, 0) == 0 && fstatat(rootFD, folder, &info, 0) == 0
            guard enterable, info.st_mode & S_IFMT == S_IFDIR else {
                let reason = enterable ? ENOTDIR : errno
                return Result(listing: nil, complaints: ["sh: cd: can't cd to \(folder): \(String(cString: strerror(reason)))"], code: 5)
            }
        }
        // Entered; a folder that cannot be read is find's complaint about `.`, as the script's listing said.
        let top = openat(rootFD, entered, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard top >= 0 else { return Result(listing: nil, complaints: [complaint([], errno)], code: 1) }
        var walk = Walk()
        walk.run(top: top, aliveEvery: aliveEvery, alive: alive)
        return Result(listing: RemoteListing(now: now, files: RemoteListingParser.sortedByPath(walk.files), format: .find), complaints: walk.complaints,
                      code: walk.complaints.isEmpty ? 0 : 1)
    }

    /// find's words for an entry it could not read (`find: './x': No such file or directory`), which
    /// `VanishedFiles` reads: ENOENT is a file that vanished, anything else a failure.
    static func complaint(_ path: [UInt8], _ code: Int32) -> String {
        let shown = path.isEmpty ? "." : "./" + String(decoding: path, as: UTF8.self)
        return "find: '\(shown)': \(String(cString: strerror(code)))"
    }

    /// Depth first with a stack of open folders (a deep tree does not grow the thread's stack).
    private struct Walk {
        var files: [RemoteFile] = []
        var complaints: [String] = []

        private struct Folder {
            let stream: OpaquePointer
            let fd: Int32
            /// The folder's path below the top, ending in `/` (empty for the top).
            let prefix: [UInt8]
        }

        /// Takes `top` over (closed at the end).
        mutating func run(top fd: Int32, aliveEvery: Double, alive: () -> Void) {
            guard let stream = fdopendir(fd) else {
                let code = errno
                close(fd)
                complain([], code)
                return
            }
            var stack = [Folder(stream: stream, fd: fd, prefix: [])]
            var told = Self.seconds()
            while let folder = stack.last {
                let now = Self.seconds()
                if now - told >= aliveEvery {
                    told = now
                    alive()
                }
                errno = 0
                guard let entry = readdir(folder.stream) else {
                    if errno != 0 { complain(Array(folder.prefix.dropLast()), errno) }
                    closedir(folder.stream)
                    stack.removeLast()
                    continue
                }
                if DirectoryEntry.isDotOrDotDot(entry) { continue }
                let namePointer = DirectoryEntry.namePointer(entry)
                let name = UnsafeRawBufferPointer(start: namePointer, count: strlen(namePointer))
                let path = folder.prefix + name
                var type = Int(entry.pointee.d_type)
                var info = stat()
                var stated = false
                if type == DT_UNKNOWN || type == DT_REG {
                    guard fstatat(folder.fd, namePointer, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                        complain(path, errno)
                        continue
                    }
                    stated = true
                    let kind = info.st_mode & S_IFMT
                    type = kind == S_IFREG ? DT_REG : kind == S_IFDIR ? DT_DIR : DT_UNKNOWN
                }
                if type == DT_REG, stated {
                    files.append(RemoteFile(path: path, size: Int64(info.st_size), mtime: Int64(info.st_mtim.tv_sec)))
                } else if type == DT_DIR {
                    let child = openat(folder.fd, namePointer, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    guard child >= 0, let stream = fdopendir(child) else {
                        let code = errno
                        if child >= 0 { close(child) }
                        complain(path, code)
                        continue
                    }
                    stack.append(Folder(stream: stream, fd: child, prefix: path + [0x2F]))
                }
            }
        }

        /// The coarse monotonic clock (a few ns a call: read once per entry).
        private static func seconds() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_MONOTONIC_COARSE, &t)
            return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
        }

        private mutating func complain(_ path: [UInt8], _ code: Int32) {
            complaints.append(LocalListing.complaint(path, code))
        }
    }
}
