import Foundation
import MediaSyncCore
import Testing

/// `purge.age_by`: the purge's listing carries access or birth times, the plan measures age from them, and a
/// file without a birth time stays (`no_birth_time`) with one warning for the folder.
@Suite("Purge: age by modified, created or accessed")
struct PurgeAgeByTests {
    static let now: Int64 = 1_800_000_000
    static let day: Int64 = 86_400

    func output(_ format: String, _ records: [String], nul: Bool = true) -> [UInt8] {
        var bytes = Array("mediasync-listing-begin\n\(Self.now)\n\(format)\n".utf8)
        for record in records { bytes += Array(record.utf8) + (nul ? [0] : [0x0A]) }
        return bytes
    }

    @Test func theListingReadsAccessAndBirthTimes() throws {
        let atimes = try RemoteListingParser.parseScriptOutput(output("find-atime", [
            "1799990000.5 1700000000.9 12 b.png", "1799000000 1700000000 3 sub/a b.png"]))
        #expect(atimes.format == .findAccessed)
        #expect(atimes.files == [RemoteFile(path: Array("b.png".utf8), size: 12, mtime: 1_700_000_000, ageTime: 1_799_990_000),
                                 RemoteFile(path: Array("sub/a b.png".utf8), size: 3, mtime: 1_700_000_000, ageTime: 1_799_000_000)])

        // GNU stat: `./` names; 0 (and `-`) mean the file system did not say.
        let births = try RemoteListingParser.parseScriptOutput(output("stat-birth", [
            "1790000000 1700000000 5 ./x.png", "0 1700000000 6 ./y.png", "- 1700000000 7 ./z/w.png"]))
        #expect(births.format == .statCreated)
        #expect(births.files.map(\.ageTime) == [1_790_000_000, nil, nil])
        #expect(births.files.map(\.displayPath) == ["x.png", "y.png", "z/w.png"])
        #expect(throws: RemoteListingError.self) {
            try RemoteListingParser.parseScriptOutput(output("stat-birth", ["1790000000 1700000000 5 x.png"]))
        }
        #expect(throws: RemoteListingError.self) {
            try RemoteListingParser.parseScriptOutput(output("stat-birth", ["soon 1700000000 5 ./x.png"]))
        }
        #expect(throws: RemoteListingError.self) {
            try RemoteListingParser.parseScriptOutput(output("find-atime", ["1799990000 1700000000 12 ../b.png"]))
        }

        // rsync --atimes: files have the access date and time after the mtime; folders have blanks there.
        let rsync = try RemoteListingParser.parseScriptOutput(output("rsync-atime", [
            "drwxr-xr-x          4,096 2027/01/15 08:00:00                     .",
            "-rw-r--r--          1,234 2023/11/14 22:13:20 2027/01/15 07:00:00 a name.png",
        ], nul: false))
        #expect(rsync.format == .rsyncAccessed)
        #expect(rsync.files == [RemoteFile(path: Array("a name.png".utf8), size: 1234, mtime: 1_700_000_000, ageTime: 1_799_996_400)])
    }

    func plan(_ files: [RemoteFile], ageBy: PurgeAgeBy) -> PurgePlan {
        let rows = files.map { ManifestRow(source: "s", folder: "f", remotePath: $0.path, size: $0.size, mtime: $0.mtime,
                                           libraryPath: Array("s/f/".utf8) + $0.path, syncedAt: Self.now) }
        return PurgePlan.make(listing: RemoteListing(now: Self.now, files: files, format: .find), manifest: rows,
                              hostNow: Self.now, minAgeSeconds: Self.day, ageBy: ageBy, protect: [],
                              libraryFile: { _, size in PurgeLibraryFact(size: size) }, isCommitted: nil)
    }

    /// Old by mtime, young by the chosen time: it stays; old by the chosen time: it goes, whatever its mtime.
    @Test(arguments: [PurgeAgeBy.accessed, .created])
    func theChosenTimeDecides(ageBy: PurgeAgeBy) {
        let files = [
            RemoteFile(path: Array("old-mtime-young.png".utf8), size: 1, mtime: Self.now - 30 * Self.day, ageTime: Self.now - 3600),
            RemoteFile(path: Array("young-mtime-old.png".utf8), size: 2, mtime: Self.now - 60, ageTime: Self.now - 2 * Self.day),
            RemoteFile(path: Array("future.png".utf8), size: 3, mtime: Self.now - 30 * Self.day, ageTime: Self.now + 600),
        ]
        let decided = plan(files, ageBy: ageBy)
        #expect(decided.deletions.map { String(decoding: $0.path, as: UTF8.self) } == ["young-mtime-old.png"])
        #expect(decided.deletions.first?.ageSeconds == 2 * Self.day)
        #expect(decided.kept.map(\.reason) == [.clockSkew, .tooYoung])
        #expect(decided.kept[0].detail.contains(ageBy == .created ? "birth time" : "access time"), "\(decided.kept[0].detail)")
        #expect(decided.ageWarning == nil)
        // By mtime the same files decide the other way.
        let byMtime = plan(files, ageBy: .modified)
        #expect(byMtime.deletions.map { String(decoding: $0.path, as: UTF8.self) } == ["future.png", "old-mtime-young.png"])
    }

    /// No birth time: the file stays, never guessed from its mtime, and the folder gets one warning.
    @Test func noBirthTimeKeepsEveryFileWithOneWarning() {
        let files = (0..<5).map { RemoteFile(path: Array("f\($0).png".utf8), size: 1, mtime: Self.now - 30 * Self.day) }
        let decided = plan(files, ageBy: .created)
        #expect(decided.deletions.isEmpty)
        #expect(decided.kept.map(\.reason) == Array(repeating: .noBirthTime, count: 5))
        #expect(PurgeKeepReason.noBirthTime.rawValue == "no_birth_time")
        #expect(decided.ageWarning?.hasPrefix("5 files kept: the source reports no birth time") == true,
                "\(String(describing: decided.ageWarning))")
        // Accessed without access times (an old listing): the same, as an error, never a guess.
        let accessed = plan(files, ageBy: .accessed)
        #expect(accessed.deletions.isEmpty && accessed.kept.allSatisfy { $0.reason == .error })
        #expect(accessed.ageWarning?.contains("no access time") == true)
    }

    @Test func theConfigReadsAgeBy() throws {
        let base = "library: /srv/media\nsources:\n  - {name: a, transport: local, root: /src, folders: [x]}\n"
        #expect(try parseConfig(base).purge.ageBy == .modified)
        #expect(try parseConfig(base + "purge: {age_by: created}\n").purge.ageBy == .created)
        #expect(try parseConfig(base + "purge: {age_by: accessed}\n").purge.ageBy == .accessed)
        let issue = try #require(configIssue(base + "purge: {age_by: birth}\n", path: "purge.age_by"))
        #expect(issue.line == 4 && issue.problem.contains("`birth` is not a time of a file") && issue.fix.contains("created"))
        #expect(PurgeAgeBy.accessed.note?.contains("relatime") == true && PurgeAgeBy.created.note == nil)
    }

    /// The stdin asks for the time as a third line; without it the script lists as before.
    @Test func theListingIsAskedForTheTime() {
        #expect(RemoteListScript.stdin(root: [0x2f], folder: [0x66]) == [0x2f, 0, 0x66, 0])
        #expect(RemoteListScript.stdin(root: [0x2f], folder: [0x66], ageBy: .accessed) == [0x2f, 0, 0x66, 0, 0x61, 0])
        #expect(RemoteListScript.stdin(root: [0x2f], folder: [0x66], ageBy: .created) == [0x2f, 0, 0x66, 0, 0x62, 0])
    }
}
