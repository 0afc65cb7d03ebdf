import Foundation
@testable import MediaSyncEngine
import MediaSyncCore
import Testing

/// The held library folder (`OpenFolder`) that lets a run of moves skip the per-file folder walk, and the
/// one-query set of taken library paths the planner now gets.
@Suite("library writer: held folder and bulk taken names")
struct LibraryWriterHeldFolderTests {
    @Test("files of one folder share the held folder; a folder removed meanwhile is made again")
    func heldFolderSurvivesRemoval() throws {
        let setup = try LibraryWriterTests.Setup()
        let writer = LibraryWriter(libraryRoot: setup.library)
        let folders = OpenFolder()
        for name in ["1.png", "2.png"] {
            let staged = try setup.stage(name, Array(name.utf8), mtime: 1_700_000_000)
            let outcome = try writer.move(staged: staged, to: Array("f/day/\(name)".utf8), size: 5,
                                          mtime: 1_700_000_000, folders: folders)
            #expect(outcome == .moved(libraryPath: Array("f/day/\(name)".utf8)))
        }
        // The user empties and removes the folder while it is held: the next file must still get home.
        for name in ["1.png", "2.png"] { #expect(unlink(setup.library + "/f/day/" + name) == 0) }
        #expect(rmdir(setup.library + "/f/day") == 0)
        let staged = try setup.stage("3.png", Array("3.png".utf8), mtime: 1_700_000_000)
        let outcome = try writer.move(staged: staged, to: Array("f/day/3.png".utf8), size: 5, mtime: 1_700_000_000,
                                      folders: folders)
        #expect(outcome == .moved(libraryPath: Array("f/day/3.png".utf8)))
        #expect(BytePath.read(setup.libraryFile("f/day/3.png")) == Array("3.png".utf8))
    }

    @Test("a folder swapped for a symlink is not followed when the held folder changes")
    func symlinkNotFollowedOnNewFolder() throws {
        let setup = try LibraryWriterTests.Setup()
        let outside = setup.temp.sub("outside")
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let writer = LibraryWriter(libraryRoot: setup.library)
        let folders = OpenFolder()
        let first = try setup.stage("a.png", [1], mtime: 1_700_000_000)
        _ = try writer.move(staged: first, to: Array("g/a.png".utf8), size: 1, mtime: 1_700_000_000, folders: folders)
        #expect(symlink(outside, setup.library + "/h") == 0)
        let second = try setup.stage("b.png", [2], mtime: 1_700_000_000)
        #expect(throws: LibraryWriteError.notAFolder(path: setup.library + "/h")) {
            try writer.move(staged: second, to: Array("h/b.png".utf8), size: 1, mtime: 1_700_000_000, folders: folders)
        }
        #expect(!FileManager.default.fileExists(atPath: outside + "/b.png"))
        #expect(BytePath.exists(second))
    }

    @Test("a staged file named in its held staging folder moves home; unchecked it is still looked at, and refused when not as planned")
    func stagedByNameInHeldFolder() throws {
        let setup = try LibraryWriterTests.Setup()
        let writer = LibraryWriter(libraryRoot: setup.library)
        let folders = OpenFolder()
        try FileManager.default.createDirectory(atPath: setup.staging + "/day", withIntermediateDirectories: true)
        let good = try setup.stage("day/1.png", Array("one".utf8), mtime: 1_700_000_000)
        let short = try setup.stage("day/2.png", Array("tw".utf8), mtime: 1_700_000_000)
        let folderPath = Array(good.dropLast("/1.png".utf8.count))
        let fd = BytePathC.with(folderPath) { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        try #require(fd >= 0)
        defer { close(fd) }
        let first = StagedFile(folder: fd, name: Array("1.png".utf8), shownFolder: folderPath)
        #expect(first.fact() == LibraryFileFact(size: 3, mtime: 1_700_000_000))
        let outcome = try writer.move(first, to: Array("f/day/1.png".utf8), size: 3, mtime: 1_700_000_000,
                                      folders: folders, checked: true)
        #expect(outcome == .moved(libraryPath: Array("f/day/1.png".utf8)))
        #expect(BytePath.read(setup.libraryFile("f/day/1.png")) == Array("one".utf8))
        #expect(!BytePath.exists(good) && first.fact() == nil && !first.exists)
        // Not checked by the caller: the writer looks, and a staged file shorter than planned stays in staging.
        let second = StagedFile(folder: fd, name: Array("2.png".utf8), shownFolder: folderPath)
        #expect(throws: LibraryWriteError.self) {
            try writer.move(second, to: Array("f/day/2.png".utf8), size: 3, mtime: 1_700_000_000, folders: folders)
        }
        #expect(BytePath.exists(short))
        #expect(!FileManager.default.fileExists(atPath: setup.library + "/f/day/2.png"))
    }

    @Test("the plan's folder-by-folder lookup answers as lstat: files, missing files and folders, symlinks, folders")
    func libraryLookupMatchesLstat() throws {
        let setup = try LibraryWriterTests.Setup()
        let root = setup.library
        try FileManager.default.createDirectory(atPath: root + "/a/b", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: root + "/a/b/x.png", contents: Data([1, 2, 3])))
        #expect(FileManager.default.createFile(atPath: root + "/top.png", contents: Data([1])))
        #expect(symlink(root + "/a/b/x.png", root + "/a/b/link.png") == 0)
        #expect(symlink(root + "/a/b", root + "/a/linked") == 0)
        let lookup = LibraryLookup(root: Array(root.utf8))
        for path in ["a/b/x.png", "a/b/missing.png", "a/b/link.png", "a/b", "top.png", "missing/x.png", "a/b/x.png/y",
                     "a/linked/x.png", "a/b/x.png", "top.png"] {
            let expected = LibraryPaths.fact(LibraryPaths.join(Array(root.utf8), Array(path.utf8)))
            #expect(lookup.fact(Array(path.utf8)) == expected, "\(path)")
        }
        #expect(lookup.fact(Array("a/b/x.png".utf8)) == LibraryFileFact(size: 3, mtime: lookup.fact(Array("a/b/x.png".utf8))!.mtime))
    }

    @Test("isSafe refuses what components refuses")
    func safeMatchesComponents() {
        for path in ["a/b.png", "a", "..a/b", "a/.b", "", "/a", "a//b", "a/./b", "a/../b", "..", ".", "a/"] {
            let bytes = Array(path.utf8)
            let split = (try? LibraryWriter.components(of: bytes, shown: path)) != nil
            #expect(LibraryWriter.isSafe(bytes) == split, "\(path)")
        }
    }

    @Test("libraryPaths(under:) returns every job's names under the folder and nothing beside it")
    func takenNamesUnderPrefix() throws {
        let temp = try TempFolder("manifest")
        let store = try ManifestStore(stateDirectory: temp.path)
        func row(_ source: String, _ library: String) -> ManifestRow {
            ManifestRow(source: source, folder: "f", remotePath: Array(library.utf8), size: 1, mtime: 1,
                        libraryPath: Array(library.utf8), syncedAt: 1)
        }
        try store.record([row("a", "forge/txt/1.png"), row("b", "forge/txt/sub/2~2.png"),
                          row("a", "forge/txt2/3.png"), row("a", "forge/tx/4.png"), row("a", "forge/txt")])
        let taken = try store.libraryPaths(under: Array("forge/txt".utf8))
        #expect(taken == [Array("forge/txt/1.png".utf8), Array("forge/txt/sub/2~2.png".utf8)])
    }
}
