import Foundation
import UV
#if canImport(Glibc)
import Glibc
#endif

/// rsync processes an earlier mediasync left writing into this library.
///
/// mediasync's own rsync dies with it (`setpriv --pdeathsig`), but rsync forks its receiver, and the
/// receiver keeps going after its parent is gone: it writes out every file already in its socket buffers, a
/// few hundred small ones, for a second or more. A supervisor started again at once would race it: it plans
/// a name as free, the orphan then puts its copy there, and two copies of one file end up in the library
/// (`f1~2.png`). Under systemd the unit's cgroup is killed whole; by hand, after a SIGKILL or an OOM kill,
/// it is not. So before a cycle's jobs start, an rsync whose arguments name this library's staging or
/// placing folders is killed, and the cycle waits until it is gone. Those folders are mediasync's own
/// (`.mediasync/staging`, `--backup-dir=.mediasync/placing/...`). Left alone: any other program (a person's
/// shell in staging), and an rsync a live mediasync started (one of its ancestors runs mediasync): a second
/// mediasync on the same library is not one to fight.
enum OrphanedTransfers {
    /// The argument prefixes that mark a process as a transfer into `library` (as written and by its real
    /// path: a placing rsync names its folder by the real path).
    static func markers(library: String) -> [[UInt8]] {
        var roots = [library]
        if let real = realpath(library, nil) {
            let resolved = String(cString: real)
            free(real)
            if resolved != library { roots.append(resolved) }
        }
        return roots.flatMap { root in
            [root + "/.mediasync/staging/", "--backup-dir=" + root + "/.mediasync/placing/"].map { Array($0.utf8) }
        }
    }

    /// The rsync processes with an argument that starts with one of `markers` and no live mediasync (this one
    /// or another) among their ancestors. Only rsync: a person's shell or editor in the staging folder is not
    /// one of ours.
    static func find(markers: [[UInt8]]) -> [Int32] {
        let me = getpid()
        return ProcessTable.pids().filter { pid in
            guard pid != me else { return false }
            let arguments = ProcessTable.commandLine(of: pid)
            guard let program = arguments.first,
                  program.split(separator: UInt8(ascii: "/")).last.map(Array.init) == Array("rsync".utf8),
                  arguments.contains(where: { argument in markers.contains { argument.starts(with: $0) } })
            else { return false }
            return !hasMediasyncAncestor(pid)
        }
    }

    /// Kills `pids` and waits up to `timeout` seconds for them to be gone; returns those still there.
    static func stop(_ pids: [Int32], timeout: Double = 5) -> [Int32] {
        for pid in pids { kill(pid, SIGKILL) }
        let deadline = Date().addingTimeInterval(timeout)
        var left = pids
        while true {
            // A killed orphan is a zombie until init reaps it: gone for this purpose.
            left = left.filter { ProcessTable.status($0)?.isLive ?? false }
            if left.isEmpty || Date() >= deadline { return left }
            usleep(10_000)
        }
    }

    /// Whether a process up `pid`'s parent chain (below init) runs a mediasync binary (its executable's name
    /// starts with `mediasync`: the daemon, a one-shot sync, or the test runner that hosts one).
    static func hasMediasyncAncestor(_ pid: Int32) -> Bool {
        var current = ProcessTable.status(pid)?.parent
        var steps = 0
        while let ancestor = current, ancestor > 1, steps < 64 {
            if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(ancestor)/exe"),
               (exe as NSString).lastPathComponent.hasPrefix("mediasync") { return true }
            current = ProcessTable.status(ancestor)?.parent
            steps += 1
        }
        return false
    }
}
