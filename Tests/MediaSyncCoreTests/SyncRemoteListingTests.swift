import Foundation
import MediaSyncCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The tree every real-listing test builds: names that break naive parsers, with mtimes set exactly.
private let treeFiles: [RemoteFile] = [
    RemoteFile(path: Array("a b.png".utf8), size: 3_000_000, mtime: 1_795_168_800),
    RemoteFile(path: Array(" leading space.png".utf8), size: 1, mtime: 1_795_168_801),
    RemoteFile(path: Array("trailing space ".utf8), size: 2, mtime: 1_795_168_802),
    RemoteFile(path: Array("new\nline.png".utf8), size: 12_345, mtime: 1_795_168_803),
    RemoteFile(path: Array("tab\there.png".utf8), size: 4, mtime: 1_795_168_804),
    RemoteFile(path: Array("back\\#012slash.png".utf8), size: 5, mtime: 1_795_168_805),
    RemoteFile(path: Array("-leading-dash.png".utf8), size: 6, mtime: 1_795_168_806),
    RemoteFile(path: Array("😀 emoji é.png".utf8), size: 7, mtime: 1_795_168_807),
    RemoteFile(path: [0x62, 0x61, 0x64, 0xff, 0xfe, 0x2e, 0x70, 0x6e, 0x67], size: 8, mtime: 1_795_168_808),
    RemoteFile(path: Array("cr\rname".utf8), size: 9, mtime: 1_795_168_809),
    RemoteFile(path: Array(".hidden".utf8), size: 10, mtime: 1_795_168_810),
    RemoteFile(path: Array("README".utf8), size: 1_234_567_890, mtime: 1_795_168_811),
    RemoteFile(path: Array("sub/deeper/00012-3912345.png".utf8), size: 11, mtime: 1_795_168_812),
    RemoteFile(path: Array("$(touch pwned); 'q' \"d\".png".utf8), size: 12, mtime: 1_795_168_813),
    RemoteFile(path: Array("old.png".utf8), size: 13, mtime: -86_400),
]

/// Builds the tree (plus a symlink, a fifo and an empty folder that must not be listed) in `dir/folder`.
private func makeTree(in dir: SyncTempDir, folder: [UInt8]) throws {
    for (index, file) in treeFiles.enumerated() {
        // Odd files get a fractional mtime: the listing must floor it, not round it up.
        try dir.makeFile(folder + [UInt8(ascii: "/")] + file.path, size: file.size, mtime: file.mtime,
                         nanos: index % 2 == 1 ? 999_999_999 : 0)
    }
    _ = dir.withPath(folder + Array("/link.png".utf8)) { symlink("a b.png", $0) }
    _ = dir.withPath(folder + Array("/fifo".utf8)) { mkfifo($0, 0o644) }
    _ = dir.withPath(folder + Array("/empty".utf8)) { mkdir($0, 0o755) }
}

private func runScript(root: String, folder: [UInt8], path: String? = nil) throws -> (stdout: [UInt8], stderr: String, status: Int32) {
    var environment = ProcessInfo.processInfo.environment
    if let path { environment["PATH"] = path }
    return try runProgram("/bin/sh", ["-c", RemoteListScript.text],
                          stdin: RemoteListScript.stdin(root: Array(root.utf8), folder: folder), environment: environment)
}

private func fileSet(_ files: [RemoteFile]) -> Set<RemoteFile> { Set(files) }

@Suite struct SyncRemoteListingRealTests {
    // A folder name that would run `touch pwned` if it ever reached a shell as code.
    let folderName = Array("out $(touch pwned) `touch pwned2` 'x".utf8)

    @Test func findBranchListsTheTreeExactly() throws {
        let dir = try SyncTempDir()
        defer { dir.remove() }
        try makeTree(in: dir, folder: folderName)
        let before = Int64(time(nil))
        let result = try runScript(root: dir.path, folder: folderName)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let listing = try RemoteListingParser.parseScriptOutput(result.stdout)
        #expect(listing.format == .find)
        #expect(listing.now >= before && listing.now <= before + 60)
        #expect(listing.files.count == treeFiles.count)
        #expect(fileSet(listing.files) == fileSet(treeFiles))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/pwned"))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/pwned2"))
    }

    @Test func rsyncFallbackListsTheSameTree() throws {
        let dir = try SyncTempDir()
        defer { dir.remove() }
        try makeTree(in: dir, folder: folderName)
        // Stand-in for busybox find (not installed here): a `find` that rejects -printf the way busybox
        // does. Everything else, rsync included, is the real program.
        let bin = dir.path + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        // Written by a child process: a file this process had open for writing could be inherited by a child
        // that another test forks meanwhile, and exec of the stub would then fail with ETXTBSY (dash then goes
        // on to the real find in PATH: seen on a fresh machine).
        let stub = """
            #!/bin/sh
            for a in "$@"; do [ "$a" = -printf ] && { echo "find: unrecognized: -printf" >&2; exit 1; }; done
            exec /usr/bin/find "$@"
            """
        let made = try runProgram("/bin/sh", ["-c", "printf '%s\\n' \"$1\" > \"$2\" && chmod 755 \"$2\"", "sh", stub, bin + "/find"],
                                  stdin: [], environment: ProcessInfo.processInfo.environment)
        #expect(made.status == 0, "\(made.stderr)")
        let result = try runScript(root: dir.path, folder: folderName, path: bin + ":/usr/bin:/bin")
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let listing = try RemoteListingParser.parseScriptOutput(result.stdout)
        #expect(listing.format == .rsync)
        #expect(fileSet(listing.files) == fileSet(treeFiles))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/pwned"))
    }

    @Test func plainRsyncListOnlyParsesUnderUTF8LocaleToo() throws {
        // Under a UTF-8 locale rsync prints valid UTF-8 raw and escapes only the rest.
        let dir = try SyncTempDir()
        defer { dir.remove() }
        try makeTree(in: dir, folder: Array("f".utf8))
        var environment = ProcessInfo.processInfo.environment
        environment["TZ"] = "UTC"
        environment["LC_ALL"] = "C.UTF-8"
        let result = try runProgram("/usr/bin/rsync", ["-r", "--list-only", dir.path + "/f/"], stdin: [],
                                    environment: environment)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let files = try RemoteListingParser.parseRsyncListOnly(result.stdout[...])
        #expect(fileSet(files) == fileSet(treeFiles))
    }

    @Test func missingRootFailsWithStatusAndMessage() throws {
        let result = try runScript(root: "/nonexistent/mediasync-\(getpid())", folder: Array("outputs".utf8))
        #expect(result.status == 3)
        #expect(result.stderr.contains("nonexistent"))
        #expect(throws: RemoteListingError.self) { try RemoteListingParser.parseScriptOutput(result.stdout) }
    }

    @Test func aFolderNotCreatedYetUnderAnExistingRootIsAnEmptyListing() throws {
        // Forge makes img2img-images only when that tab is first used.
        let dir = try SyncTempDir()
        defer { dir.remove() }
        let before = Int64(time(nil))
        let result = try runScript(root: dir.path, folder: Array("outputs/img2img-images".utf8))
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let listing = try RemoteListingParser.parseScriptOutput(result.stdout)
        #expect(listing.format == .absent)
        #expect(listing.files.isEmpty)
        #expect(listing.now >= before && listing.now <= before + 60)
    }

    @Test func aFolderThatExistsButCannotBeEnteredStaysAnError() throws {
        // A regular file where the folder should be: `cd` fails whoever we are (root passes any mode bits).
        let dir = try SyncTempDir()
        defer { dir.remove() }
        try dir.makeFile(Array("outputs".utf8), size: 3, mtime: 1_700_000_000)
        let result = try runScript(root: dir.path, folder: Array("outputs".utf8))
        #expect(result.status == 5)
        #expect(result.stderr.contains("outputs"))
    }

    @Test func scriptHasNoSingleQuoteSoSshQuotingIsExact() {
        #expect(!RemoteListScript.text.contains("'"))
        #expect(SSHTransport.remoteCommand(RemoteListScript.text) == "sh -c '\(RemoteListScript.text)'")
    }
}
