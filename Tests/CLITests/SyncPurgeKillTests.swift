import Foundation
import Testing

/// A purge killed with SIGKILL in the middle: nothing that failed the checks is gone, and the audit names
/// exactly the files that are gone from the source, once the next run finished.
@Suite struct SyncPurgeKillTests {
    @Test func aPurgeKilledMidwayLeavesAnExactAudit() throws {
        let world = try SyncWorld()
        try world.writeConfig(sources: [("src", ["out"], "")], top: SyncPurgeTests.top + [SyncPurgeTests.purgeOn])
        let count = 5_000
        var names: [String] = []
        var content: [String: [UInt8]] = [:]
        for index in 0..<count {
            let name = String(format: "d%02d/%05d.png", index % 10, index)
            names.append(name)
            content[name] = Array("file \(index)".utf8)
            try RawFS.write(world.source("out/" + name), content[name]!, mtime: SyncPurgeTests.aged)
        }
        let synced = try world.sync(["--no-purge"], timeout: 120)
        #expect(synced.status == 0, "stderr: \(synced.stderr)")
        #expect(synced.of("file_synced").count == count)

        // The kill comes at a fixed point whatever the load: `purge --json` writes its events to a pipe of 4 KiB
        // that nobody reads, so its loop blocks in its first 64 KiB write of events, mid-way through the first
        // folder's batch (the 10 sub-folders are 10 batches: no next one starts while it is blocked). Then SIGKILL.
        // (A local source's files are deleted in the process: no rm or script to hook.)
        let held = try HeldStdout(at: world.root + "/purge.fifo")
        defer { held.close() }
        let out = world.root + "/purge.out"
        var env = ProcessInfo.processInfo.environment
        env["HOME"] = world.root
        let pid = try Spawn.start([try CLIRunner.binary(), "purge", "--config", world.configPath, "--json"],
                                  environment: env, stdout: held.path, stderr: out + ".err")
        let blocked = Watch.until(timeout: 60) { HeldStdout.isBlockedWriting(pid) }
        let purgeErrors = (try? String(contentsOfFile: out + ".err", encoding: .utf8)) ?? ""
        try #require(blocked, "the purge never blocked writing its events: \(purgeErrors)")
        kill(pid, SIGKILL)
        let status = try Spawn.wait(pid, timeout: 60, what: "mediasync purge (killed while its stdout was full)")
        try #require(status == 128 + SIGKILL, "the purge was not killed mid-way (status \(status)): \(purgeErrors)")

        /// Right after the kill the audit may miss the files deleted as it died (the last one, lines still in the pipe);
        /// the next run completes it from the batch's intent, and then the audit and the source agree exactly.
        func check(_ stage: String, exact: Bool) throws -> Int {
            let gone = Set(names.filter { !RawFS.exists(world.source("out/" + $0)) })
            for name in gone {
                let copy = RawFS.read(world.inLibrary("src/out/" + name))
                #expect(copy == content[name], "\(stage): \(name) is gone from the source without its library copy")
            }
            let audit = Set(try SyncPurgeTests.history(world).compactMap { $0["path"] as? String })
            let missing = gone.subtracting(audit).sorted().prefix(5), extra = audit.subtracting(gone).sorted().prefix(5)
            #expect((missing.isEmpty || !exact) && extra.isEmpty, "\(stage): audit \(audit.count), gone \(gone.count); not in the audit: \(missing); in it but present: \(extra)")
            return gone.count
        }
        let afterKill = try check("after SIGKILL", exact: false)
        #expect(afterKill > 0 && afterKill < count, "\(afterKill) of \(count) files gone when the purge was killed")

        let again = try world.sync([], timeout: 300)
        #expect(again.status == 0, "stderr: \(again.stderr)")
        #expect(try check("after the next run", exact: true) == count)
    }
}

/// A child's stdout that holds it at a fixed point: a FIFO whose pipe holds 4 KiB and that nobody reads until
/// `drain`, so the child blocks in its first larger write (`purge --json` writes its events 64 KiB at a time).
final class HeldStdout {
    let path: String
    private let reader: Int32

    init(at path: String) throws {
        self.path = path
        guard mkfifo(path, 0o600) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        // Opened first, without waiting for a writer, so that the child's open for writing does not wait either.
        reader = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard reader >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        _ = fcntl(reader, 1031, 4096) // F_SETPIPE_SZ (not exported by Glibc's Swift module)
    }

    /// True when the main thread of `pid` is in `write(1, ...)`.
    static func isBlockedWriting(_ pid: pid_t) -> Bool {
        guard let line = try? String(contentsOfFile: "/proc/\(pid)/syscall", encoding: .utf8) else { return false }
        let fields = line.split(separator: " ")
        return fields.count > 1 && fields[0] == "1" && fields[1] == "0x1"
    }

    /// Reads everything until the child closes its end (it exits).
    func drain() -> [UInt8] {
        _ = fcntl(reader, F_SETFL, fcntl(reader, F_GETFL) & ~O_NONBLOCK)
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(reader, $0.baseAddress, $0.count) }
            if n > 0 { bytes += buffer[..<n] } else if n < 0 && errno == EINTR { continue } else { return bytes }
        }
    }

    func close() { _ = Glibc.close(reader) }
}
