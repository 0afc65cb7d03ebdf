import Foundation
import MediaSyncCore
@testable import MediaSyncEngine
import Testing

/// The real delete script under /bin/sh on temp trees: exact names, nothing else taken, no symlink followed.
/// The local cases run twice: by the script, and by `LocalDelete`, which a purge of a local source uses
/// instead (the same checks in this process); both must give the same answers.
@Suite("purge script, run for real")
struct PurgeScriptTests {
    static let folder = "out put's"

    /// Who deletes a local source's files.
    enum Deleter: String, CaseIterable, CustomTestStringConvertible {
        case script, inProcess
        var testDescription: String { self == .script ? "the script" : "LocalDelete" }
    }

    func run(_ commands: TransportCommands, records: [RemotePurgeScript.Record], minAge: Int64 = 60,
             by deleter: Deleter = .script) throws -> (Ran, [RemotePurgeResult])
    {
        if deleter == .inProcess {
            var results: [RemotePurgeResult] = []
            // Blocks of 2: the answers arrive in order across blocks.
            let failure = LocalDelete.run(folder: commands.source.path(of: Self.folder), minAgeSeconds: minAge,
                                          records: records, stop: StopFlag(), blockSize: 2) { results += $0 }
            return (Ran(status: failure == nil ? 0 : 3, errorText: failure ?? ""), results)
        }
        let out = try Tool.run(commands.purgeArgv(),
                               input: commands.purgeStdin(folder: Self.folder, minAgeSeconds: minAge, records: records),
                               environment: commands.environment(parent: ProcessInfo.processInfo.environment))
        var parser = RemotePurgeOutput()
        var results: [RemotePurgeResult] = []
        parser.feed(out.stdout) { results.append($0) }
        return (Ran(status: out.status, errorText: out.errorText), results)
    }

    struct Ran {
        var status: Int32
        var errorText: String
    }

    static func records(_ tree: [AwkwardTree.Entry]) -> [RemotePurgeScript.Record] {
        tree.map { RemotePurgeScript.Record(path: $0.path, size: Int64($0.content.count), mtime: $0.mtime) }
    }

    /// Decoys a careless script would take with the awkward names: glob and option look-alikes.
    static let decoys: [[UInt8]] = ["starX.png", "-rf", "plain.png.bak", "new", "line.png", "sub dir/other.png"]
        .map { Array($0.utf8) }

    func check(_ commands: TransportCommands, folder: [UInt8], by deleter: Deleter = .script) throws {
        let tree = try AwkwardTree.make(in: folder)
        for decoy in Self.decoys { try BytePath.write(folder + [UInt8(ascii: "/")] + decoy, [1, 2, 3]) }
        let (out, results) = try run(commands, records: Self.records(tree), by: deleter)
        #expect(out.status == 0, "purge script failed: \(out.errorText)")
        #expect(Set(results.compactMap { if case let .deleted(p) = $0 { p } else { nil } }) == Set(tree.map(\.path)))
        #expect(results.last == .done)
        for entry in tree { #expect(!BytePath.exists(folder + [UInt8(ascii: "/")] + entry.path)) }
        for decoy in Self.decoys {
            #expect(BytePath.exists(folder + [UInt8(ascii: "/")] + decoy), "decoy \(String(decoding: decoy, as: UTF8.self)) was taken")
        }
    }

    @Test("local: every awkward name is purged exactly, decoys stay", arguments: Deleter.allCases)
    func awkwardNamesLocal(_ deleter: Deleter) throws {
        let temp = try TempFolder("pgl")
        let source = Source(name: "s", transport: .local, root: temp.path, folders: [Self.folder])
        try check(TransportCommands(source: source, controlFolder: "/unused", fallbackControlFolder: "/tmp",
                                    ioTimeoutSeconds: 10), folder: Array(temp.sub(Self.folder).utf8), by: deleter)
    }

    @Test("symlinks, changed files, bad paths and other file types are kept; targets outside untouched",
          arguments: Deleter.allCases)
    func refusals(_ deleter: Deleter) throws {
        let temp = try TempFolder("pgr")
        let folder = temp.sub(Self.folder)
        let outside = temp.sub("outside")
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/d", withIntermediateDirectories: true)
        try BytePath.write(Array((outside + "/secret.png").utf8), Array(repeating: 7, count: 10), mtime: 1_600_000_000)
        try FileManager.default.createSymbolicLink(atPath: folder + "/link.png", withDestinationPath: outside + "/secret.png")
        try FileManager.default.createSymbolicLink(atPath: folder + "/linkdir", withDestinationPath: outside)
        try BytePath.write(Array((folder + "/changed.png").utf8), Array(repeating: 1, count: 20), mtime: 1_600_000_000)
        mkfifo(folder + "/fifo.png", 0o644)
        let secret = RemotePurgeScript.Record(path: Array("secret.png".utf8), size: 10, mtime: 1_600_000_000)
        let records = [
            RemotePurgeScript.Record(path: Array("link.png".utf8), size: 10, mtime: 1_600_000_000),
            RemotePurgeScript.Record(path: Array("linkdir/secret.png".utf8), size: 10, mtime: 1_600_000_000),
            RemotePurgeScript.Record(path: Array("../outside/secret.png".utf8), size: 10, mtime: 1_600_000_000),
            RemotePurgeScript.Record(path: Array((outside + "/secret.png").utf8), size: 10, mtime: 1_600_000_000),
            RemotePurgeScript.Record(path: Array("d//x.png".utf8), size: 1, mtime: 1),
            RemotePurgeScript.Record(path: Array("changed.png".utf8), size: 19, mtime: 1_600_000_000),
            RemotePurgeScript.Record(path: Array("fifo.png".utf8), size: 0, mtime: 1),
            RemotePurgeScript.Record(path: Array("gone.png".utf8), size: 1, mtime: 1),
            secret,
        ]
        let source = Source(name: "s", transport: .local, root: temp.path, folders: [Self.folder])
        let commands = TransportCommands(source: source, controlFolder: "/unused", fallbackControlFolder: "/tmp",
                                         ioTimeoutSeconds: 10)
        let (out, results) = try run(commands, records: records, by: deleter)
        #expect(out.status == 0, "\(out.errorText)")
        var kept: [String: String] = [:]
        for case let .kept(reason, path) in results { kept[String(decoding: path, as: UTF8.self)] = reason }
        #expect(kept == ["link.png": "symlink", "linkdir/secret.png": "symlink_or_not_folder",
                         "../outside/secret.png": "bad_path", outside + "/secret.png": "bad_path",
                         "d//x.png": "bad_path", "changed.png": "changed", "fifo.png": "not_regular",
                         "gone.png": "missing", "secret.png": "missing"])
        #expect(!results.contains { if case .deleted = $0 { true } else { false } })
        #expect(BytePath.read(Array((outside + "/secret.png").utf8)) == Array(repeating: 7, count: 10))
        #expect(BytePath.exists(Array((folder + "/link.png").utf8)))
        #expect(BytePath.exists(Array((folder + "/changed.png").utf8)))
    }

    @Test("an emptied date folder goes only when it was older than min age; the folder itself never",
          arguments: Deleter.allCases)
    func emptiedFolders(_ deleter: Deleter) throws {
        let temp = try TempFolder("pgd")
        let folder = temp.sub(Self.folder)
        let now = Int64(Date().timeIntervalSince1970)
        var records: [RemotePurgeScript.Record] = []
        for (dir, dirAge) in [("2020-01-01", Int64(86_400 * 3)), ("today", Int64(0)), ("busy", Int64(86_400 * 3))] {
            for name in ["a.png", "b.png"] {
                let path = Array("\(dir)/\(name)".utf8)
                try BytePath.mkdirs(Array((folder + "/" + dir).utf8))
                try BytePath.write(Array((folder + "/").utf8) + path, [1], mtime: now - 86_400 * 5)
                records.append(.init(path: path, size: 1, mtime: now - 86_400 * 5))
            }
            try BytePath.setMtime(Array((folder + "/" + dir).utf8), now - dirAge)
        }
        try BytePath.write(Array((folder + "/busy/young.png").utf8), [1])
        try BytePath.setMtime(Array((folder + "/busy").utf8), now - 86_400 * 3)
        try BytePath.write(Array((folder + "/top.png").utf8), [1], mtime: now - 86_400 * 5)
        records.append(.init(path: Array("top.png".utf8), size: 1, mtime: now - 86_400 * 5))
        let source = Source(name: "s", transport: .local, root: temp.path, folders: [Self.folder])
        let commands = TransportCommands(source: source, controlFolder: "/unused", fallbackControlFolder: "/tmp",
                                         ioTimeoutSeconds: 10)
        let (out, results) = try run(commands, records: records, minAge: 86_400, by: deleter)
        #expect(out.status == 0, "\(out.errorText)")
        #expect(results.filter { if case .deleted = $0 { true } else { false } }.count == 7)
        #expect(results.contains(.removedFolder(path: Array("2020-01-01".utf8))))
        #expect(!BytePath.exists(Array((folder + "/2020-01-01").utf8)))
        #expect(BytePath.exists(Array((folder + "/today").utf8)))
        #expect(BytePath.exists(Array((folder + "/busy/young.png").utf8)))
        #expect(BytePath.exists(Array(folder.utf8)))
    }

    @Test("LocalDelete: a raised stop ends the call before its next unlink, without `done`; the rest stays")
    func localDeleteStops() throws {
        let temp = try TempFolder("pgx")
        let folder = temp.sub(Self.folder)
        var records: [RemotePurgeScript.Record] = []
        for index in 0..<10 {
            let path = Array(String(format: "d/%02d.png", index).utf8)
            try BytePath.mkdirs(Array((folder + "/d").utf8))
            try BytePath.write(Array((folder + "/").utf8) + path, [1, 2], mtime: 1_600_000_000)
            records.append(.init(path: path, size: 2, mtime: 1_600_000_000))
        }
        let stop = StopFlag()
        var results: [RemotePurgeResult] = []
        // Stopped from the report of the first block of 3, as the loop's cancel would raise it meanwhile.
        let failure = LocalDelete.run(folder: folder, minAgeSeconds: 60, records: records, stop: stop, blockSize: 3) {
            results += $0
            stop.raise()
        }
        #expect(failure == nil)
        #expect(results.count == 3 && !results.contains(.done), "\(results)")
        let left = try FileManager.default.contentsOfDirectory(atPath: folder + "/d").count
        #expect(left == 7, "\(left) files left: only the three answered may be gone")
    }

    @Test("LocalDelete: a folder that cannot be entered fails the call and deletes nothing")
    func localDeleteWithoutItsFolder() throws {
        let temp = try TempFolder("pgy")
        let record = RemotePurgeScript.Record(path: Array("a.png".utf8), size: 1, mtime: 1)
        var results: [RemotePurgeResult] = []
        let failure = LocalDelete.run(folder: temp.sub("gone"), minAgeSeconds: 60, records: [record], stop: StopFlag()) { results += $0 }
        #expect(failure?.hasPrefix("cannot enter \(temp.sub("gone")): No such file or directory") == true, "\(failure ?? "nil")")
        #expect(results.isEmpty)
    }

    @Test("ssh: the awkward tree is purged exactly through a real sshd, in one connection")
    func awkwardNamesSSH() throws {
        let server = try TestSSHD()
        let temp = try TempFolder("pgs")
        let source = Source(name: "gpu", transport: .ssh(host: "127.0.0.1", port: server.port, user: "root",
                                                         identity: server.identity,
                                                         options: ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null",
                                                                   "LogLevel=ERROR"]),
                            root: temp.path, folders: [Self.folder])
        let control = temp.sub("ctl")
        try FileManager.default.createDirectory(atPath: control, withIntermediateDirectories: true)
        let commands = TransportCommands(source: source, controlFolder: control, fallbackControlFolder: "/tmp",
                                         ioTimeoutSeconds: 10)
        defer { _ = commands.closeSharedConnectionArgv().map { try? Tool.run($0) } }
        try check(commands, folder: Array(temp.sub(Self.folder).utf8))
        let log = try String(contentsOf: server.folder.appendingPathComponent("sshd.log"), encoding: .utf8)
        #expect(log.components(separatedBy: "Accepted publickey").count - 1 == 1)
    }

    @Test("docker: the awkward tree is purged exactly through the docker shim")
    func awkwardNamesDocker() throws {
        let temp = try TempFolder("pgk")
        let shimRoot = temp.sub("containers")
        let source = Source(name: "forge", transport: .docker(container: "forge-1", command: DockerShim.path),
                            root: "/app", folders: [Self.folder])
        let commands = TransportCommands(source: source, controlFolder: temp.path, fallbackControlFolder: "/tmp",
                                         ioTimeoutSeconds: 10, extraEnvironment: ["MEDIASYNC_DOCKER_SHIM_ROOT": shimRoot])
        try check(commands, folder: Array((shimRoot + "/forge-1/root/app/" + Self.folder).utf8))
    }
}
