import Foundation
import MediaSyncCore
import MediaSyncEngine
import Testing

/// Remote sources that go wrong in the middle of a real cycle: a frozen remote rsync, a box that is down,
/// containers that are missing, stopped or without rsync. Each must end as the user needs it to: retried
/// when it can pass, failed at once with a clear one-line reason when it cannot, and nothing left running.
@Suite("sync end to end: remote sources that stall or are down")
struct SyncRemoteFailureTests {
    @Test("ssh: a remote rsync frozen mid-file is caught by stall_timeout, retried, and the file arrives exact")
    func frozenRemote() throws {
        let server = try TestSSHD()
        let h = try SyncHarness("fz")
        let root = h.temp.sub("remote")
        let day = Array((root + "/txt2img-images/2026-11-24").utf8)
        try BytePath.mkdirs(day)
        // 3 MiB at 1 MiB/s: the transfer takes seconds, long enough to freeze it half-way.
        var content = [UInt8](repeating: 0, count: 3 * 1024 * 1024)
        var x: UInt32 = 2_463_534_242
        for i in content.indices {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5
            content[i] = UInt8(truncatingIfNeeded: x)
        }
        try BytePath.write(day + Array("/00001-42.png".utf8), content, mtime: 1_760_000_000)
        let source = h.sshSource("gpu", server: server, root: root, folders: ["txt2img-images"], bwlimit: "1M")
        let config = h.config([source], stall: .seconds(3), attempts: 3)

        let freezer = RemoteFreezer(server: server, afterBytes: 600_000)
        var stallWarnedAt: Date?
        var lastProgressAt: Date?
        let run = try h.run(config) { event in
            if case let .log(level, message, _, _) = event.body, level == "warning", message.contains("no progress") {
                stallWarnedAt = stallWarnedAt ?? Date()
            }
            if case .progress = event.body, stallWarnedAt == nil { lastProgressAt = Date() }
        }
        freezer.cancel()
        let frozen = try #require(freezer.frozen, "the remote rsync was never found to freeze: \(run.summary)")
        // Thaw it whatever happens below, so it can see its connection is gone and end.
        defer { kill(frozen.pid, SIGCONT) }
        let finished = try #require(run.finished("gpu/txt2img-images"))
        #expect(finished.state == .done, "\(run.summary)")
        #expect(finished.attempts >= 2)
        #expect(run.result.jobsFailed == 0)
        let warning = run.logs.first { $0.level == "warning" && $0.message.contains("no progress for 3s") }
        #expect(warning != nil, "no stall warning among \(run.logs.map(\.message))")
        #expect(warning?.message.contains("gpu/txt2img-images") == true)
        let warnedAt = try #require(stallWarnedAt)
        // After the freeze, and not long after it (a loaded machine only makes it later).
        let afterFreeze = warnedAt.timeIntervalSince(frozen.at)
        #expect(afterFreeze > 0 && afterFreeze < 20, "stall noticed \(afterFreeze)s after the freeze")
        // Not long before `stall_timeout` of silence. The last progress event trails rsync's last record by up
        // to the throttle's spacing plus however late a loaded loop runs its tick (2.81 s was seen here with
        // the other core busy), so this bound only catches a watchdog that fires far too early (a unit slip);
        // the exact check (stopped at exactly stall_timeout of silence, not one tick before) is
        // JobMachineStallTests.stallAtExactlyTheTimeout, on manual time.
        let silence = warnedAt.timeIntervalSince(try #require(lastProgressAt))
        #expect(silence >= 2.0, "stall warned after only \(silence)s of silence")
        let copied = BytePath.read(Array((h.libraryFolder(source, "txt2img-images") + "/2026-11-24/00001-42.png").utf8))
        #expect(copied == content, "the library copy is not the source's bytes")
        #expect(BytePath.stat(Array((h.libraryFolder(source, "txt2img-images") + "/2026-11-24/00001-42.png").utf8))?
            .st_mtim.tv_sec == 1_760_000_000)

        // The frozen sender is on the box, out of the engine's reach once its connection is gone. Thawed
        // (the container resumes), it must find its connection gone and end: nothing of this test may be
        // left, here or on the box.
        kill(frozen.pid, SIGCONT)
        #expect(h.leftovers(server: server, within: 10) == [], "children outlived the cycle")
    }

    @Test("ssh: a box that refuses connections fails fast with ssh's reason; a healthy source in the same cycle finishes")
    func refusedConnection() throws {
        let h = try SyncHarness("dn")
        let port = try UnusedPort()
        let localRoot = h.temp.sub("scratch")
        let expected = try DatedTree.make(in: localRoot + "/renders")
        let down = h.sshSource("down", port: port.number, identity: nil, root: "/workspace", folders: ["output"])
        let healthy = h.localSource("scratch", root: localRoot, folders: ["renders"])

        let run = try h.run(h.config([down, healthy], attempts: 3))
        #expect(run.result.jobsFailed == 1, "\(run.summary)")
        #expect(run.result.jobsDone == 1)
        let failed = try #require(run.finished("down/output"))
        #expect(failed.state == .failed)
        #expect(failed.attempts == 3, "a refused connection may pass (the box reboots): it is retried")
        let error = try #require(run.result.errors.first)
        #expect(run.result.errors.count == 1)
        #expect(error.hasPrefix("down/output: "), "the error names the job: \(error)")
        #expect(error.contains("Connection refused"), "the error gives ssh's reason: \(error)")
        #expect(!error.contains("\n"), "one line: \(error.debugDescription)")
        // Three quick tries with 1 s and 2 s between them (about 4 s here), not ssh's default connect wait of
        // minutes: a bound ten times the expected run holds on a loaded machine and still catches that. The
        // backoff sequence itself is tested exactly on manual time: JobMachineRetryTests.backoffSequence.
        #expect(run.seconds < 60, "three refused tries took \(run.seconds) s")

        let done = try #require(run.finished("scratch/renders"))
        #expect(done.state == .done)
        let local = TreeSnapshot(localRoot + "/renders")
        #expect(local.files.count == expected)
        #expect(local.differences(from: TreeSnapshot(h.libraryFolder(healthy, "renders"))) == [])
        #expect(h.leftovers() == [], "children outlived the cycle")
    }

    @Test("ssh: a root missing on the box fails with the reason (a folder not created yet is empty), and no ssh master outlives the cycle")
    func missingRemoteFolder() throws {
        let server = try TestSSHD()
        let h = try SyncHarness("mf")
        let root = h.temp.sub("remote")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let missingRoot = h.temp.sub("not-mounted")
        let run = try h.run(h.config([h.sshSource("gpu", server: server, root: root, folders: ["txt2img-images"]),
                                      h.sshSource("box", server: server, root: missingRoot, folders: ["output"])],
                                     attempts: 2))
        #expect(run.result.jobsFailed == 1, "\(run.summary)")
        #expect(run.finished("gpu/txt2img-images")?.note == "not created yet", "\(run.summary)")
        let error = try #require(run.result.errors.first)
        #expect(error.hasPrefix("box/output: the root \(missingRoot) does not exist"), "\(error)")
        #expect(run.finished("box/output")?.attempts == 1, "a missing root is not retried")
        #expect(!error.contains("\n"), "\(error)")
        // The listing reached the box over the shared connection, so its master must be ended too.
        #expect(h.leftovers(server: server, within: 10) == [], "children outlived the cycle")
    }

    @Test("docker: missing container and missing rsync fail at once and say why; a stopped container is retried then fails")
    func brokenContainers() throws {
        let h = try SyncHarness("dk")
        let good = try h.makeContainer("forge-ok")
        let expected = try DatedTree.make(in: good + "/txt2img-images")
        let bare = try h.makeContainer("forge-bare", noRsync: true)
        try DatedTree.make(in: bare + "/txt2img-images")
        let paused = try h.makeContainer("forge-paused", stopped: true)
        try DatedTree.make(in: paused + "/txt2img-images")
        let sources = [
            h.dockerSource("gone", container: "forge-gone", folders: ["txt2img-images"]),
            h.dockerSource("bare", container: "forge-bare", folders: ["txt2img-images"]),
            h.dockerSource("paused", container: "forge-paused", folders: ["txt2img-images"]),
            h.dockerSource("ok", container: "forge-ok", folders: ["txt2img-images"]),
        ]

        let run = try h.run(h.config(sources, attempts: 3))
        #expect(run.result.jobsFailed == 3, "\(run.summary)")
        #expect(run.result.jobsDone == 1)
        for line in run.result.errors { #expect(!line.contains("\n"), "one line: \(line.debugDescription)") }

        let gone = try #require(run.finished("gone/txt2img-images"))
        #expect(gone.state == .failed)
        #expect(gone.attempts == 1, "a container that does not exist will not appear by retrying")
        #expect(gone.error?.hasPrefix("gone/txt2img-images: ") == true)
        #expect(gone.error?.contains("No such container") == true && gone.error?.contains("forge-gone") == true,
                "\(gone.error ?? "-")")

        let noRsync = try #require(run.finished("bare/txt2img-images"))
        #expect(noRsync.state == .failed)
        #expect(noRsync.attempts == 1, "rsync does not install itself between retries")
        #expect(noRsync.error?.contains("rsync is not installed") == true, "\(noRsync.error ?? "-")")
        #expect(noRsync.error?.contains("forge-bare") == true)
        #expect(noRsync.error?.contains("apt-get install rsync") == true, "the error says how to fix it")

        let stopped = try #require(run.finished("paused/txt2img-images"))
        #expect(stopped.state == .failed)
        #expect(stopped.attempts == 3, "a stopped container may be started again: it is retried")
        #expect(stopped.error?.contains("is not running") == true, "\(stopped.error ?? "-")")
        #expect(stopped.error?.contains("forge-paused") == true)

        let ok = try #require(run.finished("ok/txt2img-images"))
        #expect(ok.state == .done)
        let library = TreeSnapshot(h.libraryFolder(sources[3], "txt2img-images"))
        #expect(library.files.count == expected)
        #expect(TreeSnapshot(good + "/txt2img-images").differences(from: library) == [])
        // Nothing from the failed containers reached the library.
        #expect(TreeSnapshot(h.library + "/bare").files.isEmpty)
        #expect(TreeSnapshot(h.library + "/paused").files.isEmpty)
        #expect(h.leftovers() == [], "children outlived the cycle")
    }
}

/// A loopback TCP port bound but never listening: connecting to it is refused, and no other test can
/// take it while this is alive.
final class UnusedPort {
    let number: Int
    private let fd: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard bound == 0, named == 0 else {
            close(fd)
            throw Tool.Failure(description: "cannot bind a loopback port: errno \(errno)")
        }
        self.fd = fd
        number = Int(UInt16(bigEndian: addr.sin_port))
    }

    deinit { close(fd) }
}
