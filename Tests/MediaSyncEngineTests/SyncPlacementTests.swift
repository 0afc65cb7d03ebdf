import Foundation
import MediaSyncCore
import MediaSyncEngine
import Testing

/// A first sync writes straight into the library (`Placement.library`): rsync's own rename puts each file at
/// its name, which saves a rename per file. What users must not notice: a file another program puts at one of
/// those names meanwhile is kept, a folder in the library that is a symlink is still never followed, and
/// nothing unfinished is ever at a library name. Real rsync, a real library folder.
@Suite("sync: placing straight into the library")
struct SyncPlacementTests {
    static let aged = Int64(Date().timeIntervalSince1970) - 3 * 86_400

    /// `big.png` (2 MiB, about 5 s at the limit) and two small files, all old enough.
    static func source(_ h: SyncHarness) throws -> (Source, [String: [UInt8]]) {
        let root = h.temp.sub("src")
        let folder = root + "/out"
        try BytePath.mkdirs(Array(folder.utf8))
        var files: [String: [UInt8]] = [:]
        files["big.png"] = (0..<(2 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 11) }
        files["a.png"] = Array(repeating: 1, count: 300)
        files["c.png"] = Array(repeating: 3, count: 400)
        for (name, content) in files { try BytePath.write(Array((folder + "/" + name).utf8), content, mtime: aged) }
        let source = Source(name: "box", transport: .local, root: root, folders: ["out"], bwlimit: "400",
                            settle: .seconds(0))
        return (source, files)
    }

    @Test("a file another program puts at a planned name during the transfer is kept as name~2, never replaced")
    func foreignFileKept() throws {
        let h = try SyncHarness("pf")
        let (source, files) = try Self.source(h)
        let library = h.libraryFolder(source, "out")
        let theirs = Array("another program's picture".utf8)
        var placed = false
        let run = try h.run(h.config([source])) { event in
            // While rsync is on big.png (about 5 s): the program writes its own big.png into the library.
            guard !placed, case let .progress(_, snapshot) = event.body,
                  snapshot.jobs.contains(where: { $0.state == .transferring }) else { return }
            placed = true
            try? BytePath.write(Array((library + "/big.png").utf8), theirs)
        }
        #expect(placed)
        let finished = try #require(run.finished("box/out"), "\(run.summary)")
        #expect(finished.state == .done, "\(run.summary)")
        #expect(BytePath.read(Array((library + "/big.png").utf8)) == files["big.png"])
        #expect(BytePath.read(Array((library + "/big~2.png").utf8)) == theirs, "the other program's file is lost")
        let names = try FileManager.default.contentsOfDirectory(atPath: library).sorted()
        #expect(names == ["a.png", "big.png", "big~2.png", "c.png"], "\(names)")
        #expect(run.logs.contains { $0.level == "warning" && $0.message.contains("kept as box/out/big~2.png") },
                "\(run.logs.map(\.message))")
        let rows = try ManifestStore(stateDirectory: h.stateDirectory).rows(source: "box", folder: "out")
        #expect(Set(rows.map { String(decoding: $0.libraryPath, as: UTF8.self) }) == ["box/out/a.png", "box/out/big.png", "box/out/c.png"])
    }

    @Test("rsync killed mid-file: its temporary file never has a final name and is removed; the retry brings every file once")
    func killedLeavesNothingHalf() throws {
        let h = try SyncHarness("pk")
        let (source, files) = try Self.source(h)
        let library = h.libraryFolder(source, "out")
        var killed = 0
        var seenAfterKill: [String]?
        let run = try h.run(h.config([source])) { event in
            // Once rsync's temporary big.png (`.big.png.XXXXXX`, beside its final name) is there.
            guard killed == 0, case .progress = event.body,
                  let names = try? FileManager.default.contentsOfDirectory(atPath: library),
                  names.contains(where: { $0.hasPrefix(".big.png.") }) else { return }
            killed = RunningProcesses.killRsyncs(mentioning: Array(h.uniquePath.utf8))
            seenAfterKill = (try? FileManager.default.contentsOfDirectory(atPath: library)) ?? []
        }
        #expect(killed > 0, "no rsync was running mid-transfer")
        // Only whole files at final names; the unfinished one is rsync's hidden temporary name.
        let after = seenAfterKill ?? []
        #expect(after.contains { $0.hasPrefix(".big.png.") }, "\(after)")
        for name in after where !name.hasPrefix(".") {
            #expect(BytePath.read(Array((library + "/" + name).utf8)) == files[name], "\(name) in the library right after the kill")
        }
        let finished = try #require(run.finished("box/out"), "\(run.summary)")
        #expect(finished.state == .done && finished.attempts == 2, "\(run.summary)")
        let names = try FileManager.default.contentsOfDirectory(atPath: library).sorted()
        #expect(names == files.keys.sorted(), "the killed rsync's temporary file is still there: \(names)")
        for (name, content) in files { #expect(BytePath.read(Array((library + "/" + name).utf8)) == content, "\(name)") }
        #expect(run.synced.count == 3)
        #expect(run.logs.contains { $0.message.contains("removed 1 unfinished rsync temporary file") }, "\(run.logs.map(\.message))")
    }

    @Test("after a placing run that never ended, a run that goes through staging still removes its temporary files")
    func crashedPlacingThenStaging() throws {
        let h = try SyncHarness("pc")
        var (source, files) = try Self.source(h)
        source.bwlimit = nil
        let library = h.libraryFolder(source, "out")
        try FileManager.default.createDirectory(atPath: library, withIntermediateDirectories: true)
        // What a placing run killed with mediasync leaves (the real kill is RsyncLeftoversTests' and the
        // LibraryDisk tests'): rsync's temporary big.png and the run's marker, made here by hand.
        let temporary = library + "/.big.png.Qx7TzA"
        try BytePath.write(Array(temporary.utf8), Array(repeating: 9, count: 5000))
        let placing = h.library + "/.mediasync/placing/box/out"
        try FileManager.default.createDirectory(atPath: placing, withIntermediateDirectories: true)
        try #require(FileManager.default.createFile(atPath: placing + "/unfinished", contents: Data()), "cannot make the marker")
        // Since then another program wrote a.png: that name is taken, so this run stages.
        let theirs = Array("another program's a.png".utf8)
        try BytePath.write(Array((library + "/a.png").utf8), theirs)

        let run = try h.run(h.config([source]))
        let finished = try #require(run.finished("box/out"), "\(run.summary)")
        #expect(finished.state == .done, "\(run.summary)")
        let names = try FileManager.default.contentsOfDirectory(atPath: library).sorted()
        #expect(names == ["a.png", "a~2.png", "big.png", "c.png"], "\(names)")
        #expect(BytePath.read(Array((library + "/a.png").utf8)) == theirs)
        #expect(BytePath.read(Array((library + "/a~2.png").utf8)) == files["a.png"])
        #expect(BytePath.read(Array((library + "/big.png").utf8)) == files["big.png"])
        #expect(!FileManager.default.fileExists(atPath: placing + "/unfinished"), "the marker outlived the clean-up")
        #expect(run.logs.contains { $0.message.contains("removed 1 unfinished rsync temporary file") }, "\(run.logs.map(\.message))")
    }

    @Test("a process an earlier mediasync left writing into the library's staging is killed before the cycle plans")
    func orphanedTransferStopped() throws {
        let h = try SyncHarness("po")
        var (source, files) = try Self.source(h)
        source.bwlimit = nil
        // An orphan as a killed mediasync leaves one: a real rsync, no longer its child (double fork), writing
        // into this library's staging folder, slowly (1 KB/s). And a shell whose arguments name that folder too,
        // as a person's might: not an rsync, so not ours to kill.
        let staging = h.library + "/.mediasync/staging/box/out/"
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        let slow = h.temp.sub("slow.bin")
        try BytePath.write(Array(slow.utf8), Array(repeating: 7, count: 1 << 20))
        let started = try Tool.run(["/bin/sh", "-c", "nohup rsync --bwlimit=1 \"$0\" \"$1\" >/dev/null 2>&1 & echo $!", slow, staging])
        let orphan = try #require(Int32(String(decoding: started.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        defer { kill(orphan, SIGKILL) }
        let person = try Tool.run(["/bin/sh", "-c", "nohup /bin/bash -c 'while :; do sleep 0.2; done' \"$0\" >/dev/null 2>&1 & echo $!", staging])
        let shell = try #require(Int32(String(decoding: person.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        defer { kill(shell, SIGKILL) }
        #expect(kill(orphan, 0) == 0 && kill(shell, 0) == 0, "the stand-ins are not running")

        let run = try h.run(h.config([source]))
        #expect(run.finished("box/out")?.state == .done, "\(run.summary)")
        let state = (try? String(contentsOfFile: "/proc/\(orphan)/stat", encoding: .utf8)).flatMap { text in
            text.lastIndex(of: ")").map { text[text.index($0, offsetBy: 2)] }
        }
        #expect(state == nil || state == "Z", "the orphan still runs: state \(String(describing: state))")
        #expect(kill(shell, 0) == 0, "a process that is not an rsync was killed")
        // rsync forks a receiver: both name the staging folder, both are stopped.
        #expect(run.logs.contains { $0.level == "warning" && $0.message.contains("rsync processes an earlier mediasync left") && $0.message.contains("\(orphan)") },
                "\(run.logs.map(\.message))")
        for (name, content) in files { #expect(BytePath.read(Array((h.libraryFolder(source, "out") + "/" + name).utf8)) == content, "\(name)") }
    }

    @Test("a library folder that is a symlink is not followed: the job goes through staging and refuses it")
    func symlinkedFolderNotFollowed() throws {
        let h = try SyncHarness("ps")
        var (source, _) = try Self.source(h)
        source.bwlimit = nil
        let elsewhere = h.temp.sub("elsewhere")
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: h.library + "/box", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: h.library + "/box/out", withDestinationPath: elsewhere)
        let run = try h.run(h.config([source], attempts: 1))
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere) == [], "files went through the symlink")
        let finished = try #require(run.finished("box/out"), "\(run.summary)")
        #expect(finished.state == .failed, "\(run.summary)")
        #expect(finished.error?.contains("box/out") == true, "\(run.summary)")
        let link = try FileManager.default.destinationOfSymbolicLink(atPath: h.library + "/box/out")
        #expect(link == elsewhere, "the user's symlink was changed")
    }
}
