import Foundation
import MediaSyncCore
import MediaSyncEngine
import Testing

/// Whole sync cycles over the remote transports (a real sshd on loopback, the docker shim), run in-process
/// through `SyncRunner.runOnce`: what lands in the library, what a second cycle does, what is left running.
@Suite("sync end to end: ssh and docker sources copy exactly")
struct SyncRemoteCopyTests {
    static let folders = ["txt2img-images", "img2img-images"]

    /// Makes two dated folders under `sourceRoot` (as this machine sees it), runs two cycles, and checks
    /// that the library equals the source byte for byte and that the second cycle moved nothing.
    func copiesExactly(_ h: SyncHarness, source: Source, sourceRoot: String, server: TestSSHD? = nil) throws {
        var expected = 0
        for (index, folder) in Self.folders.enumerated() {
            expected += try DatedTree.make(in: sourceRoot + "/" + folder, seed: index)
        }
        let config = h.config([source])

        let first = try h.run(config)
        #expect(first.result.jobsDone == 2, "\(first.summary)")
        #expect(first.result.jobsFailed == 0, "\(first.result.errors)")
        #expect(first.result.files == expected)
        #expect(first.synced.count == expected)
        var libraryTrees: [TreeSnapshot] = []
        for folder in Self.folders {
            let remote = TreeSnapshot(sourceRoot + "/" + folder)
            let library = TreeSnapshot(h.libraryFolder(source, folder))
            #expect(remote.files.count > 10)
            #expect(remote.differences(from: library) == [], "library \(folder) differs from the source")
            libraryTrees.append(library)
        }
        // Nothing is left half-way: staging holds no file once every job is done.
        #expect(TreeSnapshot(h.library + "/.mediasync/staging").files.isEmpty)
        #expect(h.leftovers(server: server) == [], "children outlived the first cycle")

        let second = try h.run(config)
        #expect(second.result.jobsDone == 2, "\(second.summary)")
        #expect(second.result.files == 0)
        #expect(second.result.bytes == 0)
        #expect(second.synced.isEmpty)
        for (index, folder) in Self.folders.enumerated() {
            let library = TreeSnapshot(h.libraryFolder(source, folder))
            #expect(library.differences(from: libraryTrees[index]) == [], "the second cycle changed \(folder)")
        }
        // No `~1` copies or strays anywhere in the library.
        #expect(TreeSnapshot(h.library + "/" + source.dest).files.count == expected)
        #expect(h.leftovers(server: server) == [], "children outlived the second cycle")
    }

    @Test("ssh: awkward names in date sub-folders land byte for byte (content, size, mtime); a second cycle moves nothing")
    func ssh() throws {
        let server = try TestSSHD()
        let h = try SyncHarness("rs")
        let root = h.temp.sub("remote")
        let source = h.sshSource("gpu", server: server, root: root, folders: Self.folders)
        try copiesExactly(h, source: source, sourceRoot: root, server: server)
    }

    @Test("docker: awkward names in date sub-folders land byte for byte (content, size, mtime); a second cycle moves nothing")
    func docker() throws {
        let h = try SyncHarness("rd")
        let outputs = try h.makeContainer("forge-1")
        let source = h.dockerSource("forge", container: "forge-1", folders: Self.folders)
        try copiesExactly(h, source: source, sourceRoot: outputs)
    }

    @Test("ssh, streams: 1: three small folders of one box in one cycle cost one login, and no ssh master outlives the cycle")
    func sharedConnection() throws {
        let server = try TestSSHD()
        let h = try SyncHarness("rc")
        let root = h.temp.sub("remote")
        let folders = ["txt2img-images", "img2img-images", "extras-images"]
        for (index, folder) in folders.enumerated() {
            let day = Array((root + "/" + folder + "/2026-11-24").utf8)
            try BytePath.mkdirs(day)
            try BytePath.write(day + Array("/0000\(index)-1.png".utf8), Array(repeating: UInt8(index), count: 5000),
                               mtime: 1_760_000_000)
        }
        let log = server.folder.appendingPathComponent("sshd.log").path
        let loginsBefore = Self.logins(in: log)
        // streams: 1, so that no connection is opened ahead for big streams (SyncStreamsTests): small streams
        // ride the shared connection.
        var source = h.sshSource("gpu", server: server, root: root, folders: folders)
        source.streams = .fixed(1)
        let run = try h.run(h.config([source]))
        #expect(run.result.jobsDone == 3, "\(run.summary)")
        #expect(run.result.files == 3)

        #expect(loginsBefore == 0)
        #expect(Self.logins(in: log) == 1, "each login is a handshake a rented box's slow link pays for")
        // The shared connection's master is told to exit as the cycle ends; a moment for it to go.
        let controlPath = Array((h.stateDirectory + "/ssh").utf8)
        let masters = RunningProcesses.waitUntilGone(within: 10) { $0.isNamed("ssh") && $0.argvContains(controlPath) }
        #expect(masters == [], "an ssh master outlived the cycle")
        #expect(h.leftovers(server: server) == [])
    }

    static func logins(in log: String) -> Int {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        // Counted as occurrences: sshd -e ends its lines in "\r\n", one Character to Swift, so splitting on
        // "\n" saw the whole log as one line and counted at most one login.
        return text.components(separatedBy: "Accepted publickey").count - 1
    }
}
