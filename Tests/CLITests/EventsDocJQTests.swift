import Foundation
import Testing

/// The jq examples of docs/events.md, run by the real jq on the real `sync --json` stream of a 4-job cycle:
/// what a script author copies from the page must keep working as the schema moves (v2: a `progress` carries
/// only what changed).
@Suite struct EventsDocJQTests {
    /// The ```sh blocks under "## jq examples", each the one command line it shows.
    static func examples() throws -> [String] {
        let text = try String(contentsOf: CLIRunner.packageRoot.appendingPathComponent("docs/events.md"), encoding: .utf8)
        let section = try #require(text.range(of: "## jq examples")).upperBound
        var commands: [String] = []
        for block in text[section...].components(separatedBy: "```sh\n").dropFirst() {
            commands.append(String(block.prefix { $0 != "\n" }))
        }
        return commands
    }

    @Test func theJQExamplesWorkOnARealStream() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/jq") else {
            Issue.record("jq is not installed (bin/_setup.sh installs it); the jq examples were not run")
            return
        }
        let world = try SyncWorld()
        try world.writeConfig(sources: [("forge", ["a", "b"], ""), ("box", ["c", "d"], "")], top: ["settle: 0s", "concurrency: 2"])
        for folder in ["a", "b", "c", "d"] {
            try FileManager.default.createDirectory(atPath: world.sourceRoot + "/" + folder, withIntermediateDirectories: true)
            for i in 0..<3 { FileManager.default.createFile(atPath: "\(world.sourceRoot)/\(folder)/\(i).png", contents: Data(repeating: UInt8(i), count: 5_000)) }
        }
        let run = try world.sync()
        #expect(run.status == 0, "\(run.stderr)")
        let stream = world.root + "/events.jsonl"
        try Data(run.stdout).write(to: URL(fileURLWithPath: stream))

        let commands = try Self.examples()
        #expect(commands.count >= 4, "\(commands)")
        var outputs: [String: [String]] = [:]
        for command in commands {
            // The stream stands in for `mediasync sync --json` / `mediasync attach --json`.
            let pipe = try #require(command.range(of: " | "), "\(command)")
            #expect(command.hasPrefix("mediasync "), "\(command)")
            let script = "cat \(stream)" + command[pipe.lowerBound...]
            let out = world.root + "/jq-\(outputs.count).out"
            let pid = try Spawn.start(["/bin/bash", "-c", script], environment: ProcessInfo.processInfo.environment, stdout: out, stderr: out)
            let status = ServeHarness.wait(pid, timeout: 30)
            let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
            #expect(status == 0, "`\(script)` failed: \(text)")
            outputs[command] = text.split(separator: "\n").map(String.init)
        }
        func output(_ marker: String) throws -> [String] {
            try #require(outputs.first { $0.key.contains(marker) }?.value, "no example with \(marker)")
        }
        let synced = run.of("file_synced").compactMap { $0["library_path"] as? String }
        #expect(synced.count == 12)
        #expect(try output(".library_path'") == synced)
        let percents = try output("overall.percent")
        #expect(percents.count == run.of("progress").count && percents.last?.hasPrefix("100%  12/12 files") == true, "\(percents)")
        let picture = try #require(try output("foreach").last.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        let jobs = try #require(picture["jobs"] as? [String: String], "\(picture)")
        #expect(jobs == ["forge/a": "done", "forge/b": "done", "box/c": "done", "box/d": "done"], "\(picture)")
        #expect(try output("failed").isEmpty)
    }
}
