import Foundation
import MediaSyncCore
import MediaSyncEngine

/// One end-to-end sync setup in a short temp folder: a library, a state dir, a docker-shim root, and
/// helpers to build sources, run whole cycles in-process and read what they told.
final class SyncHarness: @unchecked Sendable {
    let temp: TempFolder
    var library: String { temp.sub("lib") }
    var stateDirectory: String { temp.sub("st") }
    /// The docker shim's containers (`MEDIASYNC_DOCKER_SHIM_ROOT`).
    var shimRoot: String { temp.sub("boxes") }
    /// Unique to this test: every child of its cycles mentions it in its argv or environment.
    var uniquePath: String { temp.path }

    init(_ tag: String) throws {
        temp = try TempFolder(tag)
        try FileManager.default.createDirectory(atPath: library, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: shimRoot, withIntermediateDirectories: true)
    }

    /// A config with test-sized timings: retries 1 s apart, no settle wait.
    func config(_ sources: [Source], stall: Duration = .seconds(60), attempts: Int = 3,
                concurrency: Int = 4) -> Config {
        Config(library: library, stateDirectory: stateDirectory, socket: temp.sub("sock"), concurrency: concurrency,
               settle: .seconds(0), stallTimeout: stall, ioTimeout: .seconds(30),
               retry: RetryPolicy(attempts: attempts, backoff: .seconds(1), maxBackoff: .seconds(2)),
               sources: sources)
    }

    var options: SyncOptions {
        SyncOptions(childEnvironment: ["MEDIASYNC_DOCKER_SHIM_ROOT": shimRoot], stopGraceMs: 1_000)
    }

    // MARK: - Sources

    /// An ssh source on the test sshd, reached the way a user reaches a rented box.
    func sshSource(_ name: String, server: TestSSHD, root: String, folders: [String], bwlimit: String? = nil) -> Source {
        sshSource(name, port: server.port, identity: server.identity, root: root, folders: folders, bwlimit: bwlimit)
    }

    func sshSource(_ name: String, port: Int, identity: String?, root: String, folders: [String],
                   bwlimit: String? = nil) -> Source {
        Source(name: name,
               transport: .ssh(host: "127.0.0.1", port: port, user: "root", identity: identity,
                               options: ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null"]),
               root: root, folders: folders, bwlimit: bwlimit, settle: .seconds(0))
    }

    /// A docker source played by the shim; its root is `/app/outputs` inside the container.
    func dockerSource(_ name: String, container: String, folders: [String]) -> Source {
        Source(name: name, transport: .docker(container: container, command: DockerShim.path),
               root: "/app/outputs", folders: folders, settle: .seconds(0))
    }

    func localSource(_ name: String, root: String, folders: [String]) -> Source {
        Source(name: name, transport: .local, root: root, folders: folders, settle: .seconds(0))
    }

    /// Makes a shim container and returns the host folder seen as `/app/outputs` inside it.
    @discardableResult
    func makeContainer(_ name: String, stopped: Bool = false, noRsync: Bool = false) throws -> String {
        let box = shimRoot + "/" + name
        let outputs = box + "/root/app/outputs"
        try FileManager.default.createDirectory(atPath: outputs, withIntermediateDirectories: true)
        if stopped { FileManager.default.createFile(atPath: box + "/stopped", contents: Data()) }
        if noRsync { FileManager.default.createFile(atPath: box + "/no-rsync", contents: Data()) }
        return outputs
    }

    /// Where a job's files land: `<library>/<dest>/<folder>`.
    func libraryFolder(_ source: Source, _ folder: String) -> String {
        library + "/" + source.dest + "/" + folder
    }

    // MARK: - Cycles

    /// What one cycle returned and told.
    struct Run {
        let result: CycleResult
        let events: [Event]
        let seconds: Double

        func finished(_ job: String) -> JobFinished? {
            for event in events {
                if case let .jobFinished(_, f) = event.body, f.job.job == job { return f }
            }
            return nil
        }

        var logs: [(level: String, message: String)] {
            events.compactMap { event in
                if case let .log(level, message, _, _) = event.body { return (level, message) }
                return nil
            }
        }

        var synced: [FileSynced] {
            events.compactMap { event in
                if case let .fileSynced(_, f) = event.body { return f }
                return nil
            }
        }

        /// Every job's state, attempts and error, for failure messages.
        var summary: String {
            events.compactMap { event -> String? in
                guard case let .jobFinished(_, f) = event.body else { return nil }
                return "\(f.job.job) \(f.state.rawValue) attempts=\(f.attempts) files=\(f.files) error=\(f.error ?? "-")"
            }.joined(separator: "; ")
        }
    }

    /// Runs one whole cycle in-process; `onEvent` sees every event on the loop as it happens.
    func run(_ config: Config, onEvent: ((Event) -> Void)? = nil) throws -> Run {
        var events: [Event] = []
        let started = Date()
        let result = try SyncRunner.runOnce(config: config, options: options) { event in
            events.append(event)
            onEvent?(event)
        }
        return Run(result: result, events: events, seconds: Date().timeIntervalSince(started))
    }

    // MARK: - Leftovers

    /// Processes still running that belong to this test's cycles: any whose argv or environment
    /// mentions the test's folder, plus anything still running under `server` or started through it
    /// (the remote side).
    /// Polls, because a process told to exit takes a moment; empty means nothing outlived the cycle.
    func leftovers(server: TestSSHD? = nil, within seconds: Double = 5) -> [String] {
        let unique = Array(uniquePath.utf8)
        // sshd gives every session `SSH_CONNECTION=<client> <port> <server> <port>`; it stays in the
        // environment of a remote process even after its session ended and it was reparented to init.
        let session = server.map { Array(" 127.0.0.1 \($0.port)".utf8) + [0] }
        return RunningProcesses.waitUntilGone(within: seconds) { process in
            if let server, process.hasAncestor(server.pid) { return true }
            if let session, process.environmentContains(session) { return true }
            if process.argvContains(unique) || process.environmentContains(unique) {
                return true
            }
            // ssh and its master name the port only as `-p PORT`; match that word, not any digits.
            if let server, process.isNamed("ssh") && process.argv.contains(Array("\(server.port)".utf8)) {
                return true
            }
            return false
        }
    }
}

/// A Forge-like folder: date sub-folders holding the awkward names (newline, tab, `\#012`, leading `-`,
/// spaces, emoji, invalid UTF-8, `*`, quotes), every file with its own content and an old mtime.
enum DatedTree {
    static let days = ["2026-11-24", "2026-11-25"]

    /// Writes the tree under `folder` and returns how many files it holds.
    @discardableResult
    static func make(in folder: String, seed: Int = 0) throws -> Int {
        var count = 0
        for (dayIndex, day) in days.enumerated() {
            let dayFolder = Array((folder + "/" + day).utf8)
            for (index, name) in AwkwardTree.names.enumerated() where dayIndex == 0 || index % 2 == 0 {
                let n = seed * 1000 + dayIndex * 100 + index
                let content = (0..<(700 + n % 97 * 211)).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ n) }
                let full = dayFolder + [0x2F] + name
                if let slash = full.lastIndex(of: 0x2F) { try BytePath.mkdirs(Array(full[..<slash])) }
                try BytePath.write(full, content, mtime: Int64(1_760_000_000 + n * 61))
                count += 1
            }
        }
        return count
    }
}
