import MediaSyncCore
import Testing

private func b(_ text: String) -> [UInt8] { Array(text.utf8) }

private let prefix = b("forge/txt2img")
private let now: Int64 = 1_795_168_800
private let settle: Int64 = 60

private func row(_ path: String, size: Int64, mtime: Int64, library: String) -> ManifestRow {
    ManifestRow(source: "gpu1", folder: "/app/outputs/txt2img-images", remotePath: b(path), size: size,
                mtime: mtime, libraryPath: b(library), syncedAt: now - 1_000)
}

/// A library described as a dictionary: path → (size, mtime). The planner only ever asks, never writes.
private func plan(_ files: [RemoteFile], now sourceNow: Int64 = now, manifest: [ManifestRow] = [],
                  library: [String: LibraryFileFact] = [:], refetch: Bool = false,
                  reserved: Set<[UInt8]> = [], looked: ((([UInt8])) -> Void)? = nil) -> SyncPlan {
    var disk: [[UInt8]: LibraryFileFact] = [:]
    for (path, fact) in library { disk[b(path)] = fact }
    return SyncPlan.make(listing: RemoteListing(now: sourceNow, files: files, format: .find),
                         settleSeconds: settle, manifest: manifest, destinationPrefix: prefix,
                         refetch: refetch, libraryFile: { looked?($0); return disk[$0] },
                         isReserved: { reserved.contains($0) })
}

private func file(_ path: String, size: Int64 = 1_000, age: Int64 = 3_600) -> RemoteFile {
    RemoteFile(path: b(path), size: size, mtime: now - age)
}

@Suite struct SyncPlanTests {
    @Test func newFileGoesToItsNaturalNameAndCountsBytes() {
        let result = plan([file("2026-11-24/00012-3912345.png", size: 3_000_000), file("b.png", size: 5)])
        #expect(result.transfers.map(\.libraryPath) == [b("forge/txt2img/2026-11-24/00012-3912345.png"),
                                                        b("forge/txt2img/b.png")])
        #expect(result.transfers.allSatisfy { $0.reason == .new && $0.renamedFrom == nil })
        #expect(result.totalBytes == 3_000_005)
        #expect(result.deferred.isEmpty && result.skippedHome == 0)
    }

    @Test func unchangedFileAlreadyHomeIsSkipped() {
        let f = file("a.png")
        let result = plan([f], manifest: [row("a.png", size: f.size, mtime: f.mtime, library: "forge/txt2img/a.png")],
                          library: ["forge/txt2img/a.png": LibraryFileFact(size: f.size, mtime: f.mtime)])
        #expect(result.skippedHome == 1)
        #expect(result.transfers.isEmpty && result.totalBytes == 0)
    }

    @Test func reusedNameGetsANewNameAndTheOldFileIsUntouched() {
        let old = row("00012-3912345.png", size: 900, mtime: now - 90_000, library: "forge/txt2img/00012-3912345.png")
        let result = plan([file("00012-3912345.png", size: 1_000)], manifest: [old],
                          library: ["forge/txt2img/00012-3912345.png": LibraryFileFact(size: 900, mtime: old.mtime)])
        #expect(result.transfers.count == 1)
        let transfer = result.transfers[0]
        #expect(transfer.libraryPath == b("forge/txt2img/00012-3912345~2.png"))
        #expect(transfer.renamedFrom == b("forge/txt2img/00012-3912345.png"))
        #expect(transfer.reason == .nameReused)
        #expect(!result.transfers.contains { $0.libraryPath == old.libraryPath })
    }

    @Test func secondReuseOfTheSameNameGetsTilde3() {
        let manifest = [
            row("a.png", size: 1, mtime: now - 90_000, library: "forge/txt2img/a.png"),
            row("a.png", size: 2, mtime: now - 80_000, library: "forge/txt2img/a~2.png"),
        ]
        let result = plan([file("a.png", size: 3)], manifest: manifest)
        #expect(result.transfers.map(\.libraryPath) == [b("forge/txt2img/a~3.png")])
    }

    @Test func sameMtimeButOtherSizeIsAReuseToo() {
        let f = file("a.png", size: 7)
        let result = plan([f], manifest: [row("a.png", size: 8, mtime: f.mtime, library: "forge/txt2img/a.png")])
        #expect(result.transfers.first?.reason == .nameReused)
        #expect(result.transfers.first?.libraryPath == b("forge/txt2img/a~2.png"))
    }

    @Test func userDeletedFileIsNotFetchedAgainUnlessRefetch() {
        let f = file("gone.png")
        let manifest = [row("gone.png", size: f.size, mtime: f.mtime, library: "forge/txt2img/gone.png")]
        let normal = plan([f], manifest: manifest)
        #expect(normal.transfers.isEmpty && normal.totalBytes == 0)
        let again = plan([f], manifest: manifest, refetch: true)
        #expect(again.transfers.map(\.libraryPath) == [b("forge/txt2img/gone.png")])
        #expect(again.transfers.first?.reason == .refetch)
        #expect(again.totalBytes == f.size)
    }

    /// A no-change cycle of a big folder must not touch every file of the library (a seek each on a cold disk).
    @Test("files the manifest has home are not looked up in the library, unless --refetch asks")
    func filesHomeAreNotLookedAt() {
        let files = (0..<50).map { file("f\($0).png") }
        let manifest = files.map { row(String(decoding: $0.path, as: UTF8.self), size: $0.size, mtime: $0.mtime,
                                       library: "forge/txt2img/" + String(decoding: $0.path, as: UTF8.self)) }
        var looks = 0
        let normal = plan(files + [file("new.png")], manifest: manifest, looked: { _ in looks += 1 })
        #expect(normal.skippedHome == 50)
        #expect(normal.transfers.map(\.libraryPath) == [b("forge/txt2img/new.png")])
        #expect(looks == 1, "only the new file's name was looked up: \(looks) looks")
        looks = 0
        let again = plan(files, manifest: manifest, refetch: true, looked: { _ in looks += 1 })
        #expect(looks == 50 && again.transfers.count == 50, "--refetch looks at each and brings back the missing")
    }

    @Test func youngFileIsDeferredByTheSourceClockNotTheHosts() {
        // The source's clock runs two days behind the host: by the host the file is two days old,
        // by the source it was written 10 s ago and may still be growing.
        let sourceNow = now - 172_800
        let young = RemoteFile(path: b("young.png"), size: 1, mtime: sourceNow - 10)
        let result = plan([young], now: sourceNow)
        #expect(result.transfers.isEmpty)
        #expect(result.deferred == [SyncPlan.Deferred(remotePath: b("young.png"), reason: .settling, ageSeconds: 10)])
    }

    @Test func oldFileByTheSourceClockGoesEvenWhenTheHostWouldSayYoung() {
        // The source's clock runs two days ahead: by the host the mtime is in the future.
        let sourceNow = now + 172_800
        let old = RemoteFile(path: b("old.png"), size: 1, mtime: sourceNow - 600)
        let result = plan([old], now: sourceNow)
        #expect(result.deferred.isEmpty)
        #expect(result.transfers.map(\.remotePath) == [b("old.png")])
    }

    @Test func settleBoundaryAndFutureMtime() {
        let result = plan([file("edge.png", age: settle), file("just.png", age: settle - 1), file("future.png", age: -5)])
        #expect(result.transfers.map(\.remotePath) == [b("edge.png")])
        #expect(result.deferred.map(\.reason) == [.mtimeInFuture, .settling])
        #expect(result.deferred.map(\.ageSeconds) == [-5, settle - 1])
    }

    @Test func youngReuseIsDeferredNotRenamed() {
        let result = plan([file("a.png", size: 2, age: 5)],
                          manifest: [row("a.png", size: 1, mtime: now - 90_000, library: "forge/txt2img/a.png")])
        #expect(result.transfers.isEmpty)
        #expect(result.deferred.map(\.remotePath) == [b("a.png")])
    }

    @Test func fileWithoutExtensionAndDotfileGetTildeAtTheEnd() {
        let manifest = [row("README", size: 1, mtime: 1, library: "forge/txt2img/README"),
                        row(".hidden", size: 1, mtime: 1, library: "forge/txt2img/.hidden")]
        let result = plan([file("README"), file(".hidden")], manifest: manifest)
        #expect(Set(result.transfers.map(\.libraryPath)) == [b("forge/txt2img/README~2"), b("forge/txt2img/.hidden~2")])
    }

    @Test func weirdBytesSurviveIntoTheLibraryPath() {
        let weird: [UInt8] = [0xff, 0x0a, 0x09, 0x5c, 0x23, 0x2e, 0x70, 0x6e, 0x67]
        let result = plan([RemoteFile(path: weird, size: 1, mtime: now - 3_600)],
                          manifest: [ManifestRow(source: "s", folder: "f", remotePath: weird, size: 2, mtime: 1,
                                                 libraryPath: prefix + [0x2f] + weird, syncedAt: 0)])
        #expect(result.transfers.first?.libraryPath == prefix + [0x2f, 0xff, 0x0a, 0x09, 0x5c, 0x23] + b("~2.png"))
    }

    @Test func unknownFileWhoseNameIsTakenOnDiskGetsAFreeName() {
        // Something else (the user, another tool) put a different file there: never overwrite it.
        let result = plan([file("a.png", size: 10)],
                          library: ["forge/txt2img/a.png": LibraryFileFact(size: 99, mtime: 5),
                                    "forge/txt2img/a~2.png": LibraryFileFact(size: 98, mtime: 5)],
                          reserved: [b("forge/txt2img/a~3.png")])
        #expect(result.transfers.map(\.libraryPath) == [b("forge/txt2img/a~4.png")])
        #expect(result.transfers.first?.renamedFrom == b("forge/txt2img/a.png"))
    }

    @Test func identicalFileOnDiskWithoutManifestRowIsAdoptedNotCopied() {
        let f = file("a.png", size: 10)
        let result = plan([f], library: ["forge/txt2img/a.png": LibraryFileFact(size: 10, mtime: f.mtime)])
        #expect(result.transfers.isEmpty && result.totalBytes == 0)
        #expect(result.adopted.map(\.libraryPath) == [b("forge/txt2img/a.png")])
    }

    @Test func remoteFileNamedLikeARenameKeepsItsOwnName() {
        // `a~2.png` exists remotely and `a.png` was reused: the real `a~2.png` keeps its name.
        let result = plan([file("a.png", size: 2), file("a~2.png", size: 5)],
                          manifest: [row("a.png", size: 1, mtime: 1, library: "forge/txt2img/a.png")])
        let byRemote = Dictionary(uniqueKeysWithValues: result.transfers.map { ($0.remotePath, $0.libraryPath) })
        #expect(byRemote[b("a~2.png")] == b("forge/txt2img/a~2.png"))
        #expect(byRemote[b("a.png")] == b("forge/txt2img/a~3.png"))
        #expect(Set(result.transfers.map(\.libraryPath)).count == 2)
    }

    @Test func transferBecomesTheManifestRowToRecord() {
        let transfer = plan([file("a.png", size: 10)]).transfers[0]
        let recorded = transfer.manifestRow(source: "gpu1", folder: "/out", syncedAt: 42)
        #expect(recorded.isSameFile(as: file("a.png", size: 10)))
        #expect(recorded.libraryPath == b("forge/txt2img/a.png") && recorded.syncedAt == 42)
    }

    @Test func everyNameTakenDefersInsteadOfOverwriting() {
        let listing = RemoteListing(now: now, files: [file("a.png")], format: .find)
        let result = SyncPlan.make(listing: listing, settleSeconds: settle, manifest: [], destinationPrefix: prefix,
                                   refetch: false, libraryFile: { _ in LibraryFileFact(size: 1, mtime: 1) })
        #expect(result.transfers.isEmpty && result.adopted.isEmpty)
        #expect(result.deferred.map(\.reason) == [.noFreeLibraryName])
    }
}
