import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MediaSyncCore

/// A staging folder that is not there (yet).
private struct StagingFolderMissing: Error {}

/// A job's files on disk: looking at a finished file (in staging, or at its library name when rsync placed it
/// there itself, `Placement.library`), moving it home, and what a placing stream leaves behind (what it
/// displaced, a killed rsync's temporary files). `JobRun` performs the machine's `checkStaged` and `moveHome`
/// with these.
extension JobRun {
    /// The staged file of `move`, by its name in its staging folder (held open while files keep coming from
    /// it); nil when that folder cannot be opened (rsync has not made it yet).
    func stagedFile(_ move: MoveHome) -> StagedFile? {
        let slash = UInt8(ascii: "/")
        let path = move.transfer.remotePath
        var start = path.startIndex
        while start < path.endIndex, path[start] == slash { start += 1 }
        let cut = path[start...].lastIndex(of: slash)
        let folder = path[start..<(cut ?? start)]
        let name = Array(path[(cut.map { $0 + 1 } ?? start)...])
        let root = stagingRoot, prefix = stagingPrefix
        let open = { () throws(StagingFolderMissing) -> Int32 in
            let shown = folder.isEmpty ? root : prefix + folder
            let fd = BytePathC.with(shown) { Glibc.open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
            guard fd >= 0 else { throw StagingFolderMissing() }
            return fd
        }
        guard let fd = try? stagingSubfolder.fd(for: folder, open: open), let held = stagingSubfolder.heldPath else { return nil }
        return held.isEmpty ? StagedFile(folder: fd, name: name, shownFolder: root)
            : StagedFile(folder: fd, name: name, shownFolder: held, shownPrefix: prefix)
    }

    /// `stagedFile(move)`, opening its folder again when the held one was removed since (a retry's staging
    /// made anew): asked only when the file was not found, so the usual path pays no extra call.
    func stagedFileAgain(_ move: MoveHome) -> StagedFile? {
        guard stagingSubfolder.isUnlinked else { return nil }
        stagingSubfolder.close()
        return stagedFile(move)
    }

    /// The file rsync placed at `move`'s library name (`Placement.library`), by its name in its library folder
    /// (held open while files keep coming to it); nil when that folder is not there (yet): a look makes no
    /// folder, so a file that never arrives leaves none behind.
    func placedFile(_ move: MoveHome) -> StagedFile? {
        let path = move.transfer.libraryPath
        let cut = path.lastIndex(of: UInt8(ascii: "/"))
        let folder = path[..<(cut ?? 0)]
        let writer = context.writer
        guard let fd = try? libraryFolder.fd(for: folder, open: { () throws(LibraryWriteError) -> Int32 in try writer.openFolder(Array(folder), create: false) }),
              let held = libraryFolder.heldPath
        else { return nil }
        return StagedFile(folder: fd, name: Array(path[(cut.map { $0 + 1 } ?? 0)...]), shownFolder: held, shownPrefix: libraryPrefixShown)
    }

    /// A placed file is home when it is as planned: nothing to move. One that is not, once its stream has
    /// exited, is what the source holds now (changed since the listing): it goes back out of the library into
    /// staging, where the staged way would have left it, and a later cycle takes it.
    func placedHome(_ move: MoveHome) -> MoveOutcome {
        let looked = checkedMove.map { $0.index == move.index && $0.child == move.child } ?? false
        checkedMove = nil
        let home = MoveOutcome.home(libraryPath: move.transfer.libraryPath, asideOf: nil)
        if looked && !move.final { return home }
        guard let placed = placedFile(move) else { return .notDelivered }
        guard let fact = placed.fact() else { return .notDelivered }
        if fact.size == move.transfer.size && context.writer.traits.sameMTime(fact.mtime, move.transfer.mtime) { return home }
        guard move.final else { return .notDelivered }
        let back = LibraryPaths.join(stagingRoot, move.transfer.remotePath)
        if let cut = back.lastIndex(of: UInt8(ascii: "/")) {
            try? FileManager.default.createDirectory(atPath: String(decoding: back[..<cut], as: UTF8.self),
                                                     withIntermediateDirectories: true)
        }
        let moved = BytePathC.with(placed.name) { from in BytePathC.with(back) { to in renameat(placed.folder, from, AT_FDCWD, to) } }
        guard moved == 0 else {
            return .refused("\(placed.shown) changed at the source during the sync and cannot be taken back out of the library: \(String(cString: strerror(errno)))")
        }
        return .changed
    }

    /// Removes rsync's temporary files of `files` (paths in the folder) from the library (`RsyncLeftovers`).
    func removeLeftovers(of files: [[UInt8]]) {
        let removed = RsyncLeftovers.remove(for: files.map { LibraryNaming.join(prefix: libraryPrefix, $0) },
                                            libraryRoot: context.config.library)
        if !removed.isEmpty {
            host.emit(.log(level: "info", message: "\(id): removed \(ViewFormat.count(removed.count, "unfinished rsync temporary file")) from the library",
                           cycle: context.cycleID, job: id.description))
        }
    }

    /// A placing stream ended: what it displaced goes back, what a kill left is removed, and once the job's
    /// last one ended the unfinished-run marker goes.
    func placingEnded(_ files: [[UInt8]], status: ChildExit) {
        restoreDisplaced()
        if status.signal != 0 || status.code != 0 { removeLeftovers(of: files) }
        placingStreams -= 1
        if placingStreams == 0 { unlink(context.placingFolder(for: job) + "/unfinished") }
    }

    /// Gives back to the library what rsync moved out of a placed file's way (`DisplacedFiles`), each with a
    /// warning that says where it is now.
    func restoreDisplaced() {
        let displaced = TransportCommands.displacedFolder(context.placingFolder(for: job))
        guard FileManager.default.fileExists(atPath: displaced) else { return }
        let (kept, failed) = DisplacedFiles.restore(from: Array(displaced.utf8), libraryPrefix: libraryPrefix,
                                                    writer: context.writer)
        for entry in kept {
            let text = "\(id): another program put \(String(decoding: entry.original, as: UTF8.self)) in the library during the sync; "
                + "the synced file took that name and the other is kept as \(String(decoding: entry.keptAs, as: UTF8.self))"
            host.emit(.log(level: "warning", message: text, cycle: context.cycleID, job: id.description))
        }
        for line in failed {
            host.emit(.log(level: "error", message: "\(id): \(line); it stays there", cycle: context.cycleID, job: id.description))
        }
    }

    /// Moves one staged file to its library name, never replacing a file there.
    func moveHome(_ move: MoveHome) -> MoveOutcome {
        if move.placement == .library { return placedHome(move) }
        // Looked at a moment ago, in this same turn of the loop (the machine answers a look with the move).
        let looked = checkedMove.flatMap { !move.final && $0.index == move.index && $0.child == move.child ? $0.staged : nil }
        checkedMove = nil
        let checked = looked != nil
        guard var staged = looked ?? stagedFile(move) else { return .notDelivered }
        if !checked, !staged.exists, let again = stagedFileAgain(move) { staged = again }
        let transfer = move.transfer
        do {
            let outcome = try context.writer.move(staged, to: transfer.libraryPath, size: transfer.size,
                                                  mtime: transfer.mtime, folders: libraryFolder, checked: checked)
            if case let .movedAside(path, planned) = outcome { return .home(libraryPath: path, asideOf: planned) }
            return .home(libraryPath: outcome.libraryPath, asideOf: nil)
        } catch {
            if case .stagedFileNotAsPlanned = error {
                return staged.exists ? .changed : .notDelivered
            }
            // Gone from staging between the look and the move (nothing of ours removes it): not delivered.
            if !staged.exists { return .notDelivered }
            return .refused(error.description)
        }
    }
}
