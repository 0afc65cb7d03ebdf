import Foundation
import Testing

/// `mediasync serve` purges in its cycles too (they are the same `SyncCycle`), and `--no-purge` is not
/// needed to keep young files: the purge plan keeps them.
@Suite struct SyncPurgeServeTests {
    @Test func serveCyclesPurgeWhatTheySynced() throws {
        let serve = try ServeHarness(folders: ["a"], extraConfig: "purge: {enabled: true, min_age: 30m}")
        defer { serve.stop() }
        try serve.makeFiles("a", count: 20, size: 300)  // mtimes an hour back: older than min_age
        let young = serve.sources + "/a/young.png"
        FileManager.default.createFile(atPath: young, contents: Data([1, 2, 3]))
        try serve.start()

        let deadline = Date().addingTimeInterval(30)
        func left() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: serve.sources + "/a")) ?? []).sorted() }
        while Date() < deadline && left() != ["young.png"] { usleep(100_000) }
        #expect(left() == ["young.png"], "serve's cycle left \(left()) on the source; log:\n\(serve.log.suffix(2000))")
        for i in 0..<20 {
            #expect(FileManager.default.fileExists(atPath: serve.library + "/src/a/f\(i).png"), "f\(i).png not in the library")
        }
        let history = try serve.cli(["purge", "--config", serve.configPath, "--history", "--json"])
        #expect(history.status == 0, "\(history.stderr)")
        #expect(history.stdout.split(separator: "\n").count == 20)
    }
}
