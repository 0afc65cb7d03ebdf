import ArgumentParser
import Foundation
import MediaSyncCore
import MediaSyncEngine

/// Set by the SIGINT and SIGTERM handler of `logs --follow`: the follow ends at its next wake-up, exit 0.

extension Logs {
    /// `logs --follow`: the recent entries, then each new one as it is written, until SIGINT or SIGTERM.
    ///
    /// Polls the log every `LogFollower.pollInterval` (why not inotify: see there). Each poll is one short read
    /// transaction, so following for days never holds back `serve`'s checkpoints. No log yet: it says so once
    /// and waits for one. A log replaced by a new file (deleted, then made again by the next `serve`) is
    /// followed from the new file's start; a deleted one is read on while no new file is there, since the
    /// daemon that had it open still writes to it.
    static func follow(path: String, query: LogQuery, json: Bool) throws {
        StopSignals.install()
        var announcedWait = false
        var firstQuery = query
        while stopRequested == 0 {
            guard let (store, identity) = try open(path: path, announcedWait: &announcedWait) else { return }
            let follower = LogFollower(store: store, query: firstQuery)
            guard write(try reading { try follower.start() }, json: json) else { return }
            // A replacement log is all new: every entry of it that matches is shown.
            firstQuery = follower.followQuery
            while stopRequested == 0 {
                let entries = try reading { try follower.next() }
                // stdout gone (`logs -f | head`): the reader has what it wanted.
                guard write(entries, json: json) else { return }
                if entries.count == 1000 { continue } // more are waiting: no pause
                if let now = fileIdentity(path), now != identity { break }
                guard pause() else { return }
            }
        }
    }

    /// Opens the log read-only, first waiting for it to exist (saying so once); nil when stopped meanwhile.
    private static func open(path: String, announcedWait: inout Bool) throws -> (LogStore, FileIdentity)? {
        var firstFailure: Date?
        while stopRequested == 0 {
            guard let identity = fileIdentity(path) else {
                if !announcedWait {
                    announcedWait = true
                    FileHandle.standardError.write(Data("mediasync: no log yet at \(path); waiting for `mediasync serve` or `mediasync sync` to write it (Ctrl-C stops)\n".utf8))
                }
                pause()
                continue
            }
            do {
                let store = try LogStore(path: path, readOnly: true)
                _ = try store.count() // a log made this instant may not have its table yet
                return (store, identity)
            } catch {
                // The writer makes the file, then its table, within milliseconds: retry for a while before
                // calling the file broken (unreadable, not a database).
                let first = firstFailure ?? Date()
                firstFailure = first
                if Date().timeIntervalSince(first) > 5 {
                    FileHandle.standardError.write(Data("mediasync: \(error)\n".utf8))
                    throw ExitCode(1)
                }
                pause()
            }
        }
        return nil
    }

    /// A read of the log; a failure is said on stderr and ends the command with status 1.
    private static func reading(_ body: () throws -> [LogEntry]) throws -> [LogEntry] {
        do {
            return try body()
        } catch {
            FileHandle.standardError.write(Data("mediasync: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// Which file the path names (device and inode); nil when there is none.
    private struct FileIdentity: Equatable {
        let device: UInt64
        let inode: UInt64
    }

    private static func fileIdentity(_ path: String) -> FileIdentity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// Sleeps one poll interval; a stop signal cuts it short. False when stdout is gone: `logs -f | head`
    /// ends once head has exited, not at the next entry (which may be hours away).
    @discardableResult
    private static func pause() -> Bool {
        // Asking for no events reports only errors: a pipe whose reader closed, a hung-up socket, a closed fd.
        // A terminal, a file or /dev/null never report one.
        var stdout = pollfd(fd: 1, events: 0, revents: 0)
        return poll(&stdout, 1, Int32(LogFollower.pollInterval * 1000)) <= 0 || stdout.revents == 0
    }

}
