import Foundation
import MediaSyncCore
import MediaSyncEngine
import Testing

/// The library on the disks people really use, each a real file system mounted here as root: ext4, xfs and
/// btrfs images on loop devices, exFAT (Debian's exfat-fuse) and FAT32 (fusefat) as on a USB drive, and sshfs
/// to the loopback sshd as a network file system through FUSE. (NFS and SMB need a server this machine cannot
/// run; sshfs stands in for what they imply: no RENAME_NOREPLACE, no hard links across the wire. See
/// docs/architecture.md.)
@Suite("library disks", .serialized, .enabled(if: getuid() == 0, "mounting file systems needs root"))
struct LibraryDiskTests {
    enum Kind: String, CaseIterable, Sendable { case ext4, xfs, btrfs, exfat, fat32, sshfs }

    /// A file system made for one test and mounted at `mountPoint`; unmounted and freed at deinit.
    final class MountedDisk {
        let mountPoint: String
        private let folder: TempFolder
        private var loopDevice: String?

        init(_ kind: Kind, server: TestSSHD?) throws {
            folder = try TempFolder("disk-\(kind.rawValue)")
            mountPoint = folder.sub("mnt")
            try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
            let image = folder.sub("disk.img")
            func makeImage(_ megabytes: Int, _ mkfs: [String]) throws {
                try Tool.check(["truncate", "-s", "\(megabytes)M", image])
                try Tool.check(mkfs + [image])
            }
            func attach() throws -> String {
                let device = try Tool.check(["losetup", "-f", "--show", image]).trimmingCharacters(in: .whitespacesAndNewlines)
                loopDevice = device
                return device
            }
            switch kind {
            case .ext4:
                try makeImage(64, ["mkfs.ext4", "-q", "-F"])
                try Tool.check(["mount", "-o", "loop", image, mountPoint])
            case .xfs:
                try makeImage(320, ["mkfs.xfs", "-q", "-f"])
                try Tool.check(["mount", "-o", "loop", image, mountPoint])
            case .btrfs:
                try makeImage(160, ["mkfs.btrfs", "-q", "-f"])
                try Tool.check(["mount", "-o", "loop", image, mountPoint])
            case .exfat:
                try makeImage(64, ["mkfs.exfat"])
                try Tool.check(["mount.exfat-fuse", try attach(), mountPoint])
            case .fat32:
                try makeImage(64, ["mkfs.vfat", "-F", "32"])
                try Tool.check(["fusefat", "-o", "rw+", try attach(), mountPoint])
            case .sshfs:
                let server = try #require(server)
                let exported = folder.sub("exported")
                try FileManager.default.createDirectory(atPath: exported, withIntermediateDirectories: true)
                try Tool.check(["sshfs", "-p", "\(server.port)", "-o", "IdentityFile=\(server.identity)",
                                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                                "root@127.0.0.1:\(exported)", mountPoint])
            }
        }

        deinit {
            _ = try? Tool.run(["umount", mountPoint])
            if let loopDevice { _ = try? Tool.run(["losetup", "-d", loopDevice]) }
        }
    }

    /// The source files every disk gets; a name FAT and exFAT cannot hold, and one fusefat cannot (not ASCII).
    static let odd: Int64 = (Int64(Date().timeIntervalSince1970) - 3 * 86_400) | 1
    static let files: [(name: String, size: Int)] = [
        ("2026-11-24/00001-3912345.png", 5_000), ("ComfyUI_00002_.png", 20_000), ("video.mp4", 1 << 20),
        ("a:b.png", 700), ("caf\u{e9}.png", 900),
    ]

    static func refused(on kind: Kind) -> Set<String> {
        switch kind {
        case .exfat: ["a:b.png"]
        case .fat32: ["a:b.png", "caf\u{e9}.png"]
        default: []
        }
    }

    static func content(_ name: String, _ size: Int) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ name.utf8.count &* 7) }
    }

    /// The built `mediasync` beside this test runner.
    static func binary() throws -> String {
        if let override = ProcessInfo.processInfo.environment["MEDIASYNC_BIN"], !override.isEmpty { return override }
        var folder = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            .deletingLastPathComponent()
        while folder.pathExtension == "xctest" { folder.deleteLastPathComponent() }
        return folder.appendingPathComponent("mediasync").path
    }

    @Test("first sync byte-exact, second cycle moves nothing, purge by size and by checksum deletes exactly the verified files, SIGKILL leaves no partial file at a final path",
          arguments: Kind.allCases)
    func aLibraryOn(_ kind: Kind) throws {
        let server = kind == .sshfs ? try TestSSHD() : nil
        let disk = try MountedDisk(kind, server: server)
        let h = try SyncHarness("dk")
        let root = h.temp.sub("src")
        let library = disk.mountPoint + "/media"
        try FileManager.default.createDirectory(atPath: library, withIntermediateDirectories: true)
        for file in Self.files {
            try BytePath.mkdirs(Array((root + "/out/" + ((file.name as NSString).deletingLastPathComponent)).utf8))
            try BytePath.write(Array((root + "/out/" + file.name).utf8), Self.content(file.name, file.size), mtime: Self.odd)
        }
        var source = h.localSource("box", root: root, folders: ["out"])
        var config = h.config([source])
        config.library = library
        let refused = Self.refused(on: kind)
        let home = library + "/box/out/"

        // First sync: every name the disk can hold lands byte for byte; the others are named and stay.
        let first = try h.run(config)
        #expect(first.result.jobsFailed == 0, "\(kind): \(first.summary)")
        for file in Self.files {
            let copy = BytePath.read(Array((home + file.name).utf8))
            if refused.contains(file.name) {
                #expect(copy == nil, "\(kind): \(file.name) should not be in the library")
            } else {
                let exact = copy == Self.content(file.name, file.size)
                #expect(exact, "\(kind): \(file.name) is not home byte for byte (\(copy?.count ?? -1) bytes)")
                let mtime = Int64(BytePath.stat(Array((home + file.name).utf8))?.st_mtim.tv_sec ?? 0)
                #expect(abs(mtime - Self.odd) < 2, "\(kind): \(file.name) mtime \(mtime), source \(Self.odd)")
            }
        }
        let notAllowed = first.events.compactMap { event -> String? in
            guard case let .fileDeferred(_, _, path, reason) = event.body, reason == "name_not_allowed" else { return nil }
            return String(decoding: path, as: UTF8.self)
        }
        #expect(Set(notAllowed) == refused, "\(kind): deferred \(notAllowed)")
        for name in refused {
            #expect(first.logs.contains { $0.level == "warning" && $0.message.contains(name) && $0.message.contains("cannot hold") },
                    "\(kind): no warning names \(name)")
        }

        // Second cycle: nothing moves (FAT's 2-second times must not look like changed files).
        let second = try h.run(config)
        #expect(second.synced.isEmpty && second.result.jobsFailed == 0, "\(kind): \(second.summary)")
        #expect(second.events.allSatisfy { if case .fileDeferred(_, _, _, let reason) = $0.body { reason == "name_not_allowed" } else { true } })

        // Purge, verify by size: exactly the files home go; the ones the disk could not hold stay (not_synced).
        source.purge = true
        config.sources = [source]
        config.purge = PurgeSettings(enabled: true, minAge: .seconds(3600), verify: .size)
        let bySize = try PurgeRunner.run(config: config, options: PurgeOptions(childEnvironment: h.options.childEnvironment)) { _ in }
        #expect(bySize.map(\.error) == [nil], "\(kind): \(bySize)")
        #expect(bySize.first?.deleted == Self.files.count - refused.count)
        for file in Self.files {
            #expect(FileManager.default.fileExists(atPath: root + "/out/" + file.name) == refused.contains(file.name),
                    "\(kind): \(file.name) at the source after the purge")
        }

        // Purge, verify by checksum: a library copy changed in place (same size) keeps its source.
        config.purge.verify = .checksum
        for name in ["good.png", "changed.png"] {
            try BytePath.write(Array((root + "/out/" + name).utf8), Self.content(name, 3000), mtime: Self.odd)
        }
        #expect(try h.run(config.withoutPurge()).synced.count == 2)
        var changed = Self.content("changed.png", 3000)
        changed[10] ^= 0xff
        unlink(home + "changed.png")  // fusefat cannot truncate a file in place: a new one with the same size
        try BytePath.write(Array((home + "changed.png").utf8), changed, mtime: Self.odd)
        let byChecksum = try PurgeRunner.run(config: config, options: PurgeOptions(childEnvironment: h.options.childEnvironment)) { _ in }
        #expect(byChecksum.map(\.error) == [nil], "\(kind): \(byChecksum)")
        #expect(!FileManager.default.fileExists(atPath: root + "/out/good.png"), "\(kind): the verified file stays")
        #expect(FileManager.default.fileExists(atPath: root + "/out/changed.png"), "\(kind): a file whose copy differs was purged")

        // SIGKILL mid-sync: no partial file at a final path; the next run brings it home whole.
        let big = (0..<(12 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 11) }
        try BytePath.write(Array((root + "/out/big.bin").utf8), big, mtime: Self.odd)
        let yaml = h.temp.sub("config.yaml")
        try """
            library: \(library)
            state_dir: \(config.stateDirectory)
            settle: 0s
            sources:
              - {name: box, transport: local, root: \(root), folders: [out], bwlimit: 3M}
            """.write(toFile: yaml, atomically: true, encoding: .utf8)
        let pid = try Tool.spawn([try Self.binary(), "sync", "--config", yaml, "--json"], stdoutTo: h.temp.sub("kill.out"))
        // Unfinished bytes are in staging, or, where rsync places files into the library itself (a first sync on
        // ext4), in its hidden temporary file in the library folder (the few finished files there are small).
        let unfinished = [library + "/.mediasync/staging/box/out", home]
        let copying = Self.wait(timeout: 60) { unfinished.map(Self.stagedBytes).reduce(0, +) > 2 << 20 }
        kill(pid, SIGKILL)
        Tool.reap(pid)
        #expect(copying, "\(kind): the killed run never got going")
        #expect(BytePath.stat(Array((home + "big.bin").utf8)) == nil, "\(kind): a partial big.bin has its final name")
        let after = try h.run(config.withoutPurge())
        #expect(after.result.jobsFailed == 0, "\(kind): \(after.summary)")
        let whole = BytePath.read(Array((home + "big.bin").utf8)) == big
        #expect(whole, "\(kind): big.bin is not whole after the next run")
        // Where rsync wrote into the library itself, the killed run's temporary file is gone too.
        let hidden = try FileManager.default.contentsOfDirectory(atPath: home).filter { $0.hasPrefix(".") }
        #expect(hidden.isEmpty, "\(kind): left in the library: \(hidden)")
    }

    static func wait(timeout: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    static func stagedBytes(_ folder: String) -> Int {
        guard let walker = FileManager.default.enumerator(atPath: folder) else { return 0 }
        var total = 0
        while let name = walker.nextObject() as? String {
            let attributes = try? FileManager.default.attributesOfItem(atPath: folder + "/" + name)
            if attributes?[.type] as? FileAttributeType == .typeRegular { total += (attributes?[.size] as? Int) ?? 0 }
        }
        return total
    }
}

extension Config {
    /// The same config with purge off for every source (a sync that must not purge).
    func withoutPurge() -> Config {
        var copy = self
        copy.sources = sources.map { var s = $0; s.purge = false; return s }
        return copy
    }
}
