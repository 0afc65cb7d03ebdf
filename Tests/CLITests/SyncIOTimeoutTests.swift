import Foundation
import Testing

/// `io_timeout` is rsync's `--timeout` (docs/config.md): the value a user sets must be on the command line
/// of the rsync that copies, read from the running process itself (/proc), not from our own argv builder.
@Suite struct SyncIOTimeoutTests {
    @Test(arguments: [("io_timeout: 17s", 17), ("io_timeout: 2m", 120), ("", 60)])
    func ioTimeoutReachesTheRunningRsync(setting: String, seconds: Int) throws {
        let world = try SyncWorld()
        var top = ["settle: 0s", "retry: {attempts: 1}"]
        if !setting.isEmpty { top.append(setting) }
        // Slow enough that the rsync child is there to be looked at.
        try world.writeConfig(sources: [("src", ["out"], "bwlimit: 200")], top: top)
        let content = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ $0 >> 9) }
        try RawFS.write(world.source("out/slow.png"), content, mtime: 1_767_225_600)

        let running = try world.start()
        var argv: [String] = []
        let seen = Watch.until(timeout: 60) {
            for child in Watch.children(of: running.pid, named: "rsync") {
                guard let data = FileManager.default.contents(atPath: "/proc/\(child)/cmdline"), !data.isEmpty else { continue }
                argv = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
                return true
            }
            return running.poll() != nil
        }
        let run = try running.finish(timeout: 60)
        #expect(seen && !argv.isEmpty, "never saw the rsync child; stderr: \(run.stderr)")
        #expect(argv.contains("--timeout=\(seconds)"), "rsync's argv: \(argv)")
        #expect(argv.filter { $0.hasPrefix("--timeout") }.count == 1, "rsync's argv: \(argv)")
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(RawFS.read(world.inLibrary("src/out/slow.png")) == content)
    }
}
