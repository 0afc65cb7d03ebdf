import Testing
import UV
#if canImport(Glibc)
import Glibc
#endif

@Suite struct RsyncChildTests {
    @Test func rsyncVersionIsCaptured() throws {
        let box = Captured()
        try withLoop { loop in
            try capture(loop, Command("rsync", ["--version"]), into: box)
        }
        #expect(box.stdoutText.hasPrefix("rsync  version "))
        #expect(box.status?.succeeded == true)
    }

    @Test func localCopyWithProgress2IsCapturedAndCopies() throws {
        let folder = makeTempFolder()
        defer { removeTree(folder) }
        #expect(system("mkdir -p \(folder)/src/sub && head -c 2000000 /dev/urandom > \(folder)/src/sub/a.png && head -c 1000 /dev/urandom > \(folder)/src/b.png") == 0)
        let box = Captured()
        var environment = Command.currentEnvironment()
        environment["LC_ALL"] = "C.UTF-8"
        try withLoop { loop in
            try capture(loop, Command("rsync", ["-a", "--info=progress2", "\(folder)/src/", "\(folder)/dst/"],
                                      environment: environment), into: box)
        }
        #expect(box.status?.succeeded == true)
        #expect(box.stderrText == "")
        // progress2 records end in \r; the last one reports the whole 2,001,000 bytes at 100%.
        let records = box.stdoutText.split(whereSeparator: { $0 == "\r" || $0 == "\n" })
        #expect(records.contains { $0.contains("2,001,000 100%") })
        #expect(system("cmp -s \(folder)/src/sub/a.png \(folder)/dst/sub/a.png") == 0)
    }
}
