import Foundation
@testable import MediaSyncEngine
import MediaSyncCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A local folder is listed in the process (`LocalListing`); a docker or ssh one by `RemoteListScript`. Both
/// must say the same of the same folder, or a local source would plan differently from a remote one: each case
/// here runs the real script under /bin/sh beside the in-process listing and compares them.
@Suite("local listing made in the process: what the list script says")
struct LocalListingTests {
    static let folder = "out put's/day 1"

    /// The script's answer for `folder` under `root`: its exit code and listing (nil when it did not parse).
    func script(root: String, folder: String) throws -> (code: Int32, listing: RemoteListing?, errors: String) {
        let commands = TransportCommands(source: Source(name: "src", transport: .local, root: root, folders: [folder]),
                                         controlFolder: "/unused", fallbackControlFolder: "/unused", ioTimeoutSeconds: 10)
        let (out, listing) = try commands.runListing(folder: folder)
        return (out.status, listing, out.errorText)
    }

    /// The awkward tree plus what must not be listed (a symlink to a file and one to a folder, a fifo, an empty
    /// folder) and what must be (a hidden file, a file deep down, a fractional and a negative mtime).
    func awkwardFolder(_ temp: TempFolder) throws -> String {
        let root = temp.sub("src 'root'")
        let base = root + "/" + Self.folder
        _ = try AwkwardTree.make(in: Array(base.utf8))
        try BytePath.write(Array((base + "/.hidden").utf8), [1, 2, 3], mtime: 1_700_000_001)
        try BytePath.mkdirs(Array((base + "/a/b/c").utf8))
        try BytePath.write(Array((base + "/a/b/c/deep.png").utf8), Array(repeating: 7, count: 4096), mtime: -86_400)
        var times = [timespec(tv_sec: 1_700_000_002, tv_nsec: 999_999_999), timespec(tv_sec: 1_700_000_002, tv_nsec: 999_999_999)]
        try BytePath.write(Array((base + "/fraction.png").utf8), [9])
        #expect(utimensat(AT_FDCWD, base + "/fraction.png", &times, 0) == 0)
        #expect(symlink("plain.png", base + "/link.png") == 0)
        #expect(symlink("a", base + "/linked folder") == 0)
        #expect(mkfifo(base + "/fifo", 0o644) == 0)
        #expect(mkdir(base + "/empty", 0o755) == 0)
        return root
    }

    @Test("the awkward tree: the same files, sizes and mtimes as find, and nothing find leaves out")
    func sameFilesAsTheScript() throws {
        let temp = try TempFolder("locallist")
        let root = try awkwardFolder(temp)
        let before = Int64(time(nil))
        let here = LocalListing.list(root: root, folder: Self.folder)
        let there = try script(root: root, folder: Self.folder)
        #expect(there.code == 0, "the script failed: \(there.errors)")
        #expect(here.code == 0 && here.complaints.isEmpty, "\(here.complaints)")
        let listing = try #require(here.listing)
        let scripted = try #require(there.listing)
        #expect(listing.format == .find)
        #expect(listing.files == scripted.files, "in-process and script listings differ")
        #expect(listing.files.count == AwkwardTree.names.count + 3)
        #expect(listing.files.first { $0.path == Array("fraction.png".utf8) }?.mtime == 1_700_000_002, "the fraction is dropped, never rounded up")
        #expect(listing.files.first { $0.path == Array("a/b/c/deep.png".utf8) }?.mtime == -86_400)
        #expect(listing.now >= before && listing.now <= Int64(time(nil)))
        // Signs of life while it walks, for the stall watchdog: here one per entry read.
        var alive = 0
        _ = LocalListing.list(root: root, folder: Self.folder, aliveEvery: 0) { alive += 1 }
        #expect(alive >= listing.files.count)
        // The whole root (folder ""), as a source with `folders: [.]`-like roots lists it.
        let whole = LocalListing.list(root: root + "/" + Self.folder, folder: "")
        #expect(whole.listing?.files == scripted.files)
    }

    @Test("a folder not there is absent; one that cannot be entered is exit 5; a root that is not there is exit 3, as the script says")
    func failuresAsTheScript() throws {
        let temp = try TempFolder("locallist")
        let root = temp.sub("root")
        try BytePath.mkdirs(Array(root.utf8))
        try BytePath.write(Array((root + "/a file").utf8), [1])
        #expect(symlink("nowhere", root + "/dangling") == 0)
        let cases: [(root: String, folder: String, code: Int32, absent: Bool)] = [
            (root, "img2img-images", 0, true),       // Forge has not made it yet
            (root, "a file/below", 0, true),         // `test -e` is false: nothing there to enter
            (root, "a file", 5, false),              // there, but not a folder
            (root, "dangling", 5, false),            // a symlink to nowhere is there, and cannot be entered
            (temp.sub("no root"), "out", 3, false),  // the root itself is missing
        ]
        for item in cases {
            let here = LocalListing.list(root: item.root, folder: item.folder)
            let there = try script(root: item.root, folder: item.folder)
            let label = "\(item.root.suffix(8))/\(item.folder)"
            #expect(here.code == item.code && there.code == item.code, "\(label): here \(here.code), script \(there.code)")
            #expect((here.listing?.format == .absent) == item.absent, "\(label)")
            #expect((there.listing?.format == .absent) == item.absent, "\(label)")
            if item.code != 0 {
                #expect(here.listing == nil && !here.complaints.isEmpty, "\(label): a failure says why")
            }
        }
    }

    @Test("its complaint for an entry it cannot read is a vanished file only when the entry is gone, as find's is")
    func complaintsReadAsFindsAre() {
        // Root reads every folder here, so the walk's own unreadable folder cannot be made: its words are
        // checked against what the job machine counts.
        #expect(LocalListing.complaint(Array("sub/gone.png".utf8), ENOENT) == "find: './sub/gone.png': No such file or directory")
        #expect(VanishedFiles.isAboutVanishedFiles(LocalListing.complaint(Array("gone.png".utf8), ENOENT)))
        #expect(!VanishedFiles.isAboutVanishedFiles(LocalListing.complaint(Array("private".utf8), EACCES)))
        #expect(!VanishedFiles.isAboutVanishedFiles(LocalListing.complaint([], EIO)), "the folder itself failing is not a vanished file")
    }
}
