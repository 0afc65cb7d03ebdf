import ArgumentParser
import Foundation
import MediaSyncCore
import MediaSyncEngine

/// `mediasync demo`: the whole job on a built-in example, with no config and no root needed.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Try mediasync on a throwaway Forge-like and ComfyUI-like source (no config needed).",
        discussion: """
            Makes a temp folder with a few hundred generated PNGs in Forge's and ComfyUI's layouts (some \
            older than a day, a few written just now), an empty library, and runs one full cycle with the \
            live view. Nothing outside the temp folder is touched.
            """
    )

    @Option(help: "How many images to generate.")
    var images = 300

    @Flag(help: "Write JSON events to stdout, one per line, as `sync --json` does.")
    var json = false

    func run() throws {
        FileHandle.standardError.write(Data("mediasync demo: generating \(images) images...\n".utf8))
        let world: DemoWorld
        do {
            world = try DemoWorld.make(images: images, ingestScript: Self.referenceIngest())
        } catch {
            FileHandle.standardError.write(Data("mediasync demo: \(error)\n".utf8))
            throw ExitCode(1)
        }
        FileHandle.standardError.write(Data("""
            sources:  \(world.forgeRoot) (Forge), \(world.comfyRoot) (ComfyUI)
            files:    \(world.files) PNGs, \(world.bytes / 1_048_576) MiB; \(world.freshFiles) written just now will wait (settle 2m)
            library:  \(world.library)
            \(world.ingestDatabase.map { "ingest:   the SQLite reference ingest writes \($0)\n" } ?? "")
            """.utf8))
        let result = try SyncCommandRun.run(config: world.config, options: SyncOptions(), json: json)
        let me = ProcessInfo.processInfo.environment["MEDIASYNC_INVOKED_AS"] ?? "mediasync"
        let summary = """

            The library now holds \(result.files) files in \(world.library):
              \(world.library)/forge/txt2img-images/<date>/...   (Forge, date folders kept)
              \(world.library)/comfyui/output/...                 (ComfyUI)
            The demo's config is \(world.configPath). Next:
              \(me) sync --config \(world.configPath)          # again: nothing moves; the fresh files come once settled
              \(me) sync --config \(world.configPath) --json   # the same as JSON events
              \(me) serve --config \(world.configPath)         # keep it running; watch: \(me) attach --config \(world.configPath)
              \(me) check-config --config contrib/example-config.yaml   # then write your own
            \(world.ingestSummary().isEmpty ? "" : "The ingest (contrib/ingest/sqlite) recorded: " + world.ingestSummary().joined(separator: "\n  ") + "\n")\
            Remove it all with: rm -rf \(world.root)

            """
        FileHandle.standardError.write(Data(summary.utf8))
        if !result.succeeded { throw ExitCode(1) }
    }

    /// contrib/ingest/sqlite of this checkout: from bin/mediasync's MEDIASYNC_CONTRIB, else next to the
    /// binary's .build folder.
    static func referenceIngest() -> String? {
        let relative = "/ingest/sqlite/mediasync_ingest_sqlite.py"
        if let contrib = ProcessInfo.processInfo.environment["MEDIASYNC_CONTRIB"] { return contrib + relative }
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        // <checkout>/.build/<triple>/release/mediasync or <checkout>/.build/release/mediasync
        var folder = binary.deletingLastPathComponent()
        for _ in 0..<4 {
            folder = folder.deletingLastPathComponent()
            let candidate = folder.path + "/contrib" + relative
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        return nil
    }
}
