/// Where a job's rsync streams write: into staging, each file then moved home by mediasync, or straight
/// into the library folder, rsync's own rename putting each finished file at its name.
///
/// Staging costs one more rename per file (17-20 us of kernel time on ext4 here, more than everything else
/// mediasync does for a small file), so a job places straight into the library when that keeps every
/// promise of the staged way:
/// - every file goes to its natural name, which the plan found free (a reused or renamed name needs the
///   move that refuses an existing name, so one such file sends the whole job through staging);
/// - the file system is one where a staged file is moved with `renameat2(RENAME_NOREPLACE)` and keeps mtimes
///   through a rename (ext4, xfs, btrfs, tmpfs), so it is case-sensitive and rsync's times hold;
/// - the plan met no symlink or other non-file on the library side (`libraryPlain`).
///
/// rsync then writes each file as its hidden temporary `.<name>.XXXXXX` beside the final name and renames it
/// when whole, so a partial file is never at a library name (a killed rsync's temporary file is removed by
/// the engine, `RsyncLeftovers`; an interrupted file is not kept for a resume, as staging's partial folder
/// does), and runs with `--backup --backup-dir=<placing>/displaced`: a file another
/// program puts at a planned name during the transfer is moved there instead of replaced, and mediasync gives
/// it back to the library beside ours (`~N`). That is the "checked rename" guarantee of exFAT in the table of
/// docs/architecture.md: only a file created at that very name between rsync's look and its rename could
/// be replaced.
///
/// ```swift
/// Placement.choose(plan.transfers, traits: traits, libraryPlain: true)   // .library on a first sync
/// ```
public enum Placement: String, Sendable, Equatable {
    /// rsync writes into `<library>/.mediasync/staging/<source>/<folder>/`; each file is moved home.
    case staging
    /// rsync writes into the library folder itself; each file is only looked at.
    case library

    public static func choose(_ transfers: [SyncPlan.Transfer], traits: LibraryTraits, libraryPlain: Bool) -> Placement {
        guard libraryPlain, traits.move == .renameNoReplace, traits.keepsTimes, !transfers.isEmpty,
              transfers.allSatisfy({ $0.reason == .new && $0.isNatural }) else { return .staging }
        return .library
    }
}
