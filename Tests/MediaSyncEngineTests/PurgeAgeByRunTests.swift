import Foundation
import MediaSyncCore
@testable import MediaSyncEngine
import Testing

/// `purge.age_by` through the real listing script and a real purge: locally, over ssh to a real sshd, and with
/// busybox's find, stat and xargs in front of PATH (what an Alpine-like container has). Every file here has an
/// old mtime, so a file that stays `too_young` proves the other time decided.
@Suite("Purge: age_by on real sources", .serialized)
struct PurgeAgeByRunTests {
    static let day: Int64 = 86_400

    /// Sets the access time of a file (the mtime stays).
    func setAccessTime(_ path: [UInt8], _ seconds: Int64) throws {
        // UTIME_OMIT (glibc's (1 << 30) - 2) leaves the mtime as it is.
        var times = [timespec(tv_sec: Int(seconds), tv_nsec: 0), timespec(tv_sec: 0, tv_nsec: (1 << 30) - 2)]
        let cString = path.map { CChar(bitPattern: $0) } + [0]
        let rc = utimensat(AT_FDCWD, cString, &times, 0)
        try #require(rc == 0, "utimensat: \(String(cString: strerror(errno)))")
    }

    /// A folder of symlinks to busybox for find, stat and xargs, first in PATH: the listing then finds no `-printf`
    /// and no `stat --printf`, as in a busybox container. rsync stays the real one (busybox has none).
    func busyboxPath(_ world: PurgeWorld) throws -> String {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/busybox"), "busybox is missing (bin/_setup.sh)")
        let bin = world.temp.sub("busybox-bin")
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        for applet in ["find", "stat", "xargs"] {
            try FileManager.default.createSymbolicLink(atPath: bin + "/" + applet, withDestinationPath: "/usr/bin/busybox")
        }
        return bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
    }

    func sshWorld(_ tag: String, _ server: TestSSHD) throws -> PurgeWorld {
        let world = try PurgeWorld(tag)
        world.transport = .ssh(host: "127.0.0.1", port: server.port, user: "root", identity: server.identity,
                               options: ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "LogLevel=ERROR"])
        return world
    }

    /// Two files modified 30 days ago: one last read two days ago goes, one read an hour ago stays.
    func accessedWorld(_ world: PurgeWorld) throws -> (gone: [UInt8], stays: [UInt8]) {
        world.purge = PurgeSettings(enabled: true, minAge: .seconds(Self.day), ageBy: .accessed)
        let gone = try world.add(Array("read 2d ago.png".utf8), ageSeconds: 30 * Self.day)
        let stays = try world.add(Array("sub/read 1h ago.png".utf8), ageSeconds: 30 * Self.day)
        try setAccessTime(gone, world.now - 2 * Self.day)
        try setAccessTime(stays, world.now - 3600)
        return (gone, stays)
    }

    func expectAccessedOutcome(_ run: (results: [PurgeResult], events: [Event]), _ files: (gone: [UInt8], stays: [UInt8])) {
        #expect(run.results.map(\.error) == [nil], "\(run.events.warnings)")
        #expect(!BytePath.exists(files.gone), "the file not read for two days is still there")
        #expect(BytePath.exists(files.stays), "the file read an hour ago was purged")
        #expect(run.events.keptReasons == ["sub/read 1h ago.png": "too_young"])
        #expect(run.events.purged == ["read 2d ago.png"])
        #expect(run.events.warnings.filter { $0.contains("relatime") }.count == 1, "\(run.events.warnings)")
    }

    @Test("accessed, local (GNU find)")
    func accessedLocal() throws {
        let world = try PurgeWorld("aal")
        let files = try accessedWorld(world)
        expectAccessedOutcome(try world.run(), files)
    }

    @Test("accessed, over ssh")
    func accessedSSH() throws {
        let server = try TestSSHD()
        let world = try sshWorld("aas", server)
        let files = try accessedWorld(world)
        expectAccessedOutcome(try world.run(), files)
    }

    @Test("accessed, busybox find and stat: rsync --atimes lists the access times")
    func accessedBusybox() throws {
        let world = try PurgeWorld("aab")
        world.childEnvironment["PATH"] = try busyboxPath(world)
        let files = try accessedWorld(world)
        expectAccessedOutcome(try world.run(), files)
    }

    /// Files modified 30 days ago but born just now: by birth time they are young. The source's clock two days ahead
    /// (libfaketime in every child) makes them two days old by its clock, and then they go.
    @Test("created, local: birth time decides, by the source's clock")
    func createdLocal() throws {
        let world = try PurgeWorld("acl")
        world.purge = PurgeSettings(enabled: true, minAge: .seconds(Self.day), ageBy: .created)
        let file = try world.add(Array("born now.png".utf8), ageSeconds: 30 * Self.day)
        let birth = try Self.birthTime(file)
        try #require(birth > 0, "the temp folder's file system records no birth time; created cannot be tested on it")

        let young = try world.run()
        #expect(young.results.map(\.error) == [nil])
        #expect(young.events.keptReasons == ["born now.png": "too_young"], "a 30-day-old mtime was used instead of the birth time")
        #expect(BytePath.exists(file))

        world.childEnvironment = ["LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1", "FAKETIME": "+2d"]
        let later = try world.run()
        #expect(later.results.map(\.error) == [nil], "\(later.events.warnings)")
        #expect(later.events.purged == ["born now.png"])
        #expect(!BytePath.exists(file))
        #expect(later.events.warnings.contains { $0.contains("ahead of") }, "the clock skew went unnoticed")
    }

    @Test("created, over ssh with the box's clock two days ahead")
    func createdSSH() throws {
        let server = try TestSSHD(clockOffset: "+2d")
        let world = try sshWorld("acs", server)
        world.purge = PurgeSettings(enabled: true, minAge: .seconds(3 * Self.day), ageBy: .created)
        // Modified 30 days ago, born now: two days old by the box's clock, under the min age of three.
        let stays = try world.add(Array("young by birth.png".utf8), ageSeconds: 30 * Self.day)
        try #require(try Self.birthTime(stays) > 0, "no birth time on this file system")
        let run = try world.run()
        #expect(run.results.map(\.error) == [nil])
        #expect(run.events.keptReasons == ["young by birth.png": "too_young"])

        world.purge.minAge = .seconds(Self.day)
        let again = try world.run()
        #expect(again.events.purged == ["young by birth.png"], "\(again.events.keptReasons)")
        #expect(!BytePath.exists(stays))
    }

    /// busybox has no statx-capable stat: no birth times, so every file stays with `no_birth_time` and one warning.
    @Test("created, busybox: every file stays, no_birth_time, one warning")
    func createdBusybox() throws {
        let world = try PurgeWorld("acb")
        world.childEnvironment["PATH"] = try busyboxPath(world)
        world.purge = PurgeSettings(enabled: true, minAge: .seconds(0), ageBy: .created)
        let first = try world.add(Array("a.png".utf8), ageSeconds: 30 * Self.day)
        let second = try world.add(Array("deep/b.png".utf8), ageSeconds: 30 * Self.day)
        let run = try world.run()
        #expect(run.results.map(\.error) == [nil])
        #expect(BytePath.exists(first) && BytePath.exists(second))
        #expect(run.events.keptReasons == ["a.png": "no_birth_time", "deep/b.png": "no_birth_time"])
        let warnings = run.events.warnings.filter { $0.contains("no birth time") }
        #expect(warnings.count == 1 && warnings[0].contains("2 files kept"), "\(run.events.warnings)")
    }

    /// `stat -c %W` of a file: its birth time, 0 when the file system does not say.
    static func birthTime(_ path: [UInt8]) throws -> Int64 {
        let output = try Tool.check(["/usr/bin/stat", "-c", "%W", String(decoding: path, as: UTF8.self)])
        return Int64(output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }
}
