import Foundation
@testable import MediaSyncEngine
import MediaSyncCore
import Testing

/// Putting fetched files into the library: real files, real renames, a real full tmpfs.
@Suite("library writer: move without ever overwriting")
struct LibraryWriterTests {
    /// A library and a staging folder inside it (same file system, as the engine arranges).
    struct Setup {
        let temp: TempFolder
        let library: String
        let staging: String

        init(root: String? = nil) throws {
            temp = try TempFolder("lib")
            library = root ?? temp.sub("library")
            staging = library + "/.staging"
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        }

        /// Writes a staged file and returns its absolute path bytes.
        func stage(_ name: String, _ content: [UInt8], mtime: Int64) throws -> [UInt8] {
            let path = Array((staging + "/" + name).utf8)
            try BytePath.write(path, content, mtime: mtime)
            return path
        }

        func libraryFile(_ relative: String) -> [UInt8] { Array((library + "/" + relative).utf8) }
    }

    @Test("moves into a new nested folder made 0755, keeping bytes and mtime")
    func movesIntoNewFolder() throws {
        let setup = try Setup()
        let content = Array("png bytes".utf8)
        let staged = try setup.stage("a.png", content, mtime: 1_700_000_000)
        let writer = LibraryWriter(libraryRoot: setup.library)
        let target = Array("forge/txt2img/2026-11-24/a.png".utf8)
        let outcome = try writer.move(staged: staged, to: target, size: Int64(content.count), mtime: 1_700_000_000)
        #expect(outcome == .moved(libraryPath: target))
        #expect(BytePath.read(setup.libraryFile("forge/txt2img/2026-11-24/a.png")) == content)
        #expect(BytePath.stat(setup.libraryFile("forge/txt2img/2026-11-24/a.png"))?.st_mtim.tv_sec == 1_700_000_000)
        #expect(!BytePath.exists(staged))
        let folderMode = try #require(BytePath.stat(setup.libraryFile("forge/txt2img")))
        #expect(folderMode.st_mode & 0o777 == 0o755 & ~currentUmask())
        try writer.flush()
    }

    @Test("a different file at the planned name is never overwritten: the new one gets ~2, then ~3",
          arguments: [true, false])
    func neverOverwrites(useRename: Bool) throws {
        let setup = try Setup()
        let writer = LibraryWriter(libraryRoot: setup.library, useRenameNoReplace: useRename)
        try BytePath.mkdirs(setup.libraryFile("forge"))
        let old = Array("the older media".utf8)
        try BytePath.write(setup.libraryFile("forge/00012.png"), old, mtime: 1_600_000_000)

        let newer = Array("newer media, same name".utf8)
        let staged = try setup.stage("00012.png", newer, mtime: 1_700_000_000)
        let planned = Array("forge/00012.png".utf8)
        let outcome = try writer.move(staged: staged, to: planned, size: Int64(newer.count), mtime: 1_700_000_000)
        #expect(outcome == .movedAside(libraryPath: Array("forge/00012~2.png".utf8), planned: planned))
        #expect(BytePath.read(setup.libraryFile("forge/00012.png")) == old)
        #expect(BytePath.read(setup.libraryFile("forge/00012~2.png")) == newer)

        let third = Array("a third one".utf8)
        let staged3 = try setup.stage("00012.png", third, mtime: 1_700_000_500)
        let outcome3 = try writer.move(staged: staged3, to: planned, size: Int64(third.count), mtime: 1_700_000_500)
        #expect(outcome3.libraryPath == Array("forge/00012~3.png".utf8))
        #expect(BytePath.read(setup.libraryFile("forge/00012~2.png")) == newer)
        #expect(!BytePath.exists(staged3))
    }

    @Test("a planned transfer is moved from <staging>/<remote path> to its library path")
    func movesPlannedTransfer() throws {
        let setup = try Setup()
        let content = Array("from the plan".utf8)
        try BytePath.mkdirs(Array((setup.staging + "/2026-11-24").utf8))
        _ = try setup.stage("2026-11-24/00001-1.png", content, mtime: 1_700_000_123)
        let transfer = SyncPlan.Transfer(remotePath: Array("2026-11-24/00001-1.png".utf8),
                                         libraryPath: Array("forge/txt2img/2026-11-24/00001-1.png".utf8),
                                         size: Int64(content.count), mtime: 1_700_000_123, reason: .new)
        let outcome = try LibraryWriter(libraryRoot: setup.library)
            .move(transfer, stagingFolder: Array(setup.staging.utf8))
        #expect(outcome == .moved(libraryPath: transfer.libraryPath))
        #expect(BytePath.read(setup.libraryFile("forge/txt2img/2026-11-24/00001-1.png")) == content)
    }

    @Test("the same file already in the library is counted home and the staged copy removed")
    func sameFileIsHome() throws {
        let setup = try Setup()
        let content = Array("identical".utf8)
        try BytePath.mkdirs(setup.libraryFile("c"))
        try BytePath.write(setup.libraryFile("c/x.png"), content, mtime: 1_650_000_000)
        let staged = try setup.stage("x.png", content, mtime: 1_650_000_000)
        let outcome = try LibraryWriter(libraryRoot: setup.library)
            .move(staged: staged, to: Array("c/x.png".utf8), size: Int64(content.count), mtime: 1_650_000_000)
        #expect(outcome == .alreadyHome(libraryPath: Array("c/x.png".utf8)))
        #expect(!BytePath.exists(staged))
        #expect(!BytePath.exists(setup.libraryFile("c/x~2.png")))
    }

    @Test("a staged file of the wrong size or mtime is refused and left for the retry")
    func wrongSizeRefused() throws {
        let setup = try Setup()
        let staged = try setup.stage("short.png", Array("half".utf8), mtime: 1_700_000_000)
        let writer = LibraryWriter(libraryRoot: setup.library)
        for (size, mtime) in [(Int64(100), Int64(1_700_000_000)), (Int64(4), Int64(1_700_000_001))] {
            let error = #expect(throws: LibraryWriteError.self) {
                try writer.move(staged: staged, to: Array("d/short.png".utf8), size: size, mtime: mtime)
            }
            #expect(error?.retryable == true)
            #expect(error?.description.contains(setup.staging + "/short.png") == true)
        }
        #expect(BytePath.exists(staged))
        #expect(!BytePath.exists(setup.libraryFile("d/short.png")))
    }

    @Test("a symlink in staging is refused, and so is a symlinked library folder or a climbing path")
    func symlinksRefused() throws {
        let setup = try Setup()
        let outside = setup.temp.sub("secret")
        try BytePath.write(Array(outside.utf8), Array("secret".utf8), mtime: 1_700_000_000)
        let link = setup.staging + "/link.png"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: outside)
        let writer = LibraryWriter(libraryRoot: setup.library)
        let error = #expect(throws: LibraryWriteError.self) {
            try writer.move(staged: Array(link.utf8), to: Array("e/link.png".utf8), size: 6, mtime: 1_700_000_000)
        }
        #expect(error?.description.contains("symlink") == true)
        #expect(!BytePath.exists(setup.libraryFile("e/link.png")))

        // A library folder that is a symlink pointing out of the library is not followed.
        let elsewhere = setup.temp.sub("elsewhere")
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: setup.library + "/f", withDestinationPath: elsewhere)
        let staged = try setup.stage("g.png", Array("g".utf8), mtime: 1_700_000_000)
        #expect(throws: LibraryWriteError.notAFolder(path: setup.library + "/f")) {
            try writer.move(staged: staged, to: Array("f/g.png".utf8), size: 1, mtime: 1_700_000_000)
        }
        #expect(throws: LibraryWriteError.unsafeLibraryPath(path: setup.library + "/../g.png")) {
            try writer.move(staged: staged, to: Array("../g.png".utf8), size: 1, mtime: 1_700_000_000)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere).isEmpty)
        #expect(BytePath.exists(staged))
    }

    @Test("on a full 1 MiB tmpfs a move still works and syncfs succeeds; out of inodes says disk full")
    func fullTmpfs() throws {
        let mountPoint = try TempFolder("tmpfs")
        try Tool.check(["/bin/mount", "-t", "tmpfs", "-o", "size=1m,nr_inodes=64", "tmpfs", mountPoint.path])
        defer { _ = try? Tool.run(["/bin/umount", mountPoint.path]) }
        let setup = try Setup(root: mountPoint.path + "/library")
        let content = (0..<200_000).map { UInt8(truncatingIfNeeded: $0) }
        let staged = try setup.stage("big.png", content, mtime: 1_700_000_000)
        let small = try setup.stage("s.png", [1], mtime: 1_700_000_000)
        // Fill the disk to the last byte.
        let filler = Array((setup.library + "/filler").utf8)
        try? BytePath.write(filler, [UInt8](repeating: 7, count: 2_000_000))
        let fillerSize = try #require(BytePath.stat(filler)).st_size
        #expect(fillerSize < 1_000_000, "the tmpfs did not fill up")

        let writer = LibraryWriter(libraryRoot: setup.library)
        let outcome = try writer.move(staged: staged, to: Array("forge/day/big.png".utf8),
                                      size: Int64(content.count), mtime: 1_700_000_000)
        #expect(outcome == .moved(libraryPath: Array("forge/day/big.png".utf8)))
        #expect(BytePath.read(setup.libraryFile("forge/day/big.png")) == content)
        try writer.flush()

        // Use up the inodes: a new folder can no longer be made, and the error says where.
        var made = 0
        while mkdir(setup.library + "/inode\(made)", 0o755) == 0 { made += 1 }
        #expect(errno == ENOSPC)
        #expect(throws: LibraryWriteError.diskFull(path: setup.library + "/new")) {
            try writer.move(staged: small, to: Array("new/s.png".utf8), size: 1, mtime: 1_700_000_000)
        }
        #expect(BytePath.exists(small))
        let message = LibraryWriteError.diskFull(path: setup.library + "/new").description
        #expect(message.hasPrefix("library disk full at \(setup.library)/new"))
    }
}

/// The process umask, read without changing it (umask() would, for every test running in parallel).
private func currentUmask() -> mode_t {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("Umask:") } ?? "Umask: 0022"
    return mode_t(line.dropFirst(6).trimmingCharacters(in: .whitespaces), radix: 8) ?? 0o022
}
