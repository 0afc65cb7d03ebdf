import Foundation
@testable import MediaSyncEngine
import MediaSyncCore
import Testing

/// A SIGKILLed rsync leaves its `.<name>.XXXXXX` in the library folder it placed files into. What must hold:
/// exactly those are removed, for a short name and for one rsync shortens, and nothing of the user's that
/// merely looks alike. The temporary files here are the real rsync's, killed mid-file.
@Suite("rsync's leftovers in the library")
struct RsyncLeftoversTests {
    @Test("a killed rsync's temporary files are removed, long names too; look-alikes and folders stay")
    func killedRsyncLeftovers() throws {
        let temp = try TempFolder("rl")
        let source = temp.sub("src"), library = temp.sub("lib")
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: library + "/box/out", withIntermediateDirectories: true)
        let long = String(repeating: "n", count: 250) + ".png"   // rsync keeps 246 bytes of it in its temporary name
        let names = ["big.png", long]
        for name in names {
            try Data((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: URL(fileURLWithPath: source + "/" + name))
        }
        // One rsync per file, slowed down, killed once both temporary files exist. Started with Foundation's
        // Process, which gives the child default signal handling and an empty signal mask as mediasync's
        // children get: started with a plain posix_spawn, both rsyncs exited 12 at once whenever other suites
        // ran beside this one (seen twice; the cause was not pinned down further).
        var rsyncs: [Process] = []
        for name in names {
            let rsync = Process()
            rsync.executableURL = URL(fileURLWithPath: "/usr/bin/rsync")
            rsync.arguments = ["--times", "--bwlimit=500", source + "/" + name, library + "/box/out/"]
            try rsync.run()
            rsyncs.append(rsync)
        }
        let folder = library + "/box/out"
        let deadline = Date().addingTimeInterval(30)
        var hidden: [String] = []
        while Date() < deadline {
            hidden = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasPrefix(".") }
            if hidden.count == 2 { break }
            usleep(20_000)
        }
        let states = rsyncs.map { $0.isRunning ? "running" : "exited \($0.terminationStatus)" }
        let seen = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        RunningProcesses.killRsyncs(mentioning: Array(temp.path.utf8))
        for rsync in rsyncs { rsync.waitUntilExit() }
        #expect(hidden.count == 2, "rsync's temporary files never showed: \(seen), rsyncs \(states)")
        hidden = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasPrefix(".") }
        #expect(hidden.count == 2, "the killed rsyncs' temporary files are not both there: \(hidden)")
        #expect(hidden.contains { $0.count == 254 }, "the long name's temporary file: \(hidden.map(\.count))")
        // What the user may have that merely looks alike: another suffix length, another name, a folder.
        let alike = [".big.png.Ab12C", ".other.png.Ab12Cd", ".big.png.Ab-2Cd"]
        for name in alike { FileManager.default.createFile(atPath: folder + "/" + name, contents: Data("mine".utf8)) }
        try FileManager.default.createDirectory(atPath: folder + "/.big.png.Zz99Yy", withIntermediateDirectories: false)

        let removed = RsyncLeftovers.remove(for: names.map { Array("box/out/\($0)".utf8) }, libraryRoot: library)
        #expect(Set(removed.map { String(decoding: $0, as: UTF8.self) }) == Set(hidden.map { "box/out/" + $0 }))
        let left = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(left == (alike + [".big.png.Zz99Yy"]).sorted(), "\(left)")
    }
}
