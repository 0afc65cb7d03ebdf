import Foundation
import MediaSyncCore
import MediaSyncEngine
import Testing

/// Sources that change under our feet, as generators and people change them: files deleted while a folder
/// is listed, copied or purged, and files rewritten between the listing and the transfer. Real find, rsync
/// and sshd; the deleter is a thread of this test.
@Suite("sources that change during a cycle")
struct SyncLiveSourceTests {
    static let aged = Int64(Date().timeIntervalSince1970) - 3 * 86_400

    /// `count` small files with distinct contents in `folder`, all older than any settle or min_age.
    static func makeFolder(_ folder: String, count: Int) throws -> [String: [UInt8]] {
        try BytePath.mkdirs(Array(folder.utf8))
        var contents: [String: [UInt8]] = [:]
        for index in 0..<count {
            let name = String(format: "ComfyUI_%06d_.png", index)
            let content = Array("image \(index) ".utf8) + Array(repeating: UInt8(index % 251), count: 64 + index % 300)
            try BytePath.write(Array((folder + "/" + name).utf8), content, mtime: aged)
            contents[name] = content
        }
        return contents
    }

    /// Deletes every 7th file of `names`, a little at a time, from `start()` until it is through: the loop
    /// that a person cleaning up in the web gallery, or the delete script of an interrupted purge, is.
    final class Deleter: @unchecked Sendable {
        private let paths: [String]
        private let done = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var started = false
        private(set) var deleted: Set<String> = []

        init(folder: String, names: [String]) {
            paths = names.sorted().enumerated().filter { $0.offset % 7 == 0 }.map { folder + "/" + $0.element }
        }

        func start() {
            guard lock.withLock({ let first = !started; started = true; return first }) else { return }
            Thread.detachNewThread { [self] in
                var gone: Set<String> = []
                for (index, path) in paths.enumerated() {
                    if unlink(path) == 0 { gone.insert((path as NSString).lastPathComponent) }
                    if index % 8 == 0 { usleep(1_000) }
                }
                lock.withLock { deleted = gone }
                done.signal()
            }
        }

        func wait() -> Set<String> {
            start()
            if done.wait(timeout: .now() + 120) == .timedOut {
                Issue.record("the deleter did not finish its \(paths.count) deletions within 120 s")
            }
            return lock.withLock { deleted }
        }
    }

    /// One sync with the deleter running from the job's start: the job ends done, and every file the
    /// deleter left is in the library byte for byte (so is every deleted one that made it home first).
    func syncWhileDeleting(_ h: SyncHarness, source: Source, hostFolder: String, count: Int) throws {
        let contents = try Self.makeFolder(hostFolder, count: count)
        let deleter = Deleter(folder: hostFolder, names: Array(contents.keys))
        // From the moment the plan is made, before rsync starts: every deletion from then on is a name of
        // rsync's list that is gone by the time it gets there (the listing's own race is in the purge test).
        let run = try h.run(h.config([source], attempts: 3)) { event in
            if case let .progress(_, snapshot) = event.body, snapshot.jobs.contains(where: { $0.state == .transferring }) {
                deleter.start()
            }
        }
        let deleted = deleter.wait()
        #expect(deleted.count > count / 8, "the deleter did not get going")
        let job = "\(source.name)/\(source.folders[0])"
        let finished = try #require(run.finished(job), "\(run.summary)")
        #expect(finished.state == .done, "\(run.summary)")
        #expect(finished.attempts == 1, "vanished files must not cost a retry: \(run.summary)")
        let library = TreeSnapshot(h.libraryFolder(source, source.folders[0]))
        for (name, content) in contents where !deleted.contains(name) {
            #expect(library.files[Array(name.utf8)]?.content == content, "\(name) is not home byte for byte")
        }
        for (name, file) in library.files {
            #expect(contents[String(decoding: name, as: UTF8.self)] == file.content, "a library file differs from what was at the source")
        }
        #expect(finished.files == library.files.count)
        #expect(run.logs.contains { $0.level == "info" && $0.message.contains("vanished at the source during the transfer") },
                "the run must say that files vanished: \(run.logs.map(\.message).prefix(5))")
    }

    @Test("local: 20,000 files, every 7th deleted during the sync: the job ends ok with every other file home")
    func localSyncWhileDeleting() throws {
        let h = try SyncHarness("lvd")
        let root = h.temp.sub("src")
        try syncWhileDeleting(h, source: h.localSource("box", root: root, folders: ["out"]), hostFolder: root + "/out", count: 20_000)
    }

    @Test("ssh: 20,000 files, every 7th deleted during the sync: the job ends ok with every other file home")
    func sshSyncWhileDeleting() throws {
        let server = try TestSSHD()
        let h = try SyncHarness("lvs")
        let root = h.temp.sub("remote")
        try syncWhileDeleting(h, source: h.sshSource("box", server: server, root: root, folders: ["out"]),
                              hostFolder: root + "/out", count: 20_000)
        #expect(h.leftovers(server: server) == [], "children outlived the cycle")
    }

    /// Syncs the folder, then purges it while the deleter runs (an interrupted purge's script still finishing,
    /// or a person): the purge ends without an error, and nothing left the source without its library copy.
    func purgeWhileDeleting(_ h: SyncHarness, source: Source, hostFolder: String, count: Int) throws {
        let contents = try Self.makeFolder(hostFolder, count: count)
        let synced = try h.run(h.config([source]))
        #expect(synced.result.files == count, "\(synced.summary)")
        var purging = source
        purging.purge = true
        var config = h.config([purging])
        config.purge = PurgeSettings(enabled: true, minAge: .seconds(3600))
        let deleter = Deleter(folder: hostFolder, names: Array(contents.keys))
        deleter.start()
        var events: [Event] = []
        let results = try PurgeRunner.run(config: config, options: PurgeOptions(childEnvironment: h.options.childEnvironment)) {
            events.append($0)
        }
        let deleted = deleter.wait()
        #expect(deleted.count > count / 8)
        #expect(results.map(\.error) == [nil], "\(results)")
        let purged = results.first?.deleted ?? 0
        #expect(purged > 0 && purged + deleted.count <= count)
        // Nothing is gone from the source without an identical library copy.
        let library = TreeSnapshot(h.libraryFolder(source, source.folders[0]))
        for (name, content) in contents where !FileManager.default.fileExists(atPath: hostFolder + "/" + name) {
            #expect(library.files[Array(name.utf8)]?.content == content, "\(name) left the source without its copy")
        }
    }

    @Test("local: a purge while files vanish under it ends without an error")
    func localPurgeWhileDeleting() throws {
        let h = try SyncHarness("lpd")
        let root = h.temp.sub("src")
        try purgeWhileDeleting(h, source: h.localSource("box", root: root, folders: ["out"]), hostFolder: root + "/out", count: 20_000)
    }

    @Test("ssh: a purge while files vanish under it ends without an error")
    func sshPurgeWhileDeleting() throws {
        let server = try TestSSHD()
        let h = try SyncHarness("lps")
        let root = h.temp.sub("remote")
        try purgeWhileDeleting(h, source: h.sshSource("box", server: server, root: root, folders: ["out"]),
                               hostFolder: root + "/out", count: 20_000)
    }

    @Test("a file rewritten or grown between the listing and the transfer is never recorded as it was listed; the next cycle takes it whole")
    func changedBetweenListingAndTransfer() throws {
        let h = try SyncHarness("lvc")
        let root = h.temp.sub("src")
        let folder = root + "/out"
        try BytePath.mkdirs(Array(folder.utf8))
        try BytePath.write(Array((folder + "/still.png").utf8), Array(repeating: 1, count: 500), mtime: Self.aged)
        try BytePath.write(Array((folder + "/rewritten.png").utf8), Array(repeating: 2, count: 500), mtime: Self.aged)
        try BytePath.write(Array((folder + "/video.mp4").utf8), Array(repeating: 3, count: 500), mtime: Self.aged)
        // Its mtime is ahead of the source's clock: the plan defers it, and that event is the hook (below).
        try BytePath.write(Array((folder + "/future.png").utf8), Array(repeating: 5, count: 10),
                           mtime: Int64(Date().timeIntervalSince1970) + 86_400)
        let rewritten = Array(repeating: UInt8(7), count: 700)
        let grown = Array(repeating: UInt8(3), count: 500) + Array(repeating: 4, count: 9_000)
        let source = h.localSource("box", root: root, folders: ["out"])
        var changed = false
        // The moment the plan is made and before rsync starts: the plan's deferrals are emitted (on the loop,
        // synchronously) before the job spawns rsync. (Progress events cannot serve: at most 10 a second, the
        // first `transferring` one may come after rsync ran.)
        let first = try h.run(h.config([source])) { event in
            guard !changed, case let .fileDeferred(_, _, path, reason) = event.body,
                  path == Array("future.png".utf8), reason == "mtime_in_future" else { return }
            changed = true
            try? BytePath.write(Array((folder + "/rewritten.png").utf8), rewritten, mtime: Self.aged + 60)
            let fd = open(folder + "/video.mp4", O_WRONLY | O_APPEND)
            _ = grown.dropFirst(500).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        #expect(changed)
        #expect(first.result.jobsFailed == 0, "\(first.summary)")
        #expect(first.synced.map { String(decoding: $0.path, as: UTF8.self) } == ["still.png"])
        let deferred = first.events.compactMap { event -> String? in
            guard case let .fileDeferred(_, _, path, reason) = event.body else { return nil }
            return "\(String(decoding: path, as: UTF8.self)):\(reason)"
        }
        #expect(Set(deferred) == ["future.png:mtime_in_future", "rewritten.png:changed", "video.mp4:changed"])
        let library = h.libraryFolder(source, "out")
        #expect(!BytePath.exists(Array((library + "/rewritten.png").utf8)))
        #expect(!BytePath.exists(Array((library + "/video.mp4").utf8)))

        let second = try h.run(h.config([source]))
        #expect(Set(second.synced.map { String(decoding: $0.path, as: UTF8.self) }) == ["rewritten.png", "video.mp4"])
        #expect(BytePath.read(Array((library + "/rewritten.png").utf8)) == rewritten)
        #expect(BytePath.read(Array((library + "/video.mp4").utf8)) == grown)
        #expect(TreeSnapshot(library).files.count == 3, "no ~N copy of a half state")
    }
}

/// The stall watchdog covers the purge's children too.
@Suite("purge: a frozen source")
struct PurgeStallTests {
    /// A docker source (the shim: no Docker engine here): a local source's deletions run in the process
    /// (`LocalDelete`), with no script to freeze.
    @Test("a delete script frozen mid-batch (a paused container) is stopped after stall_timeout and the purge says why")
    func frozenDeleteScript() throws {
        let h = try SyncHarness("pst")
        let root = try h.makeContainer("box-1")
        _ = try SyncLiveSourceTests.makeFolder(root + "/out", count: 3_000)
        var source = h.dockerSource("box", container: "box-1", folders: ["out"])
        #expect(try h.run(h.config([source])).result.files == 3_000)
        source.purge = true
        var config = h.config([source], stall: .seconds(2))
        config.purge = PurgeSettings(enabled: true, minAge: .seconds(3600))
        // Freeze the delete script (its working folder is the source folder) once it has started deleting.
        let frozen = Locked<pid_t?>(nil)
        let freezer = Thread { [root] in
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                for pid in SyncHarnessPids.working(in: root + "/out") where FileManager.default.fileExists(atPath: "/proc/\(pid)") {
                    let remaining = (try? FileManager.default.contentsOfDirectory(atPath: root + "/out").count) ?? 3_000
                    if remaining < 2_900 { kill(pid, SIGSTOP); frozen.set(pid); return }
                }
                usleep(2_000)
            }
        }
        freezer.start()
        let started = Date()
        let results = try PurgeRunner.run(config: config, options: PurgeOptions(childEnvironment: h.options.childEnvironment)) { _ in }
        let took = Date().timeIntervalSince(started)
        let pid = try #require(frozen.get(), "the delete script was never seen deleting")
        defer { kill(pid, SIGCONT) }
        let error = try #require(results.first?.error, "the purge did not fail: \(results)")
        #expect(error.contains("no progress for 2s") && error.contains("purge"), "error: \(error)")
        #expect(took < 60, "the frozen purge held the run for \(took)s")
        #expect(SyncHarnessPids.working(in: root + "/out").isEmpty, "the frozen delete script was not stopped")
        // The next purge completes the job, and its audit holds exactly the files gone from the source (the
        // frozen batch's deletions from its intent).
        config.stallTimeout = .seconds(60)
        let again = try PurgeRunner.run(config: config, options: PurgeOptions(childEnvironment: h.options.childEnvironment)) { _ in }
        #expect(again.map(\.error) == [nil], "\(again)")
        let left = try FileManager.default.contentsOfDirectory(atPath: root + "/out")
        #expect(left.isEmpty, "\(left.count) files left at the source")
        let manifest = try ManifestStore(stateDirectory: config.stateDirectory)
        #expect(try manifest.purgeHistory(since: 0).count == 3_000)
    }
}

/// A value shared between a test and the thread it starts.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func get() -> Value { lock.withLock { value } }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
}

enum SyncHarnessPids {
    /// Pids whose working folder is `folder` (the delete and list scripts `cd` into the source folder). Compared
    /// by device and inode: a process in the docker shim's sandbox shows its cwd as the container's path.
    static func working(in folder: String) -> [pid_t] {
        var want = stat()
        guard stat(folder, &want) == 0 else { return [] }
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
            var cwd = stat()
            guard let pid = pid_t(entry), pid != getpid(), stat("/proc/\(entry)/cwd", &cwd) == 0,
                  cwd.st_dev == want.st_dev, cwd.st_ino == want.st_ino else { return nil }
            return pid
        }
    }
}
