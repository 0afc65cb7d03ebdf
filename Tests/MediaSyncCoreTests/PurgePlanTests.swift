import MediaSyncCore
import Testing

/// The purge decision, one reason at a time: a file goes only when every check passes.
@Suite("purge plan")
struct PurgePlanTests {
    static let now: Int64 = 1_800_000_000
    static let day: Int64 = 86_400

    static func file(_ name: String, size: Int64 = 100, age: Int64 = 2 * day) -> RemoteFile {
        RemoteFile(path: Array(name.utf8), size: size, mtime: now - age)
    }

    static func row(_ file: RemoteFile, library: String? = nil) -> ManifestRow {
        ManifestRow(source: "gpu", folder: "out", remotePath: file.path, size: file.size, mtime: file.mtime,
                    libraryPath: Array((library ?? "gpu/out/" + file.displayPath).utf8), syncedAt: now - day)
    }

    /// Plans with the library holding every row's copy at its size unless `library` says otherwise.
    static func plan(_ files: [RemoteFile], rows: [ManifestRow], sourceNow: Int64 = now, hostNow: Int64 = now,
                     protect: [String] = [], missing: Set<String> = [], sizes: [String: Int64] = [:],
                     isCommitted: (([UInt8]) -> Bool?)? = nil) -> PurgePlan {
        PurgePlan.make(listing: RemoteListing(now: sourceNow, files: files, format: .find), manifest: rows,
                       hostNow: hostNow, minAgeSeconds: day, protect: protect,
                       libraryFile: { libraryPath, size in
                           let name = String(decoding: libraryPath, as: UTF8.self)
                           if missing.contains(name) { return nil }
                           return PurgeLibraryFact(size: sizes[name] ?? size)
                       }, isCommitted: isCommitted)
    }

    func reason(_ plan: PurgePlan, _ name: String) -> PurgeKeepReason? {
        plan.kept.first { $0.path == Array(name.utf8) }?.reason
    }

    @Test("an old, synced file with its library copy in place goes, with the size and mtime to re-check")
    func deletes() {
        let a = Self.file("2026-01-01/a.png", size: 1234, age: 3 * Self.day)
        let plan = Self.plan([a], rows: [Self.row(a)])
        #expect(plan.deletions == [PurgePlan.Deletion(path: a.path, size: 1234, mtime: a.mtime,
                                                      libraryPath: Array("gpu/out/2026-01-01/a.png".utf8),
                                                      ageSeconds: 3 * Self.day)])
        #expect(plan.kept.isEmpty)
        #expect(plan.clockWarning == nil)
    }

    @Test("every keep reason, each for the file that earns it")
    func everyReason() {
        let young = Self.file("young.png", age: Self.day - 1)
        let unsynced = Self.file("unsynced.png")
        let rewritten = Self.file("rewritten.png", size: 200)
        let gone = Self.file("gone.png")
        let truncated = Self.file("truncated.png")
        let kept = Self.file("keep/mine.png")
        let uncommitted = Self.file("uncommitted.png")
        let unanswered = Self.file("unanswered.png")
        let future = Self.file("future.png", age: -600)
        let ok = Self.file("ok.png")
        var oldRewritten = Self.row(rewritten)
        oldRewritten.size = 150
        let files = [young, unsynced, rewritten, gone, truncated, kept, uncommitted, unanswered, future, ok]
        let rows = [young, gone, truncated, kept, uncommitted, unanswered, future, ok].map { Self.row($0) } + [oldRewritten]
        let plan = Self.plan(files, rows: rows, protect: ["keep/*"],
                             missing: ["gpu/out/gone.png"], sizes: ["gpu/out/truncated.png": 99],
                             isCommitted: { path in
                                 switch String(decoding: path, as: UTF8.self) {
                                 case "gpu/out/uncommitted.png": false
                                 case "gpu/out/unanswered.png": nil
                                 default: true
                                 }
                             })
        #expect(reason(plan, "young.png") == .tooYoung)
        #expect(reason(plan, "unsynced.png") == .notSynced)
        #expect(reason(plan, "rewritten.png") == .changed)
        #expect(reason(plan, "gone.png") == .libraryMissing)
        #expect(reason(plan, "truncated.png") == .libraryDiffers)
        #expect(reason(plan, "keep/mine.png") == .protected)
        #expect(reason(plan, "uncommitted.png") == .notCommitted)
        #expect(reason(plan, "unanswered.png") == .notCommitted)
        #expect(reason(plan, "future.png") == .clockSkew)
        #expect(plan.deletions.map { $0.path } == [ok.path])
        #expect(plan.kept.count == files.count - 1)
        #expect(Set(plan.kept.map { $0.reason }).count == 8)
    }

    @Test("protect patterns match the base name anywhere and the path inside the folder")
    func protectPatterns() {
        let files = [Self.file("a/b/fav-1.png"), Self.file("grids/x.png"), Self.file("a/grids/y.png"), Self.file("z.png")]
        let plan = Self.plan(files, rows: files.map { Self.row($0) }, protect: ["fav-*", "grids/*"])
        #expect(plan.kept.map { $0.reason } == [.protected, .protected])
        #expect(plan.deletions.map { $0.displayPath } == ["a/grids/y.png", "z.png"])
    }

    @Test("ages are measured by the source's clock; a skew over 5 minutes is reported either way")
    func clockSkew() {
        // Host two days ahead of the source: by the host's clock every file would be old enough.
        let a = Self.file("a.png", age: 3600)
        let behind = Self.plan([a], rows: [Self.row(a)], hostNow: Self.now + 2 * Self.day)
        #expect(reason(behind, "a.png") == .tooYoung)
        #expect(behind.clockSkewSeconds == -2 * Self.day)
        #expect(behind.clockWarning?.contains("48h 0m behind") == true)
        // Source two days ahead: its clock decides, so an old-by-its-clock file goes.
        let b = Self.file("b.png", age: 2 * Self.day)
        let ahead = Self.plan([b], rows: [Self.row(b)], hostNow: Self.now - 2 * Self.day)
        #expect(ahead.deletions.count == 1)
        #expect(ahead.clockWarning?.contains("ahead of") == true)
        // Within 5 minutes: no warning.
        #expect(Self.plan([b], rows: [Self.row(b)], hostNow: Self.now + 299).clockWarning == nil)
        #expect(Self.plan([b], rows: [Self.row(b)], hostNow: Self.now + 301).clockWarning != nil)
    }

    @Test("a name reused after a purge: only the version the manifest holds now counts")
    func reusedName() {
        let now = Self.file("ComfyUI_00001_.png", size: 500)
        var older = Self.row(now)
        older.size = 400
        older.mtime -= 10 * Self.day
        older.libraryPath = Array("gpu/out/ComfyUI_00001_.png".utf8)
        let newer = Self.row(now, library: "gpu/out/ComfyUI_00001_~2.png")
        let plan = Self.plan([now], rows: [older, newer])
        #expect(plan.deletions.first?.libraryPath == Array("gpu/out/ComfyUI_00001_~2.png".utf8))
    }

    @Test("checksums: a differing or unknown sum keeps the file")
    func checksums() {
        let files = ["same.png", "differs.png", "nosum.png", "nolib.png"].map { Self.file($0) }
        var plan = Self.plan(files, rows: files.map { Self.row($0) })
        #expect(plan.deletions.count == 4)
        let sum = String(repeating: "ab", count: 32)
        plan.applyChecksums(remote: [Array("same.png".utf8): sum, Array("differs.png".utf8): sum,
                                     Array("nolib.png".utf8): sum],
                            library: { path in
                                switch String(decoding: path, as: UTF8.self) {
                                case "gpu/out/same.png": sum.uppercased()
                                case "gpu/out/differs.png": String(repeating: "cd", count: 32)
                                default: nil
                                }
                            })
        #expect(plan.deletions.map { $0.displayPath } == ["same.png"])
        #expect(reason(plan, "differs.png") == .libraryDiffers)
        #expect(reason(plan, "nosum.png") == .error)
        #expect(reason(plan, "nolib.png") == .libraryMissing)
    }
}

extension PurgePlan.Deletion {
    var displayPath: String { String(decoding: path, as: UTF8.self) }
}
