#if canImport(Glibc)
import Glibc
#endif

/// Why a file stays on its source; the raw value is the `reason` of a `file_kept` event.
public enum PurgeKeepReason: String, Sendable, CaseIterable {
    case tooYoung = "too_young"
    case notSynced = "not_synced"
    case changed
    case libraryMissing = "library_missing"
    case libraryDiffers = "library_differs"
    case protected
    case notCommitted = "not_committed"
    case clockSkew = "clock_skew"
    /// `purge.age_by: created` and the source reported no birth time for it: its age is unknown, never guessed.
    case noBirthTime = "no_birth_time"
    case error

    /// Reasons that mean the library copy is not what it should be: the user must hear about them.
    public var isWarning: Bool { self == .libraryMissing || self == .libraryDiffers }
}

/// What the library holds at a manifest row's library path, as far as the purge checks it.
public struct PurgeLibraryFact: Sendable, Equatable {
    public var size: Int64
    /// Lower-case hex SHA-256, filled only when `verify: checksum` asked for it.
    public var sha256: String?

    public init(size: Int64, sha256: String? = nil) {
        self.size = size
        self.sha256 = sha256
    }
}

/// The purge's decision for one folder: which files go (with the size and mtime they must still have
/// right before deletion) and which stay, and why. Pure: every fact comes in through the arguments.
///
/// ```swift
/// let plan = PurgePlan.make(listing: listing, manifest: rows, hostNow: now, minAgeSeconds: 86_400,
///                           protect: ["keep/*"], libraryFile: { libraryPath, _ in fact(libraryPath) },
///                           isCommitted: nil)
/// ```
public struct PurgePlan: Sendable, Equatable {
    /// A file that may be deleted, if it is still exactly this file when the source looks again.
    public struct Deletion: Sendable, Equatable {
        public var path: [UInt8]
        public var size: Int64
        public var mtime: Int64
        /// `<dest>/<folder>`, shared by every deletion of a plan.
        public private(set) var prefix: [UInt8]
        /// The library path when it is not the natural `<prefix>/<path>` (nil for nearly every file).
        private var otherLibraryPath: [UInt8]?
        /// Library path (relative to the library root) of its copy, for the audit.
        public var libraryPath: [UInt8] {
            get { otherLibraryPath ?? LibraryNaming.join(prefix: prefix, path) }
            set { otherLibraryPath = newValue }
        }
        /// Age by the source's clock, seconds.
        public var ageSeconds: Int64

        public init(path: [UInt8], size: Int64, mtime: Int64, libraryPath: [UInt8], ageSeconds: Int64) {
            self.path = path
            self.size = size
            self.mtime = mtime
            self.prefix = []
            self.otherLibraryPath = libraryPath
            self.ageSeconds = ageSeconds
        }

        /// A deletion whose library copy is at `home` under `prefix` (see `ManifestIndex.recordedHome`).
        init(path: [UInt8], size: Int64, mtime: Int64, prefix: [UInt8], home: ManifestIndex.Home, ageSeconds: Int64) {
            self.path = path
            self.size = size
            self.mtime = mtime
            self.prefix = prefix
            if case .other(let libraryPath) = home { otherLibraryPath = libraryPath } else { otherLibraryPath = nil }
            self.ageSeconds = ageSeconds
        }

        public static func == (a: Deletion, b: Deletion) -> Bool {
            a.path == b.path && a.size == b.size && a.mtime == b.mtime && a.ageSeconds == b.ageSeconds
                && a.libraryPath == b.libraryPath
        }
    }

    /// A file that stays.
    public struct Kept: Sendable, Equatable {
        public var path: [UInt8]
        public var reason: PurgeKeepReason
        /// One line for the log: what exactly was wrong.
        public var detail: String

        public init(path: [UInt8], reason: PurgeKeepReason, detail: String) {
            self.path = path
            self.reason = reason
            self.detail = detail
        }
    }

    public var deletions: [Deletion]
    public var kept: [Kept]
    /// Source clock minus host clock, seconds.
    public var clockSkewSeconds: Int64
    /// Set when the clocks differ by more than `maxClockSkewSeconds`.
    public var clockWarning: String?
    /// Set when files stayed because the source gave no birth (or access) time for them: one line for the folder,
    /// not one per file.
    public var ageWarning: String?

    public init(deletions: [Deletion] = [], kept: [Kept] = [], clockSkewSeconds: Int64 = 0, clockWarning: String? = nil,
                ageWarning: String? = nil) {
        self.deletions = deletions
        self.kept = kept
        self.clockSkewSeconds = clockSkewSeconds
        self.clockWarning = clockWarning
        self.ageWarning = ageWarning
    }

    /// Beyond this, the clocks are said to differ (kopia refuses maintenance past 5 minutes).
    public static let maxClockSkewSeconds: Int64 = 300

    /// Decides file by file. `libraryFile` is asked only for files that passed every check before it;
    /// `isCommitted` (nil when the ingest need not confirm) answers nil when the ingest gave no answer.
    /// `libraryFile` gets a row's library path and recorded size.
    public static func make(listing: RemoteListing, manifest: [ManifestRow], hostNow: Int64, minAgeSeconds: Int64,
                            ageBy: PurgeAgeBy = .modified, protect: [String],
                            libraryFile: (_ libraryPath: [UInt8], _ size: Int64) -> PurgeLibraryFact?,
                            isCommitted: (([UInt8]) -> Bool?)?) -> PurgePlan {
        // Rows of one job share one folder: the prefix only decides which library paths are stored once.
        make(listing: listing, manifest: ManifestIndex(prefix: [], rows: manifest), hostNow: hostNow,
             minAgeSeconds: minAgeSeconds, ageBy: ageBy, protect: protect, libraryFile: libraryFile,
             isCommitted: isCommitted)
    }

    /// The same, with the job's rows in a `ManifestIndex` (what the engine loads, compactly).
    /// `ageBy`: which of the file's times `minAgeSeconds` is measured from; `created` and `accessed` read the
    /// listing's `ageTime`, and a file without one stays (`no_birth_time`, or `error` for an access time).
    public static func make(listing: RemoteListing, manifest: ManifestIndex, hostNow: Int64, minAgeSeconds: Int64,
                            ageBy: PurgeAgeBy = .modified, protect: [String],
                            libraryFile: (_ libraryPath: [UInt8], _ size: Int64) -> PurgeLibraryFact?,
                            isCommitted: (([UInt8]) -> Bool?)?) -> PurgePlan {
        let skew = listing.now - hostNow
        var plan = PurgePlan(deletions: [], kept: [], clockSkewSeconds: skew, clockWarning: nil)
        if abs(skew) > maxClockSkewSeconds {
            plan.clockWarning = "the source's clock is \(describe(skew)) the host's; file ages are measured by the "
                + "source's clock (fix the clock on the source, e.g. enable NTP there)"
        }
        let files = listing.files.isSortedByPath ? listing.files : listing.files.sorted { PathBytes.precedes($0.path, $1.path) }
        var withoutTime = 0
        // One allocation of the most it can need: growing by doubling held the old and the new buffer at once,
        // the purge's peak memory with a folder of 200,000 files.
        plan.deletions.reserveCapacity(files.count)
        for file in files {
            func keep(_ reason: PurgeKeepReason, _ detail: String) {
                plan.kept.append(Kept(path: file.path, reason: reason, detail: detail))
            }
            if let pattern = PurgeProtect.match(file.path, patterns: protect) {
                keep(.protected, "matches the protect pattern \(pattern)"); continue
            }
            let stamp: Int64
            if ageBy == .modified {
                stamp = file.mtime
            } else if let time = file.ageTime {
                stamp = time
            } else {
                withoutTime += 1
                if ageBy == .created { keep(.noBirthTime, "the source reports no birth time for it") }
                else { keep(.error, "the source's listing gave no access time for it") }
                continue
            }
            let age = listing.now - stamp
            if age < 0 {
                keep(.clockSkew, "its \(ageBy == .modified ? "mtime" : ageBy == .created ? "birth time" : "access time") is "
                     + "\(-age)s in the future of the source's clock"); continue
            }
            if age < minAgeSeconds {
                keep(.tooYoung, "\(age)s old by the source's clock, min_age is \(minAgeSeconds)s"); continue
            }
            guard let home = manifest.recordedHome(of: file) else {
                if let latest = manifest.latest(of: file.path) {
                    keep(.changed, "size \(file.size) mtime \(file.mtime) differ from the synced copy "
                        + "(size \(latest.size) mtime \(latest.mtime)): it changed after its sync")
                } else {
                    keep(.notSynced, "not in the manifest")
                }
                continue
            }
            let libraryPath = manifest.path(of: home, for: file.path)
            // Only for the lines of files that stay: made for each of 200,000 files it was a cost of its own.
            var libraryName: String { String(decoding: libraryPath, as: UTF8.self) }
            guard let fact = libraryFile(libraryPath, file.size) else {
                keep(.libraryMissing, "its library copy \(libraryName) is missing"); continue
            }
            if fact.size != file.size {
                keep(.libraryDiffers, "its library copy \(libraryName) has \(fact.size) bytes, the source \(file.size)")
                continue
            }
            if let isCommitted {
                switch isCommitted(libraryPath) {
                case true?: break
                case false?: keep(.notCommitted, "the ingest has not committed \(libraryName)"); continue
                case nil: keep(.notCommitted, "the ingest gave no answer for \(libraryName)"); continue
                }
            }
            plan.deletions.append(Deletion(path: file.path, size: file.size, mtime: file.mtime,
                                           prefix: manifest.prefix, home: home, ageSeconds: age))
        }
        if withoutTime > 0 {
            plan.ageWarning = ageBy == .created
                ? "\(withoutTime) file\(withoutTime == 1 ? "" : "s") kept: the source reports no birth time (purge.age_by: "
                    + "created needs GNU stat with statx, coreutils 8.31 or newer, on a file system that records it, "
                    + "e.g. ext4, xfs, btrfs or tmpfs; busybox cannot); nothing is purged by a guess"
                : "\(withoutTime) file\(withoutTime == 1 ? "" : "s") kept: the source's listing gave no access time "
                    + "(purge.age_by: accessed needs GNU find, or rsync 3.2 or newer for --atimes)"
        }
        return plan
    }

    /// `ingest.verify_before_purge`: keeps every deletion the ingest did not confirm. `answer` is the
    /// ingest's word per library path (nil: no answer in time, or no ingest to ask); `why` says, for the
    /// log, why there was no answer when nothing was asked at all.
    public mutating func applyCommitted(_ answer: ([UInt8]) -> Bool?, noAnswer why: String = "the ingest gave no answer") {
        var still: [Deletion] = []
        for deletion in deletions {
            let name = String(decoding: deletion.libraryPath, as: UTF8.self)
            switch answer(deletion.libraryPath) {
            case true?: still.append(deletion)
            case false?: kept.append(Kept(path: deletion.path, reason: .notCommitted,
                                          detail: "the ingest has not committed \(name)"))
            case nil: kept.append(Kept(path: deletion.path, reason: .notCommitted, detail: "\(why) for \(name)"))
            }
        }
        deletions = still
    }

    /// `verify: checksum`: keeps every deletion whose source SHA-256 (`remote`, by path) is unknown or
    /// differs from its library copy's (`library`, by library path).
    public mutating func applyChecksums(remote: [[UInt8]: String], library: ([UInt8]) -> String?) {
        var still: [Deletion] = []
        for deletion in deletions {
            let name = String(decoding: deletion.libraryPath, as: UTF8.self)
            guard let remoteSum = remote[deletion.path] else {
                kept.append(Kept(path: deletion.path, reason: .error,
                                 detail: "the source could not compute its SHA-256"))
                continue
            }
            guard let librarySum = library(deletion.libraryPath) else {
                kept.append(Kept(path: deletion.path, reason: .libraryMissing,
                                 detail: "its library copy \(name) could not be read"))
                continue
            }
            if librarySum.lowercased() != remoteSum.lowercased() {
                kept.append(Kept(path: deletion.path, reason: .libraryDiffers,
                                 detail: "its library copy \(name) has other content (SHA-256 differs)"))
                continue
            }
            still.append(deletion)
        }
        deletions = still
    }

    static func describe(_ skew: Int64) -> String {
        let magnitude = abs(skew)
        let text = magnitude >= 3600 ? "\(magnitude / 3600)h \(magnitude % 3600 / 60)m" : "\(magnitude / 60)m \(magnitude % 60)s"
        return text + (skew > 0 ? " ahead of" : " behind")
    }
}

/// The `purge.protect` globs: fnmatch(3) without flags, so `*` also matches `/`.
public enum PurgeProtect {
    /// The first pattern that matches the path inside the folder or its base name, or nil.
    public static func match(_ path: [UInt8], patterns: [String]) -> String? {
        guard !patterns.isEmpty else { return nil }
        let base = path.lastIndex(of: UInt8(ascii: "/")).map { Array(path[($0 + 1)...]) } ?? path
        for pattern in patterns where matches(pattern, path) || matches(pattern, base) {
            return pattern
        }
        return nil
    }

    static func matches(_ pattern: String, _ name: [UInt8]) -> Bool {
        let cName = name.map { CChar(bitPattern: $0) } + [0]
        return cName.withUnsafeBufferPointer { fnmatch(pattern, $0.baseAddress!, 0) == 0 }
    }
}
