#if canImport(Glibc)
import Glibc
#endif

/// Why a staged file could not be put into the library; every case names the path at fault.
public enum LibraryWriteError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The staged file is missing, not a regular file, or not the size and mtime the plan expects. The
    /// transfer did not deliver what was listed: retry the job. The staged file is left where it is.
    case stagedFileNotAsPlanned(path: String, problem: String)
    /// The library's file system is out of space (or quota).
    case diskFull(path: String)
    /// The staging folder is on another file system than the library, so nothing can be moved atomically.
    case crossDevice(staged: String, library: String)
    /// The planned library path is absolute or has an empty, `.` or `..` component.
    case unsafeLibraryPath(path: String)
    /// A folder on the way to the file exists but is not a plain folder (a file, or a symlink).
    case notAFolder(path: String)
    /// Every `~N` name up to the limit is taken.
    case noFreeName(path: String)
    /// Any other system error.
    case system(operation: String, path: String, errno: Int32)

    /// True when retrying the job (a new transfer) can cure it.
    public var retryable: Bool {
        if case .stagedFileNotAsPlanned = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case let .stagedFileNotAsPlanned(path, problem):
            "staged file \(path) \(problem); it was left in staging and the job will fetch it again"
        case let .diskFull(path):
            "library disk full at \(path): free some space on that disk; nothing was overwritten"
        case let .crossDevice(staged, library):
            "cannot move \(staged) to \(library): the staging folder must be on the same disk as the library"
        case let .unsafeLibraryPath(path):
            "refusing library path \(path): it must be relative with no empty, '.' or '..' parts"
        case let .notAFolder(path):
            "\(path) is in the way of a library folder: it is a file or a symlink, not a folder; move it aside"
        case let .noFreeName(path):
            "no free name for \(path): every ~N alternative is taken; look at that library folder"
        case let .system(operation, path, code):
            "\(operation) \(path): \(String(cString: strerror(code)))"
        }
    }

    static func from(errno code: Int32, operation: String, path: String) -> LibraryWriteError {
        switch code {
        case ENOSPC, EDQUOT: .diskFull(path: path)
        default: .system(operation: operation, path: path, errno: code)
        }
    }
}
