import Foundation
import Testing

/// `mediasync sync` when things go wrong: a killed rsync, a full library disk, bad names and folders.
/// Each checks what the user sees (exit code, message) and that no half file ever sits at a library name.
@Suite struct SyncLocalFailureTests {
    static let oldMtime = SyncLocalBasicTests.oldMtime

    /// Every byte staged so far, hidden temp files and the partial folder included.
    static func stagedBytes(_ folder: String) -> Int {
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return 0 }
        var total = 0
        while let name = walker.nextObject() as? String {
            let attributes = try? FileManager.default.attributesOfItem(atPath: folder + "/" + name)
            if attributes?[.type] as? FileAttributeType == .typeRegular { total += (attributes?[.size] as? Int) ?? 0 }
        }
        return total
    }

    static func size(_ path: String) -> Int? {
        var st = stat()
        return lstat(path, &st) == 0 ? Int(st.st_size) : nil
    }

    @Test(.timeLimit(.minutes(10)))
    func killedRsyncIsRetriedAndNoHalfFileEverHasTheFinalName() throws {
        let world = try SyncWorld()
        try world.writeConfig(sources: [("forge", ["txt2img"], "bwlimit: 8M")],
                              top: ["settle: 0s", "retry: {attempts: 3, backoff: 1s, max_backoff: 2s}"])
        let size = 24 << 20
        let sourcePath = String(decoding: world.source("txt2img/big video.mp4"), as: UTF8.self)
        try FileManager.default.createDirectory(atPath: world.sourceRoot + "/txt2img", withIntermediateDirectories: true)
        try Spawn.check(["sh", "-c", "head -c \(size) /dev/urandom > \"$1\" && touch -d 2026-01-01 \"$1\"", "sh", sourcePath])
        let finalPath = world.library + "/forge/txt2img/big video.mp4"
        // rsync's unfinished file is in staging, or, when it writes into the library itself, its hidden temporary
        // file beside the final name: both under the library.
        let staging = world.library

        let running = try world.start()
        var halfFiles: [Int] = []
        func watchFinalName() {
            if let seen = Self.size(finalPath), seen != size { halfFiles.append(seen) }
        }
        // Once a couple of MB are staged, SIGKILL the rsync that writes them.
        var receiver: pid_t?
        let found = Watch.until(timeout: 30) {
            watchFinalName()
            guard running.poll() == nil, Self.stagedBytes(staging) > 2 << 20 else { return false }
            receiver = Watch.processes(containing: staging).first { Watch.hasOpenFile($0, under: staging) }
            return receiver != nil
        }
        #expect(found, "never saw an rsync writing into \(staging)")
        if let receiver { kill(receiver, SIGKILL) }
        Watch.until(timeout: 60) {
            watchFinalName()
            return running.poll() != nil
        }
        let run = try running.finish(timeout: 5)
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(halfFiles.isEmpty, "a partial file had the library name, sizes \(halfFiles)")
        run.checkEnvelope(jobs: 1)
        let finished = try #require(run.of("job_finished").first)
        #expect(finished["state"] as? String == "done")
        #expect((finished["attempts"] as? Int ?? 0) >= 2, "not retried: \(finished)")
        #expect(run.of("log").contains { ($0["message"] as? String ?? "").contains("retrying") })
        #expect(RawFS.read(Array(finalPath.utf8)) == RawFS.read(Array(sourcePath.utf8)))
        #expect(RawFS.tree(world.library)[Array("forge/txt2img/big video.mp4".utf8)]?.mtime == 1_767_225_600)
        let left = try FileManager.default.contentsOfDirectory(atPath: world.library + "/forge/txt2img")
        #expect(left == ["big video.mp4"], "the killed rsync's temporary file is still in the library: \(left)")
    }

    @Test(.timeLimit(.minutes(10)))
    func aFullLibraryDiskFailsClearlyAndLeavesNoTruncatedFile() throws {
        let world = try SyncWorld()
        try Spawn.check(["mount", "-t", "tmpfs", "-o", "size=5m", "tmpfs", world.library])
        defer { try? Spawn.check(["umount", "-l", world.library]) }
        try world.writeConfig(sources: [("forge", ["txt2img"], "")],
                              top: ["settle: 0s", "retry: {attempts: 3, backoff: 1s, max_backoff: 2s}"])
        try FileManager.default.createDirectory(atPath: world.sourceRoot + "/txt2img", withIntermediateDirectories: true)
        try Spawn.check(["sh", "-c", "cd \"$1\" && for i in 0 1 2 3 4 5 6 7 8 9; do head -c 200000$i /dev/urandom > 0000$i-1.png; done && touch -d 2026-01-01 *",
                         "sh", world.sourceRoot + "/txt2img"])
        let run = try world.sync()
        #expect(run.status == 1, "stderr: \(run.stderr)")
        run.checkEnvelope(jobs: 1)
        let full = { (text: String) in text.contains("disk is full") || text.contains("No space left on device") }
        #expect(full(run.stderr), "stderr: \(run.stderr)")
        let finished = try #require(run.of("job_finished").first)
        #expect(finished["state"] as? String == "failed")
        #expect(full(finished["error"] as? String ?? ""), "error: \(finished)")
        #expect((finished["error"] as? String ?? "").contains(world.library))

        let source = RawFS.tree(world.sourceRoot)
        let library = RawFS.tree(world.library)
        #expect(!library.isEmpty && library.count < 10, "library: \(library.count) files")
        for (path, entry) in library {
            let sourcePath = Array(path.dropFirst("forge/".utf8.count))
            #expect(source[sourcePath] == entry, "\(RawFS.show(path)) is not the source's file")
        }
        #expect(run.of("file_synced").count == library.count)
    }

    @Test func anUnknownSourceIsAUsageError() throws {
        let world = try SyncWorld()
        try world.writeConfig(sources: [("alpha", ["a"], ""), ("beta", ["b"], "")], top: ["settle: 0s"])
        let run = try world.sync(["--source", "nosuch"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("nosuch") && run.stderr.contains("alpha") && run.stderr.contains("beta"), "stderr: \(run.stderr)")
        #expect(run.events.isEmpty)
    }

    @Test func aMissingLibraryIsNamedAndNothingIsCreated() throws {
        let world = try SyncWorld()
        world.library = world.root + "/unmounted-disk"
        try world.writeConfig(sources: [("alpha", ["a"], "")], top: ["settle: 0s"])
        try RawFS.write(world.source("a/x.png"), [1, 2, 3], mtime: Self.oldMtime)
        let run = try world.sync()
        #expect(run.status == 2)
        #expect(run.stderr.contains(world.library), "stderr: \(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: world.library))
    }

    @Test(.timeLimit(.minutes(10)))
    func aFolderNotCreatedYetIsAnEmptyFolderNotAFailure() throws {
        // The README's own Forge example on a box that only ran txt2img: img2img and extras do not exist yet.
        let world = try SyncWorld()
        try world.writeConfig(sources: [("forge", ["txt2img-images", "img2img-images", "extras-images"], "purge: true")],
                              top: ["settle: 0s", "retry: {attempts: 2, backoff: 1s, max_backoff: 1s}"])
        try RawFS.write(world.source("txt2img-images/x.png"), [1, 2, 3], mtime: Self.oldMtime)
        let run = try world.sync()
        #expect(run.status == 0, "stderr: \(run.stderr)")
        run.checkEnvelope(jobs: 3)
        let byJob = Dictionary(uniqueKeysWithValues: run.of("job_finished").map { ($0["job"] as? String ?? "", $0) })
        #expect(byJob["forge/txt2img-images"]?["files"] as? Int == 1)
        for job in ["forge/img2img-images", "forge/extras-images"] {
            #expect(byJob[job]?["state"] as? String == "done", "\(job): \(byJob[job] ?? [:])")
            #expect(byJob[job]?["files"] as? Int == 0)
            #expect(byJob[job]?["note"] as? String == "not created yet")
            #expect(byJob[job]?["attempts"] as? Int == 1, "a folder that is not there yet is not retried")
        }
        let infos = run.of("log").filter { ($0["message"] as? String ?? "").contains("is not created yet") }
        #expect(infos.count == 2 && infos.allSatisfy { $0["level"] as? String == "info" }, "\(infos)")
        // No purge of a folder that is not there.
        #expect(run.of("purge_started").compactMap { $0["job"] as? String } == ["forge/txt2img-images"])
        #expect(RawFS.read(world.inLibrary("forge/txt2img-images/x.png")) == [1, 2, 3])
        #expect(!FileManager.default.fileExists(atPath: world.sourceRoot + "/img2img-images"), "mediasync must not create source folders")
    }

    @Test(.timeLimit(.minutes(10)))
    func aMissingRootOrAFolderThatCannotBeEnteredFailsItsJobOnce() throws {
        let world = try SyncWorld()
        let missingRoot = world.root + "/no-such-root"
        try world.writeConfig(sources: [("alpha", ["here", "blocked"], "")],
                              top: ["settle: 0s", "retry: {attempts: 2, backoff: 1s, max_backoff: 1s}"])
        // A second source whose root is gone (a volume that is not mounted in the container).
        var config = try String(contentsOfFile: world.configPath, encoding: .utf8)
        config += "  - {name: beta, transport: local, root: \(missingRoot), folders: [output]}\n"
        try config.write(toFile: world.configPath, atomically: true, encoding: .utf8)
        try RawFS.write(world.source("here/x.png"), [1, 2, 3], mtime: Self.oldMtime)
        // A file where the folder should be: it exists, but cannot be entered.
        try RawFS.write(world.source("blocked"), [9], mtime: Self.oldMtime)
        let run = try world.sync()
        #expect(run.status == 1, "stderr: \(run.stderr)")
        run.checkEnvelope(jobs: 3)
        let byJob = Dictionary(uniqueKeysWithValues: run.of("job_finished").map { ($0["job"] as? String ?? "", $0) })
        #expect(byJob["alpha/here"]?["state"] as? String == "done")
        let blocked = byJob["alpha/blocked"]?["error"] as? String ?? ""
        #expect(byJob["alpha/blocked"]?["state"] as? String == "failed")
        #expect(blocked.contains(world.sourceRoot + "/blocked") && blocked.contains("cannot be entered"), "error: \(blocked)")
        let rootless = byJob["beta/output"]?["error"] as? String ?? ""
        #expect(byJob["beta/output"]?["state"] as? String == "failed")
        #expect(rootless.contains("the root \(missingRoot) does not exist") && rootless.contains("check `root:`"), "error: \(rootless)")
        #expect(byJob["beta/output"]?["attempts"] as? Int == 1, "a missing root is not retried")
        #expect(run.stderr.contains(missingRoot))
        #expect(RawFS.read(world.inLibrary("alpha/here/x.png")) == [1, 2, 3])
    }

    /// `sh`'s `cd` needs search permission where `open` needs only read: a local root or folder this user may
    /// read but not enter fails as the listing script failed (exit 3 and 5, each with its own message), never as
    /// an empty folder. Run as `nobody` (root enters every folder), so only when the tests run as root.
    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
                   "needs root, to run mediasync as nobody with setpriv"))
    func aLocalFolderThatCannotBeEnteredFailsAsTheScriptSaid() throws {
        let top = "/tmp/ms-perm-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: top) }
        for folder in ["/src/a", "/lib"] {
            try FileManager.default.createDirectory(atPath: top + folder, withIntermediateDirectories: true)
        }
        FileManager.default.createFile(atPath: top + "/src/a/f.png", contents: Data("x".utf8))
        try """
            library: \(top)/lib
            state_dir: \(top)/state
            socket: \(top)/ms.sock
            settle: 0s
            sources:
              - {name: src, transport: local, root: \(top)/src, folders: [a]}

            """.write(toFile: top + "/c.yaml", atomically: true, encoding: .utf8)
        for (path, mode) in [(top, 0o777), (top + "/lib", 0o777), (top + "/c.yaml", 0o644), (top + "/src/a/f.png", 0o644)] {
            chmod(path, mode_t(mode))
        }
        func syncAsNobody() throws -> (status: Int32?, output: String) {
            let out = top + "/out-\(UUID().uuidString.prefix(6))"
            let pid = try Spawn.start(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                       try CLIRunner.binary(), "sync", "--config", top + "/c.yaml"],
                                      environment: ProcessInfo.processInfo.environment, stdout: out, stderr: out)
            var status = Spawn.poll(pid)
            let deadline = Date().addingTimeInterval(60)
            while status == nil, Date() < deadline {
                usleep(20_000)
                status = Spawn.poll(pid)
            }
            if status == nil { kill(pid, SIGKILL); Spawn.reap(pid) }
            return (status, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
        }
        chmod(top + "/src", 0o644)      // readable, not searchable
        chmod(top + "/src/a", 0o755)
        let root = try syncAsNobody()
        #expect(root.status != 0 && root.output.contains("the root \(top)/src does not exist on the source (local) or cannot be entered"),
                "\(root.output)")
        chmod(top + "/src", 0o755)
        chmod(top + "/src/a", 0o644)
        let folder = try syncAsNobody()
        #expect(folder.status != 0 && folder.output.contains("\(top)/src/a exists on the source (local) but cannot be entered"),
                "\(folder.output)")
        #expect(!folder.output.contains("not created yet"))
        chmod(top + "/src/a", 0o711)      // enterable, not readable: find's own complaint, as the script said
        let unreadable = try syncAsNobody()
        #expect(unreadable.status != 0 && unreadable.output.contains("find: '.': Permission denied"), "\(unreadable.output)")
        chmod(top + "/src", 0o711)        // a root that can be entered but not read is all the script needs
        chmod(top + "/src/a", 0o755)
        let fine = try syncAsNobody()
        #expect(fine.status == 0, "\(fine.output)")
        #expect(FileManager.default.fileExists(atPath: top + "/lib/src/a/f.png"))
    }
}
