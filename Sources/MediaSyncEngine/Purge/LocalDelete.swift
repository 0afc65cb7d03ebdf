import MediaSyncCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Set from the loop to stop work running on another thread at its next file.
final class StopFlag: Sendable {
    private let raised = Atomic<Bool>(false)
    func raise() { raised.store(true, ordering: .relaxed) }
    var isRaised: Bool { raised.load(ordering: .relaxed) }
}

/// `RemotePurgeScript`'s deletions for a folder on this machine (`SourceTransport.isOnThisMachine`), made in
/// this process with system calls instead of by `sh`, `xargs`, `stat`, `rm`, `date` and `mktemp`: the same
/// checks, the same answers (`RemotePurgeResult`, `.done` last), so `PurgeBatch` reads both alike.
///
/// - The folder path is entered following symlinks, as the script's `cd -P`; one that cannot be, is a failure
///   of the whole call (the script's exit 3), and nothing is deleted.
/// - Each sub-folder on a file's path is entered from the top without following a symlink: a symlink or a
///   non-folder on the way keeps all its files, `symlink_or_not_folder`.
/// - Each file is checked right before its own `unlinkat` (microseconds, where the script re-checks a chunk of
///   up to 1,000 names milliseconds before): a regular file, not a symlink, on the top folder's device, with
///   the planned size and whole-second mtime; else it stays, `symlink`, `missing`, `not_regular`,
///   `other_device` or `changed`. An unlink that fails leaves it, `rm_failed` (gone meanwhile counts as
///   deleted, as the script's `[ -e ]` after `rm` says).
/// - A sub-folder that lost files is removed when it is empty and its mtime before the first deletion was
///   older than the min age (`rmdir`), as the script does.
/// - A raised `stop` ends the call before its next unlink, without `.done`: the batch reads as cut short, and
///   its intent completes the audit next time, as for a killed script.
enum LocalDelete {
    /// Why the whole call failed, as the script's exit would have said it; nil when it ran (or was stopped).
    typealias Failure = String

    /// Deletes `records` below `folder` (a path as `SyncSource.path(of:)` gives it); `report` is called with
    /// the answers in blocks of about `blockSize`, in order.
    static func run(folder: String, minAgeSeconds: Int64, records: [RemotePurgeScript.Record], stop: StopFlag,
                    blockSize: Int = 1000, now: Int64 = Int64(time(nil)),
                    report: @escaping ([RemotePurgeResult]) -> Void) -> Failure? {
        let top = open(folder, openPathOnly | O_DIRECTORY | O_CLOEXEC)
        guard top >= 0 else { return "cannot enter \(folder): \(String(cString: strerror(errno)))" }
        defer { close(top) }
        var info = stat()
        guard fstat(top, &info) == 0 else { return "cannot read \(folder): \(String(cString: strerror(errno)))" }
        var call = Call(top: top, device: info.st_dev, limit: now - max(0, minAgeSeconds), stop: stop,
                        blockSize: blockSize, report: report)
        var bad: [[UInt8]] = []
        var good: [RemotePurgeScript.Record] = []
        for record in records {
            if RemotePurgeScript.isClean(record.path) { good.append(record) } else { bad.append(record.path) }
        }
        for path in bad { call.answer(RemotePurgeResult.kept(reason: "bad_path", path: path)) }
        good.sort { RemotePurgeScript.byFolderThenName($0.path, $1.path) }
        var start = 0
        while start < good.count, !stop.isRaised {
            var end = start + 1
            while end < good.count, RemotePurgeScript.sameFolder(good[end].path, good[start].path) { end += 1 }
            call.folder(good[start..<end])
            start = end
        }
        if !stop.isRaised { call.answer(RemotePurgeResult.done) }
        call.flush()
        return nil
    }

    private struct Call {
        let top: Int32
        let device: dev_t
        /// Emptied sub-folders older than this (seconds since the epoch) are removed.
        let limit: Int64
        let stop: StopFlag
        let blockSize: Int
        let report: ([RemotePurgeResult]) -> Void
        var block: [RemotePurgeResult] = []

        mutating func answer(_ result: RemotePurgeResult) {
            block.append(result)
            if block.count >= blockSize { flush() }
        }

        mutating func flush() {
            guard !block.isEmpty else { return }
            report(block)
            block.removeAll(keepingCapacity: true)
        }

        /// The records of one sub-folder (all with the same parent path).
        mutating func folder(_ records: ArraySlice<RemotePurgeScript.Record>) {
            let (dir, _) = RemotePurgeScript.split(records.first!.path)
            // The chain from the top, each component entered without following a symlink.
            var fds: [Int32] = []
            defer { for fd in fds { close(fd) } }
            var at = top
            if !dir.isEmpty {
                for component in dir.split(separator: UInt8(ascii: "/")) {
                    let fd = BytePathC.with(Array(component)) { openat(at, $0, openPathOnly | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
                    guard fd >= 0 else {
                        for record in records { answer(.kept(reason: "symlink_or_not_folder", path: record.path)) }
                        return
                    }
                    fds.append(fd)
                    at = fd
                }
            }
            var info = stat()
            let before: Int64? = fstat(at, &info) == 0 ? Int64(info.st_mtim.tv_sec) : nil
            var gone = false
            for record in records {
                guard !stop.isRaised else { return }
                let name = RemotePurgeScript.split(record.path).1
                let why: String? = BytePathC.with(name) { cName in
                    if let reason = keepReason(at, cName, record) { return reason }
                    if unlinkat(at, cName, 0) == 0 || errno == ENOENT { return nil }
                    return "rm_failed"
                }
                if let why {
                    answer(.kept(reason: why, path: record.path))
                } else {
                    answer(.deleted(path: record.path))
                    gone = true
                }
            }
            guard gone, !dir.isEmpty, let before, before <= limit else { return }
            let parent = fds.count >= 2 ? fds[fds.count - 2] : top
            let base = Array(dir.split(separator: UInt8(ascii: "/")).last!)
            if BytePathC.with(base, { unlinkat(parent, $0, AT_REMOVEDIR) }) == 0 { answer(.removedFolder(path: dir)) }
        }

        /// Why the file must stay, or nil when it is still the file the plan saw.
        private func keepReason(_ folder: Int32, _ name: UnsafePointer<CChar>, _ record: RemotePurgeScript.Record) -> String? {
            var info = stat()
            guard fstatat(folder, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return "missing" }
            switch info.st_mode & S_IFMT {
            case S_IFLNK: return "symlink"
            case S_IFREG: break
            default: return "not_regular"
            }
            if info.st_dev != device { return "other_device" }
            if Int64(info.st_size) != record.size || Int64(info.st_mtim.tv_sec) != record.mtime { return "changed" }
            return nil
        }
    }
}
