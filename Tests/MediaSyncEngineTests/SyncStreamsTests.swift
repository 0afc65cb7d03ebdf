import Foundation
import MediaSyncCore
@testable import MediaSyncEngine
import Testing

/// Several rsync streams per folder over a real sshd on loopback: the user's far GPU box with one big output
/// folder. What they would notice: files missing or twice, streams sharing one connection (no faster than
/// one), more rsyncs than `concurrency` says, an ssh master left behind.
@Suite("sync end to end: several streams per folder")
struct SyncStreamsTests {
    /// Six files of 4.5 MiB (three shares of 9 MiB: each big enough for a connection of its own).
    static func bigFolder(_ root: String) throws -> [String: [UInt8]] {
        let folder = root + "/output"
        try BytePath.mkdirs(Array(folder.utf8))
        var files: [String: [UInt8]] = [:]
        for index in 0..<6 {
            let name = "ComfyUI_\(String(format: "%05d", index))_.png"
            var bytes = [UInt8](repeating: 0, count: 4_608 * 1024)
            for offset in stride(from: 0, to: bytes.count, by: 997) { bytes[offset] = UInt8(truncatingIfNeeded: offset / 997 + index) }
            try BytePath.write(Array((folder + "/" + name).utf8), bytes, mtime: 1_760_000_000 + Int64(index))
            files[name] = bytes
        }
        return files
    }

    /// The ControlPath of every running rsync of this test (each stream's connection).
    static func rsyncConnections(_ unique: String) -> [String] {
        RunningProcesses.snapshot().filter { $0.isNamed("rsync") && $0.argvContains(Array(unique.utf8)) }.compactMap { process in
            process.argv.lazy.map { String(decoding: $0, as: UTF8.self) }
                .first { $0.contains("ControlPath=") }
                .flatMap { $0.split(separator: " ").first { $0.hasPrefix("ControlPath=") } }
                .map { String($0.split(separator: "/").last ?? "") }
        }
    }

    /// The big folder on the test sshd, as a source of `streams: 3` limited to `bwlimit`.
    static func threeStreams(_ h: SyncHarness, _ server: TestSSHD, bwlimit: String) throws -> (Source, [String: [UInt8]]) {
        let root = h.temp.sub("remote")
        let files = try bigFolder(root)
        var source = h.sshSource("gpu", server: server, root: root, folders: ["output"], bwlimit: bwlimit)
        source.streams = .fixed(3)
        return (source, files)
    }

    @Test("ssh, streams: 3: three rsyncs, each on its own connection, one login each; every file once, exact")
    func threeStreamsThreeConnections() throws {
        let server = try TestSSHD()
        let h = try SyncHarness("st")
        let (source, files) = try Self.threeStreams(h, server, bwlimit: "20M")
        let log = server.folder.appendingPathComponent("sshd.log").path
        // The connections of the rsyncs seen running at any event (progress goes out 10 times a second).
        var seen: Set<String> = []
        let run = try h.run(h.config([source])) { _ in seen.formUnion(Self.rsyncConnections(h.stateDirectory)) }
        #expect(run.result.jobsDone == 1, "\(run.summary)")
        #expect(run.result.files == 6)
        let started = run.events.compactMap { if case let .jobStarted(_, _, streams) = $0.body { streams } else { nil } }
        #expect(started == [3])
        #expect(run.finished("gpu/output")?.streams == 3, "job_finished says how many ran")
        #expect(run.events.contains { if case let .log(_, message, _, _) = $0.body { message.hasSuffix("in 3 rsync streams") } else { false } })
        #expect(seen == ["%C", "%C-1", "%C-2"], "each stream on its own connection: \(seen)")
        for (name, bytes) in files {
            let home = Array(try Data(contentsOf: URL(fileURLWithPath: h.library + "/gpu/output/" + name)))
            #expect(home == bytes, "\(name) differs")
        }
        #expect(try ManifestStore(stateDirectory: h.stateDirectory).rows(source: "gpu", folder: "output").count == 6,
                "one manifest row per file")
        #expect(h.leftovers(server: server) == [], "nothing may outlive the cycle")
        // Read once every session ended: sshd's session processes may write their lines late.
        #expect(SyncRemoteCopyTests.logins(in: log) == 3, "the listing's connection and one per other stream, each logged in once: \(seen)")
    }

    @Test("concurrency counts rsync streams: with concurrency 2 a job that wants 3 runs 2")
    func concurrencyCountsStreams() throws {
        let server = try TestSSHD()
        let h = try SyncHarness("sc")
        let (source, _) = try Self.threeStreams(h, server, bwlimit: "20M")
        var config = h.config([source])
        config.concurrency = 2
        // Never more than two rsyncs at once (rsync's receiving side is two processes with the same argv).
        var most = 0
        let run = try h.run(config) { _ in most = max(most, Set(Self.rsyncConnections(h.stateDirectory)).count) }
        #expect(run.result.files == 6, "\(run.summary)")
        #expect(most <= 2)
        #expect(run.events.contains { if case let .log(_, message, _, _) = $0.body { message.hasSuffix("in 2 rsync streams") } else { false } })
        #expect(h.leftovers(server: server) == [])
    }

    @Test("one stream killed mid-transfer: the job retries only what is not home; every file lands once and exact")
    func oneStreamKilled() throws {
        let server = try TestSSHD()
        let h = try SyncHarness("sk")
        let (source, files) = try Self.threeStreams(h, server, bwlimit: "10M")
        var killed: [Int32] = []
        var anyHome = false
        let run = try h.run(h.config([source])) { event in
            // Once a file is home, the stream on lane 1 is killed (SIGKILL: no goodbye to anyone); each stream
            // has 9 MiB at 10 MB/s, so it is still running then.
            if case .fileSynced = event.body { anyHome = true }
            guard killed.isEmpty, anyHome else { return }
            for process in RunningProcesses.snapshot() where process.isNamed("rsync") && process.argvContains(Array(h.stateDirectory.utf8))
                && process.argv.contains(where: { String(decoding: $0, as: UTF8.self).contains("%C-1") }) {
                kill(process.pid, SIGKILL)
                killed.append(process.pid)
            }
        }
        #expect(!killed.isEmpty, "no rsync on lane 1 was running after the first file home")
        let finished = run.events.compactMap { if case let .jobFinished(_, f) = $0.body { f } else { nil } }
        #expect(finished.map(\.state) == [.done], "\(run.summary)")
        #expect(finished.first?.attempts == 2)
        #expect(finished.first?.files == 6)
        let synced = run.synced.map { String(decoding: $0.path, as: UTF8.self) }
        #expect(synced.sorted() == files.keys.sorted(), "each file told once: \(synced)")
        for (name, bytes) in files {
            let home = Array(try Data(contentsOf: URL(fileURLWithPath: h.library + "/gpu/output/" + name)))
            #expect(home == bytes, "\(name) differs")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: h.library + "/gpu/output")
        #expect(names.sorted() == files.keys.sorted(), "no ~N copy, no partial file: \(names)")
        #expect(try ManifestStore(stateDirectory: h.stateDirectory).rows(source: "gpu", folder: "output").count == 6)
        #expect(h.leftovers(server: server) == [])
    }

    @Test("streams: auto on a far link (50 ms each way): the listing measures the round trip, four streams run on four connections")
    func autoOnAFarLink() throws {
        let server = try TestSSHD()
        let h = try SyncHarness("sf")
        // Outside the test's folder: the leftovers check below looks for any process naming that folder.
        let proxyFolder = try TempFolder("px")
        let proxy = try LatencyProxy(target: server.port, delayMs: 50, in: proxyFolder.path)
        let root = h.temp.sub("remote")
        // 8 files of 8.5 MiB: 68 MiB, four shares of 17 MiB (auto: one stream per 16 MiB, at most 8;
        // the harness's concurrency is 4).
        let folder = root + "/output"
        try BytePath.mkdirs(Array(folder.utf8))
        var files: [String: [UInt8]] = [:]
        for index in 0..<8 {
            var bytes = [UInt8](repeating: UInt8(index), count: 8_704 * 1024)
            for offset in stride(from: 0, to: bytes.count, by: 4093) { bytes[offset] = UInt8(truncatingIfNeeded: offset / 4093) }
            let name = "ComfyUI_\(index)_.png"
            try BytePath.write(Array((folder + "/" + name).utf8), bytes, mtime: 1_760_000_000)
            files[name] = bytes
        }
        let source = h.sshSource("gpu", port: proxy.port, identity: server.identity, root: root, folders: ["output"])
        #expect(source.streams == .auto)
        var seen: Set<String> = []
        let run = try h.run(h.config([source])) { _ in seen.formUnion(Self.rsyncConnections(h.stateDirectory)) }
        #expect(run.result.jobsDone == 1, "\(run.summary)")
        #expect(run.logs.contains { $0.message.hasSuffix("in 4 rsync streams") }, "\(run.logs.map(\.message))")
        #expect(seen == ["%C", "%C-1", "%C-2", "%C-3"], "each stream on its own connection: \(seen)")
        for (name, bytes) in files {
            let home = Array(try Data(contentsOf: URL(fileURLWithPath: h.library + "/gpu/output/" + name)))
            #expect(home == bytes, "\(name) differs")
        }
        #expect(h.leftovers(server: server) == [])
    }
}
