import MediaSyncCore
import Testing

/// The planner's compact view of a job's rows: natural names are not stored twice, yet every name a row
/// holds counts as taken, and reused names keep all their versions.
@Suite("manifest index")
struct ManifestIndexTests {
    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func naturalAndRenamedNamesAreTakenAndFound() {
        var index = ManifestIndex(prefix: bytes("forge/txt2img/"))
        index.add(remotePath: bytes("a.png"), size: 10, mtime: 100, libraryPath: bytes("forge/txt2img/a.png"))
        // The name was reused after a purge: the second version lives at a ~2 name.
        index.add(remotePath: bytes("a.png"), size: 20, mtime: 200, libraryPath: bytes("forge/txt2img/a~2.png"))
        index.add(remotePath: bytes("sub/b.png"), size: 5, mtime: 50, libraryPath: bytes("old-dest/txt2img/sub/b.png"))
        #expect(index.count == 3)
        #expect(index.home(of: RemoteFile(path: bytes("a.png"), size: 10, mtime: 100)) == bytes("forge/txt2img/a.png"))
        #expect(index.home(of: RemoteFile(path: bytes("a.png"), size: 20, mtime: 200)) == bytes("forge/txt2img/a~2.png"))
        #expect(index.home(of: RemoteFile(path: bytes("a.png"), size: 30, mtime: 300)) == nil)
        #expect(index.home(of: RemoteFile(path: bytes("sub/b.png"), size: 5, mtime: 50)) == bytes("old-dest/txt2img/sub/b.png"))
        #expect(index.knows(bytes("a.png")) && !index.knows(bytes("c.png")))
        #expect(index.isTaken(bytes("forge/txt2img/a.png")))
        #expect(index.isTaken(bytes("forge/txt2img/a~2.png")))
        #expect(index.isTaken(bytes("old-dest/txt2img/sub/b.png")))
        // b.png's natural name is free: its row holds another one.
        #expect(!index.isTaken(bytes("forge/txt2img/sub/b.png")))
        #expect(!index.isTaken(bytes("forge/txt2img/c.png")))
        #expect(!index.isTaken(bytes("forge/txt2imgX/a.png")))
    }

    @Test func aListingOutOfOrderIsPlannedInNameOrder() {
        // A listing not made by the parser (unsorted) still claims natural names before renames.
        let listing = RemoteListing(now: 10_000, files: [RemoteFile(path: bytes("a~2.png"), size: 1, mtime: 1),
                                                         RemoteFile(path: bytes("a.png"), size: 2, mtime: 1)], format: .find)
        #expect(!listing.files.isSortedByPath)
        let plan = SyncPlan.make(listing: listing, settleSeconds: 0, manifest: [], destinationPrefix: bytes("d"),
                                 refetch: false, libraryFile: { _ in nil })
        #expect(plan.transfers.map(\.libraryPath) == [bytes("d/a.png"), bytes("d/a~2.png")])
    }

    @Test func aNameClaimedNaturallyInThisPlanIsNotGivenToARename() {
        // The plan keeps natural names implicit (by remote path): a reused `a.png` must still skip `a~2.png`,
        // which a new remote file of that very name claims in the same plan.
        let listing = RemoteListing(now: 10_000, files: [RemoteFile(path: bytes("a.png"), size: 2, mtime: 1),
                                                         RemoteFile(path: bytes("a~2.png"), size: 3, mtime: 1)], format: .find)
        let rows = [ManifestRow(source: "s", folder: "f", remotePath: bytes("a.png"), size: 1, mtime: 1,
                                libraryPath: bytes("d/a.png"), syncedAt: 1)]
        let plan = SyncPlan.make(listing: listing, settleSeconds: 0, manifest: rows, destinationPrefix: bytes("d"),
                                 refetch: false, libraryFile: { $0 == bytes("d/a.png") ? LibraryFileFact(size: 1, mtime: 1) : nil })
        #expect(plan.transfers.map(\.libraryPath) == [bytes("d/a~2.png"), bytes("d/a~3.png")])
        #expect(plan.transfers.map(\.remotePath) == [bytes("a~2.png"), bytes("a.png")])
        #expect(plan.transfers.last?.renamedFrom == bytes("d/a.png"))
    }
}
