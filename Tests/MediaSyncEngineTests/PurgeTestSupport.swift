import Foundation
import MediaSyncCore
@testable import MediaSyncEngine

/// A source folder, a library and a state folder in one temp folder, with files "synced" by writing the
/// library copy and the manifest row the way a sync leaves them.
final class PurgeWorld {
    let temp: TempFolder
    /// The source's root as the transport sees it (inside the container for docker).
    let root: String
    /// Where that root really is on this machine.
    let hostRoot: String
    let library: String
    let state: String
    let folder = "out put"
    let manifest: ManifestStore
    var transport: MediaSyncCore.Transport = .local
    var childEnvironment: [String: String] = [:]
    var purge = PurgeSettings(enabled: true, minAge: .seconds(86_400), protect: ["keep-*"])
    var ingest: IngestSettings?

    init(_ tag: String, root: String? = nil, hostRoot: String? = nil) throws {
        temp = try TempFolder(tag)
        self.hostRoot = hostRoot ?? temp.sub("src root")
        self.root = root ?? self.hostRoot
        library = temp.sub("library")
        state = temp.sub("state")
        try FileManager.default.createDirectory(atPath: library, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        try BytePath.mkdirs(Array((self.hostRoot + "/" + folder).utf8))
        manifest = try ManifestStore(stateDirectory: state)
    }

    var now: Int64 { Int64(Date().timeIntervalSince1970) }

    /// The file's full path on this machine.
    func sourcePath(_ path: [UInt8]) -> [UInt8] { Array((hostRoot + "/" + folder + "/").utf8) + path }
    func libraryRelative(_ path: [UInt8]) -> [UInt8] { Array("src/\(folder)/".utf8) + path }
    func libraryPath(_ path: [UInt8]) -> [UInt8] { Array((library + "/").utf8) + libraryRelative(path) }

    /// Writes a source file `ageSeconds` old (host clock); when `synced`, its library copy and manifest row.
    @discardableResult
    func add(_ path: [UInt8], size: Int = 1000, ageSeconds: Int64 = 3 * 86_400, synced: Bool = true) throws -> [UInt8] {
        let content = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ path.count) }
        let full = sourcePath(path)
        if let slash = full.lastIndex(of: UInt8(ascii: "/")) { try BytePath.mkdirs(Array(full[..<slash])) }
        let mtime = now - ageSeconds
        try BytePath.write(full, content, mtime: mtime)
        if synced {
            let copy = libraryPath(path)
            if let slash = copy.lastIndex(of: UInt8(ascii: "/")) { try BytePath.mkdirs(Array(copy[..<slash])) }
            try BytePath.write(copy, content, mtime: mtime)
            try manifest.record([ManifestRow(source: "src", folder: folder, remotePath: path, size: Int64(size),
                                             mtime: mtime, libraryPath: libraryRelative(path), syncedAt: now)])
        }
        return full
    }

    var config: Config {
        Config(library: library, stateDirectory: state, socket: state + "/sock", purge: purge,
               sources: [Source(name: "src", transport: transport, root: root, folders: [folder], purge: true)],
               ingest: ingest)
    }

    /// Runs `mediasync purge` in-process; returns the results and every event.
    func run(dryRun: Bool = false) throws -> (results: [PurgeResult], events: [Event]) {
        var events: [Event] = []
        let results = try PurgeRunner.run(config: config, options: PurgeOptions(dryRun: dryRun, childEnvironment: childEnvironment)) {
            events.append($0)
        }
        return (results, events)
    }

    /// A real ingest child (python3) that answers `verify` with true exactly for `committed` (library paths
    /// relative to the library root) and acks every event; it becomes this world's `ingest`.
    func useVerifyingIngest(committed: Set<[UInt8]>) throws {
        let list = committed.map { String(decoding: Array((library + "/").utf8) + $0, as: UTF8.self) }
        let listFile = temp.path + "/committed.json"
        try JSONSerialization.data(withJSONObject: list).write(to: URL(fileURLWithPath: listFile))
        let script = temp.path + "/verifying-ingest.py"
        try Self.verifyingIngest.write(toFile: script, atomically: true, encoding: .utf8)
        ingest = IngestSettings(command: ["/usr/bin/python3", script, listFile], verifyBeforePurge: true)
    }

    static let verifyingIngest = """
        import json, sys
        allowed = set(json.load(open(sys.argv[1])))
        sys.stdin.readline()
        print(json.dumps({"type": "ready", "protocol": 1, "capabilities": ["verify"]}), flush=True)
        for line in sys.stdin:
            m = json.loads(line)
            if m.get("type") == "verify":
                print(json.dumps({"id": m["id"], "committed": m["library_path"] in allowed}), flush=True)
            elif "id" in m:
                print(json.dumps({"ack": m["id"]}), flush=True)
        """
}

extension Array where Element == Event {
    /// file_kept reasons by path.
    var keptReasons: [String: String] {
        var out: [String: String] = [:]
        for event in self { if case let .fileKept(_, _, path, reason) = event.body { out[String(decoding: path, as: UTF8.self)] = reason } }
        return out
    }

    /// Paths of file_purged events.
    var purged: Set<String> {
        Set(compactMap { event in
            if case let .filePurged(_, _, path, _, _, _) = event.body { return String(decoding: path, as: UTF8.self) }
            return nil
        })
    }

    var warnings: [String] {
        compactMap { event in
            if case let .log(level, message, _, _) = event.body, level == "warning" { return message }
            return nil
        }
    }
}
