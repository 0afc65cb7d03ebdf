import Foundation
import Testing

/// What a person sees without `--json` when stderr is not a terminal (cron, a pipe, a log file), and the
/// `mediasync demo` a newcomer runs first.
@Suite struct PlainOutputAndDemoTests {
    static let aged = Int(Date().timeIntervalSince1970) - 2 * 86_400

    /// One plain line per finished job, the reason of a failure on the failed job's line, one summary line,
    /// one purge line; nothing on stdout and no terminal control codes anywhere.
    @Test func syncWithoutJSONWritesOnePlainLinePerJobAndASummary() throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let world = try SyncWorld()
        for (name, size) in [("a.png", 2048), ("b.png", 1000)] {
            try RawFS.write(world.source("renders/" + name), [UInt8](repeating: 7, count: size), mtime: Self.aged)
        }
        // A file where the folder should be: that job fails (a missing folder would only be "not created yet").
        try RawFS.write(world.source("not-a-folder"), Array("x".utf8), mtime: Self.aged)
        try world.writeConfig(sources: [("good", ["renders"], ""), ("bad", ["not-a-folder"], "")],
                              top: ["settle: 0s", "retry: {attempts: 1}", "purge: {enabled: true, min_age: 1h}"])

        let run = try cli.run(["sync", "--config", world.configPath])
        #expect(run.status == 1, "one job failed: \(run.stderr)")
        #expect(run.stdout.isEmpty, "stdout is for --json only: \(run.stdout.debugDescription)")
        #expect(!run.stderr.contains("\u{1B}"), "terminal codes on a plain stderr: \(run.stderr.debugDescription)")
        let lines = run.stderr.split(separator: "\n").map(String.init)
        let good = lines.filter { $0.hasPrefix("✓ good/renders") }
        #expect(good.count == 1, "\(lines)")
        #expect(good.first?.contains("2 files") == true && good.first?.contains("3.0 KiB in ") == true, "\(good)")
        let bad = lines.filter { $0.hasPrefix("✗ bad/not-a-folder") }
        #expect(bad.count == 1, "\(lines)")
        #expect(bad.first?.contains("failed after 1 attempt: ") == true && bad.first?.contains("not-a-folder") == true,
                "the failed job's line gives the reason: \(bad)")
        #expect(lines.contains { $0.hasPrefix("1 of 2 jobs done, 2 files, 3.0 KiB in ") && $0.hasSuffix("; 1 failed") },
                "no summary line: \(lines)")
        #expect(lines.last == "purge: 2 files deleted from the sources", "\(lines)")
        #expect(!RawFS.exists(world.source("renders/a.png")), "the purge line tells what happened")

        // A run with nothing to do says so in the same shape, and exits 0 once the bad source is gone.
        try world.writeConfig(sources: [("good", ["renders"], "")], top: ["settle: 0s", "retry: {attempts: 1}"])
        let again = try cli.run(["sync", "--config", world.configPath])
        #expect(again.status == 0, "\(again.stderr)")
        let againLines = again.stderr.split(separator: "\n").map(String.init)
        #expect(againLines.contains { $0.hasPrefix("✓ good/renders") && $0.contains("0 files") }, "\(againLines)")
        #expect(againLines.last?.hasPrefix("1 of 1 jobs done, 0 files, 0 B in ") == true, "\(againLines)")
    }

    /// `mediasync demo` makes its world, syncs it, and tells what it did: the files that were old enough are in
    /// the library (the fresh ones wait), the ingest recorded each of them, and the next commands it prints work.
    @Test func demoRunsAndItsSummaryIsTrue() throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        let run = try cli.run(["demo", "--images", "24"], timeout: 300)
        let root = run.stderr.split(separator: "\n").first { $0.hasPrefix("Remove it all with: rm -rf ") }
            .map { String($0.dropFirst("Remove it all with: rm -rf ".count)) }
        defer { if let root, root.hasPrefix("/tmp/mediasync-demo-") { try? FileManager.default.removeItem(atPath: root) } }
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(run.stderr.hasPrefix("mediasync demo: generating 24 images...\n"), "\(run.stderr.prefix(200))")
        let root_ = try #require(root, "no `Remove it all with` line: \(run.stderr)")
        #expect(root_.hasPrefix("/tmp/mediasync-demo-"), "\(root_)")

        // "files:    N PNGs, M MiB; F written just now will wait (settle 2m)"
        let filesLine = try #require(run.stderr.split(separator: "\n").first { $0.hasPrefix("files:") }.map(String.init))
        let words = filesLine.split(separator: " ")
        let made = try #require(Int(words[1]), "\(filesLine)")
        let fresh = try #require(filesLine.split(separator: ";").last?.split(separator: " ").first.flatMap { Int($0) }, "\(filesLine)")
        let library = root_ + "/library"
        let home = RawFS.tree(library).count
        #expect(home == made - fresh, "\(home) files in the library; \(made) made, \(fresh) fresh")
        #expect(run.stderr.contains("The library now holds \(home) files in \(library):"), "\(run.stderr)")
        #expect(run.stderr.contains("4 of 4 jobs done, \(home) files"), "the plain summary line: \(run.stderr)")
        #expect(run.stderr.contains("✓ forge/txt2img-images") && run.stderr.contains("✓ comfyui/output"), "\(run.stderr)")
        // The reference ingest recorded every file that came home.
        #expect(run.stderr.contains("The ingest (contrib/ingest/sqlite) recorded: \(home) rows in "), "\(run.stderr)")

        // Its first suggestion: the same config again moves nothing but the fresh files, once they settled
        // (2 minutes after the demo wrote them; a loaded machine may get there).
        let config = root_ + "/config.yaml"
        #expect(run.stderr.contains("sync --config \(config)"), "\(run.stderr)")
        let again = try cli.run(["sync", "--config", config], timeout: 120)
        #expect(again.status == 0, "\(again.stderr)")
        let summary = again.stderr.split(separator: "\n").first { $0.hasPrefix("4 of 4 jobs done, ") }
        let moved = summary.flatMap { $0.split(separator: " ")[5...].first.flatMap { Int($0) } }
        #expect(moved != nil && moved! <= fresh, "the second run moved more than the fresh files: \(again.stderr)")
    }
}
