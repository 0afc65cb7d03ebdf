import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A fresh folder under /tmp for one test; removed by `remove()`.
struct SyncTempDir {
    let path: String

    init() throws {
        var template = Array("/tmp/mediasync-sync-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SyncTestError("mkdtemp failed: errno \(errno)") }
        path = String(cString: made)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// `path` + "/" + relative, as raw bytes.
    func bytes(_ relative: [UInt8]) -> [UInt8] { Array(path.utf8) + [UInt8(ascii: "/")] + relative }

    /// Creates a regular file with a raw-byte name (parents too), `size` bytes, mtime `seconds.nanos`.
    func makeFile(_ relative: [UInt8], size: Int64, mtime: Int64, nanos: Int = 0) throws {
        let full = bytes(relative)
        var index = path.utf8.count + 1
        while let slash = full[index...].firstIndex(of: UInt8(ascii: "/")) {
            _ = withCString(Array(full[..<slash])) { mkdir($0, 0o755) }
            index = slash + 1
        }
        let fd = withCString(full) { open($0, O_CREAT | O_WRONLY | O_EXCL, 0o644) }
        guard fd >= 0 else { throw SyncTestError("open \(String(decoding: full, as: UTF8.self)): errno \(errno)") }
        defer { close(fd) }
        // Non-zero first byte, then a sparse tail: real content without writing megabytes.
        _ = write(fd, [UInt8(ascii: "x")], 1)
        guard ftruncate(fd, off_t(size)) == 0 else { throw SyncTestError("ftruncate: errno \(errno)") }
        var times = [timespec(tv_sec: time_t(mtime), tv_nsec: nanos), timespec(tv_sec: time_t(mtime), tv_nsec: nanos)]
        guard futimens(fd, &times) == 0 else { throw SyncTestError("futimens: errno \(errno)") }
    }

    private func withCString<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
        (bytes + [0]).withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { body($0) }
        }
    }

    /// Runs `call` with the NUL-terminated full path of `relative` (for symlink, mkfifo, ...).
    func withPath<R>(_ relative: [UInt8], _ call: (UnsafePointer<CChar>) -> R) -> R {
        withCString(bytes(relative)) { call($0) }
    }
}

struct SyncTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a real program, feeding `stdin`, and returns its stdout, stderr and exit status (at most 120 s).
func runProgram(_ executable: String, _ arguments: [String], stdin: [UInt8],
                environment: [String: String]? = nil) throws -> (stdout: [UInt8], stderr: String, status: Int32) {
    let out = try TestProcess.run([executable] + arguments, stdin: stdin, environment: environment)
    return (out.stdout, out.stderr, out.status)
}
