/// What one job's cycle will do, decided from a listing and the manifest without any I/O.
///
/// ```swift
/// let plan = SyncPlan.make(listing: listing, settleSeconds: 30, manifest: store.rows(...),
///                          destinationPrefix: Array("forge/txt2img".utf8), refetch: false,
///                          libraryFile: { path in stat(libraryRoot + path) })
/// ```
public struct SyncPlan: Equatable, Sendable {
    /// A file to fetch and where it lands in the library.
    public struct Transfer: Equatable, Sendable {
        public enum Reason: Equatable, Sendable {
            /// Never seen before.
            case new
            /// The remote path is in the manifest with another size or mtime: a reused name.
            case nameReused
            /// Already brought home once, deleted from the library by the user, fetched again on `refetch`.
            case refetch
        }
        public var remotePath: [UInt8]
        /// `<dest>/<folder>`, shared by every transfer of a plan (one buffer, not one per file).
        public private(set) var prefix: [UInt8]
        /// The library path when it is not the natural `<prefix>/<remote path>` (nil for nearly every file:
        /// a first sync of 200,000 files would otherwise hold 200,000 more paths).
        private var otherLibraryPath: [UInt8]?
        /// Relative to the library root; never an existing file.
        public var libraryPath: [UInt8] {
            get { otherLibraryPath ?? LibraryNaming.join(prefix: prefix, remotePath) }
            set { otherLibraryPath = newValue }
        }
        public var size: Int64
        public var mtime: Int64
        public var reason: Reason
        /// The name the file would have had (`<dest>/<folder>/<remote path>`) when it got another one.
        public var renamedFrom: [UInt8]?

        public init(remotePath: [UInt8], libraryPath: [UInt8], size: Int64, mtime: Int64, reason: Reason,
                    renamedFrom: [UInt8]? = nil) {
            self.remotePath = remotePath
            self.prefix = []
            self.otherLibraryPath = libraryPath
            self.size = size
            self.mtime = mtime
            self.reason = reason
            self.renamedFrom = renamedFrom
        }

        /// A transfer to the natural name `<prefix>/<remote path>`, which it does not store.
        public init(remotePath: [UInt8], naturalUnder prefix: [UInt8], size: Int64, mtime: Int64, reason: Reason) {
            self.remotePath = remotePath
            self.prefix = prefix
            self.otherLibraryPath = nil
            self.size = size
            self.mtime = mtime
            self.reason = reason
            self.renamedFrom = nil
        }

        /// True when it goes to its natural name `<prefix>/<remote path>`.
        public var isNatural: Bool { otherLibraryPath == nil && renamedFrom == nil }

        public static func == (a: Transfer, b: Transfer) -> Bool {
            a.remotePath == b.remotePath && a.size == b.size && a.mtime == b.mtime && a.reason == b.reason
                && a.renamedFrom == b.renamedFrom && a.libraryPath == b.libraryPath
        }

        /// The manifest row to record once the file is home for good.
        public func manifestRow(source: String, folder: String, syncedAt: Int64) -> ManifestRow {
            ManifestRow(source: source, folder: folder, remotePath: remotePath, size: size, mtime: mtime,
                        libraryPath: libraryPath, syncedAt: syncedAt)
        }
    }

    /// A file left for a later cycle (becomes a `file_deferred` event).
    public struct Deferred: Equatable, Sendable {
        public enum Reason: String, Sendable {
            /// Younger than `settle` by the source's clock: it may still be being written.
            case settling
            /// mtime ahead of the source's own clock: something is still touching it, or its clock jumped.
            case mtimeInFuture = "mtime_in_future"
            /// Every `~N` name up to the limit is taken; the library folder needs a look.
            case noFreeLibraryName = "no_free_library_name"
            /// The library's file system cannot hold the name (FAT and exFAT refuse `:` `?` `*`...); `detail`
            /// says which part and why. It stays at the source, and the purge keeps it there.
            case nameNotAllowed = "name_not_allowed"
        }
        public var remotePath: [UInt8]
        public var reason: Reason
        /// The source's `now` minus the file's mtime (negative for `mtimeInFuture`).
        public var ageSeconds: Int64
        /// What a person needs to know beyond the reason, e.g. "`a:b.png` has `:`".
        public var detail: String?

        public init(remotePath: [UInt8], reason: Reason, ageSeconds: Int64, detail: String? = nil) {
            self.detail = detail
            self.remotePath = remotePath
            self.reason = reason
            self.ageSeconds = ageSeconds
        }
    }

    public var transfers: [Transfer] = []
    public var deferred: [Deferred] = []
    /// Files already home: in the manifest with the same size and mtime. Whether the library still holds them
    /// is not asked (a file the user deleted from the library is not fetched again), except by `--refetch`.
    public var skippedHome = 0
    /// Files not in the manifest whose natural library name already holds a file of the same size and
    /// mtime (e.g. brought home before a crash kept the manifest row from being written): record only.
    public var adopted: [Transfer] = []
    /// Sum of `transfers` sizes: the cycle's byte total, known before any transfer starts.
    public var totalBytes: Int64 = 0
    /// False when the library side held something other than files and folders where the plan looked (a
    /// symlink, a folder at a file's name): the job then goes through staging (`Placement`). The engine
    /// sets it from its lookups.
    public var libraryPlain = true

    public init() {}
}

/// A library file's size and mtime, as the planner needs to know it.
public struct LibraryFileFact: Hashable, Sendable {
    public var size: Int64
    public var mtime: Int64
    public init(size: Int64, mtime: Int64) {
        self.size = size
        self.mtime = mtime
    }
}

extension SyncPlan {
    /// Plans one job.
    /// - Parameters:
    ///   - listing: the folder's files and the source's clock.
    ///   - settleSeconds: files younger than this by the source's clock wait for a later cycle.
    ///   - manifest: this job's manifest rows.
    ///   - destinationPrefix: the library-relative folder `<dest>/<folder>`.
    ///   - refetch: fetch again files the user deleted from the library.
    ///   - libraryFile: what is on disk at a library-relative path (nil when nothing).
    ///   - isReserved: other names that must not be used (e.g. other jobs' manifest rows).
    ///   - traits: what the library's file system keeps of mtimes and which names it refuses.
    public static func make(listing: RemoteListing, settleSeconds: Int64, manifest: [ManifestRow],
                            destinationPrefix: [UInt8], refetch: Bool,
                            libraryFile: ([UInt8]) -> LibraryFileFact?,
                            isReserved: ([UInt8]) -> Bool = { _ in false },
                            traits: LibraryTraits = .posix) -> SyncPlan {
        make(listing: listing, settleSeconds: settleSeconds,
             manifest: ManifestIndex(prefix: destinationPrefix, rows: manifest), refetch: refetch,
             libraryFile: libraryFile, isReserved: isReserved, traits: traits)
    }

    /// The same, with the job's rows already in a `ManifestIndex` (what the engine loads, compactly).
    public static func make(listing: RemoteListing, settleSeconds: Int64, manifest: ManifestIndex, refetch: Bool,
                            libraryFile: ([UInt8]) -> LibraryFileFact?,
                            isReserved: ([UInt8]) -> Bool = { _ in false },
                            traits: LibraryTraits = .posix) -> SyncPlan {
        var plan = SyncPlan()
        let destinationPrefix = manifest.prefix
        // Library names claimed by this plan; those of the manifest's rows are `manifest.isTaken`.
        // Natural names are claimed by their remote path, which the transfer holds anyway.
        var claimed = Set<PathKey>()
        var claimedNatural = Set<PathKey>()
        func taken(_ path: [UInt8]) -> Bool {
            if claimed.contains(PathKey(path)) || manifest.isTaken(path) { return true }
            guard let remote = LibraryNaming.remotePath(of: path, under: destinationPrefix) else { return false }
            return claimedNatural.contains(PathKey(remote))
        }
        // Natural names are claimed first, renames second: a remote file literally named `a~2.png` keeps
        // its own name rather than losing it to a rename of `a.png` that sorts before it.
        var needsNewName: [(RemoteFile, Transfer.Reason)] = []
        // The parser hands the listing over sorted; a listing from elsewhere is sorted here.
        let files = listing.files.isSortedByPath ? listing.files : listing.files.sorted(by: { PathBytes.precedes($0.path, $1.path) })
        for file in files {
            if let home = manifest.home(of: file) {
                // Only `--refetch` looks at the library for it: without it a file home is never fetched again
                // (the user may have deleted it on purpose), and a look at every one was a third of a no-change
                // cycle's own CPU (20,000 `fstatat`), and a seek each on a cold disk.
                if refetch, libraryFile(home) == nil {
                    plan.add(Transfer(remotePath: file.path, libraryPath: home, size: file.size,
                                      mtime: file.mtime, reason: .refetch, renamedFrom: nil))
                    claimed.insert(PathKey(home))
                } else {
                    plan.skippedHome += 1
                }
                continue
            }
            let age = listing.now - file.mtime
            if age < 0 || age < settleSeconds {
                plan.deferred.append(Deferred(remotePath: file.path, reason: age < 0 ? .mtimeInFuture : .settling,
                                              ageSeconds: age))
                continue
            }
            let natural = LibraryNaming.join(prefix: destinationPrefix, file.path)
            if let problem = traits.names.problem(natural) {
                plan.deferred.append(Deferred(remotePath: file.path, reason: .nameNotAllowed, ageSeconds: age,
                                              detail: "\(problem), which the library's file system (\(traits.fileSystem)) cannot hold"))
                continue
            }
            if manifest.knows(file.path) {
                needsNewName.append((file, .nameReused))
                continue
            }
            let onDisk = libraryFile(natural)
            let transfer = Transfer(remotePath: file.path, naturalUnder: destinationPrefix, size: file.size,
                                    mtime: file.mtime, reason: .new)
            if let onDisk, onDisk.size == file.size, traits.sameMTime(onDisk.mtime, file.mtime), !taken(natural),
               !isReserved(natural) {
                plan.adopted.append(transfer)
                claimedNatural.insert(PathKey(file.path))
            } else if onDisk == nil, !taken(natural), !isReserved(natural) {
                plan.add(transfer)
                claimedNatural.insert(PathKey(file.path))
            } else {
                needsNewName.append((file, .new))
            }
        }
        for (file, reason) in needsNewName {
            let natural = LibraryNaming.join(prefix: destinationPrefix, file.path)
            let free = LibraryNaming.firstFree(natural) { candidate in
                taken(candidate) || isReserved(candidate) || libraryFile(candidate) != nil
            }
            guard let name = free else {
                plan.deferred.append(Deferred(remotePath: file.path, reason: .noFreeLibraryName,
                                              ageSeconds: listing.now - file.mtime))
                continue
            }
            claimed.insert(PathKey(name))
            plan.add(Transfer(remotePath: file.path, libraryPath: name, size: file.size, mtime: file.mtime,
                              reason: reason, renamedFrom: natural))
        }
        return plan
    }

    private mutating func add(_ transfer: Transfer) {
        transfers.append(transfer)
        totalBytes += transfer.size
    }
}
