import Foundation
import MediaSyncCore
import MediaSyncEngine
import Testing

/// A source whose shell tools are busybox's, as in an Alpine-based container: the list script and the purge
/// script run under busybox `sh`, with busybox `find` (no `-printf`: the rsync listing fallback), `stat`,
/// `xargs`, `rm`, `date` and `tr`. Real Debian busybox (package `busybox`), not a stand-in; only rsync is
/// the real one, as such a container installs it.
@Suite("sync end to end: a busybox source")
struct BusyboxSourceTests {
    static let busybox = "/usr/bin/busybox"

    /// A docker-shim container whose PATH starts with `/bb`, a folder of every busybox applet.
    static func makeBusyboxContainer(_ h: SyncHarness, _ name: String) throws -> String {
        let outputs = try h.makeContainer(name)
        let box = h.shimRoot + "/" + name
        let bin = box + "/root/bb"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let applets = try Tool.check([busybox, "--list"]).split(separator: "\n").map(String.init)
        #expect(applets.contains("find") && applets.contains("stat") && applets.contains("sh"), "\(applets.count) applets")
        for applet in applets where applet != "rsync" {
            try FileManager.default.createSymbolicLink(atPath: bin + "/" + applet, withDestinationPath: busybox)
        }
        try "PATH=/bb:/usr/bin:/bin\n".write(toFile: box + "/env", atomically: true, encoding: .utf8)
        return outputs
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: busybox),
                   "busybox is not installed (bin/_setup.sh installs it: apt-get install busybox)"))
    func syncAndPurgeUnderBusybox() throws {
        let h = try SyncHarness("bb")
        let outputs = try Self.makeBusyboxContainer(h, "alpine-like")
        // What the scripts will meet in there: busybox's sh and find, and a find without -printf.
        let probe = try Tool.run([DockerShim.path, "exec", "-i", "alpine-like", "sh", "-c",
                                  "for t in sh find stat xargs rm; do readlink \"$(command -v $t)\"; done; find . -maxdepth 0 -printf x"],
                                 environment: ProcessInfo.processInfo.environment.merging(["MEDIASYNC_DOCKER_SHIM_ROOT": h.shimRoot]) { $1 })
        #expect(probe.text == String(repeating: Self.busybox + "\n", count: 5), "\(probe.text) \(probe.errorText)")
        #expect(probe.errorText.contains("unrecognized: -printf"), "not busybox find: \(probe.errorText)")

        var expected = 0
        let folders = ["txt2img-images", "extras-images"]
        for (index, folder) in folders.enumerated() { expected += try DatedTree.make(in: outputs + "/" + folder, seed: index) }
        let before = folders.map { TreeSnapshot(outputs + "/" + $0) }
        let source = Source(name: "alp", transport: .docker(container: "alpine-like", command: DockerShim.path),
                            root: "/app/outputs", folders: folders, purge: true, settle: .seconds(0))

        let run = try h.run(h.config([source]))
        #expect(run.result.jobsDone == 2 && run.result.jobsFailed == 0, "\(run.summary)")
        #expect(run.result.files == expected)
        for (index, folder) in folders.enumerated() {
            #expect(before[index].differences(from: TreeSnapshot(h.libraryFolder(source, folder))) == [],
                    "\(folder): the library is not the source byte for byte")
            // Purged by busybox's sh, stat and rm: every old file left the source, each with its library copy.
            #expect(TreeSnapshot(outputs + "/" + folder).files.isEmpty, "\(folder): not purged")
        }
        #expect(run.result.purgesFailed == 0, "\(run.result.errors)")
        #expect(run.result.filesPurged == expected)
        #expect(h.leftovers() == [], "children outlived the cycle")

        // A second cycle finds the folders empty (busybox find over emptied date folders) and moves nothing.
        let second = try h.run(h.config([source]))
        #expect(second.result.jobsDone == 2 && second.result.files == 0, "\(second.summary)")
    }

    /// ComfyUI's one flat `output/` folder: 1,500 files go to the delete script in one chunk of about 80 KB of
    /// words, which busybox's xargs cuts at about 30 KB unless told `-s` (then the chunk's tail had no header
    /// and every file stayed, "xargs: argument line too long").
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: busybox),
                   "busybox is not installed (bin/_setup.sh installs it: apt-get install busybox)"))
    func bigFolderPurgedUnderBusyboxXargs() throws {
        let h = try SyncHarness("bbx")
        let outputs = try Self.makeBusyboxContainer(h, "alpine-big")
        let old = Int64(Date().timeIntervalSince1970) - 3 * 86_400
        try BytePath.mkdirs(Array((outputs + "/output").utf8))
        for index in 0..<1_500 {
            try BytePath.write(Array(String(format: "%@/output/ComfyUI_%05d_.png", outputs, index).utf8),
                               Array("image \(index)".utf8), mtime: old)
        }
        let source = Source(name: "alp", transport: .docker(container: "alpine-big", command: DockerShim.path),
                            root: "/app/outputs", folders: ["output"], purge: true, settle: .seconds(0))
        let run = try h.run(h.config([source]))
        #expect(run.result.jobsDone == 1 && run.result.files == 1_500, "\(run.summary)")
        #expect(run.result.purgesFailed == 0, "\(run.result.errors)")
        #expect(run.result.filesPurged == 1_500)
        #expect(TreeSnapshot(outputs + "/output").files.isEmpty, "output: not purged")
    }
}
