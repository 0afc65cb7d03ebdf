import Foundation
import MediaSyncCore
import Testing

/// `mediasync purge` as a user runs it: the built binary, a config file, a real folder.
@Suite("mediasync purge, run as a built binary")
struct PurgeCLITests {
    /// The `mediasync` binary next to the test runner (`swift build --build-tests` puts both there).
    static func binary() throws -> String {
        if let override = ProcessInfo.processInfo.environment["MEDIASYNC_BIN"], !override.isEmpty { return override }
        let runner = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        var folder = URL(fileURLWithPath: runner).deletingLastPathComponent()
        while folder.pathExtension == "xctest" { folder.deleteLastPathComponent() }
        return folder.appendingPathComponent("mediasync").path
    }

    @Test("a library that is not there (an unmounted disk) stops the purge with exit 2 and the fix; nothing is deleted")
    func missingLibrary() throws {
        let world = try PurgeWorld("pnol")
        let old = try world.add(Array("old.png".utf8))
        let config = world.temp.sub("config.yaml")
        try """
            library: \(world.library)-not-mounted
            state_dir: \(world.state)
            purge: {enabled: true, min_age: 24h}
            sources:
              - {name: src, transport: local, root: "\(world.root)", folders: ["\(world.folder)"]}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let run = try Tool.run([try Self.binary(), "purge", "--config", config])
        #expect(run.status == 2)
        #expect(run.errorText.contains("library \(world.library)-not-mounted does not exist") && run.errorText.contains("mount its disk"),
                "\(run.errorText)")
        #expect(BytePath.exists(old))
    }

    @Test("--dry-run --json lists the decisions, the real run carries them out, --history shows the audit")
    func dryRunThenPurgeThenHistory() throws {
        let world = try PurgeWorld("pcli")
        let old = try world.add(Array("old one.png".utf8))
        let young = try world.add(Array("young.png".utf8), ageSeconds: 60)
        let config = world.temp.sub("config.yaml")
        try """
            library: \(world.library)
            state_dir: \(world.state)
            purge: {enabled: true, min_age: 24h, protect: ["keep-*"]}
            sources:
              - {name: src, transport: local, root: "\(world.root)", folders: ["\(world.folder)"]}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let binary = try Self.binary()

        let preview = try Tool.run([binary, "purge", "--config", config, "--dry-run", "--json"])
        #expect(preview.status == 0, "\(preview.errorText)")
        let lines = preview.text.split(separator: "\n").map(String.init)
        // (The first run also marks the library: an info line may come first.)
        #expect(lines.first { $0.contains(#""type":"purge_started""#) }?.contains(#""type":"purge_started","cycle":0,"job":"src/out put","dry_run":true"#) == true)
        #expect(lines.contains { $0.contains(#""type":"file_purged""#) && $0.contains(#""path":"old one.png""#) && $0.contains(#""dry_run":true"#) })
        #expect(lines.contains { $0.contains(#""type":"file_kept""#) && $0.contains(#""path":"young.png","reason":"too_young""#) })
        #expect(BytePath.exists(old))

        let real = try Tool.run([binary, "purge", "--config", config])
        #expect(real.status == 0, "\(real.errorText)")
        #expect(real.text.contains("deleted  src/out put/old one.png"))
        #expect(real.text.contains("kept  src/out put/young.png  (too_young)"))
        #expect(real.text.contains("src/out put: 1 deleted (1000 B), 1 kept"))
        #expect(!BytePath.exists(old))
        #expect(BytePath.exists(young))

        let history = try Tool.run([binary, "purge", "--config", config, "--history", "--since", "7d", "--json"])
        #expect(history.status == 0, "\(history.errorText)")
        #expect(history.text.contains(#""source":"src","folder":"out put","path":"old one.png","size":1000"#))
        #expect(history.text.contains(#""library_path":"src/out put/old one.png""#))
        let plain = try Tool.run([binary, "purge", "--config", config, "--history"])
        #expect(plain.text.contains("1 file deleted, 1000 B"))

        let bad = try Tool.run([binary, "purge", "--config", config, "--source", "nope"])
        #expect(bad.status == 2)
        #expect(bad.errorText.contains("no source named 'nope'"))
    }
}
