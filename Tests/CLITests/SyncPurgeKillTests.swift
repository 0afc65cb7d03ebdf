import Foundation
import Testing

/// A purge killed with SIGKILL in the middle: nothing that failed the checks is gone, and the audit names
/// exactly the files that are gone from the source, once the next run finished.
@Suite struct SyncPurgeKillTests {
    @Test func aPurgeKilledMidwayLeavesAnExactAudit() throws {
        let world = try SyncWorld()
        try world.writeConfig(sources: [("src", ["out"], "")], top: SyncPurgeTests.top + [SyncPurgeTests.purgeOn])
        let count = 5_000
        var names: [String] = []
        var content: [String: [UInt8]] = [:]
        for index in 0..<count {
            let name = String(format: "d%02d/%05d.png", index % 10, index)
            names.append(name)
            content[name] = Array("file \(index)".utf8)
            try RawFS.write(world.source("out/" + name), content[name]!, mtime: SyncPurgeTests.aged)
        }
        let synced = try world.sync(["--no-purge"], timeout: 120)
        #expect(synced.status == 0, "stderr: \(synced.stderr)")
        #expect(synced.of("file_synced").count == count)

        // The kill comes from inside the purge, at a fixed point: a PATH wrapper around the real rm, called once
        // per folder run of the delete script, SIGKILLs mediasync right after the second rm deleted its files.
        // So the purge is midway whatever the load (a kill timed from this thread could come after its end).
        let bin = world.root + "/bin"
        try Self.writeSignallingRM(in: bin, counter: world.root + "/rm-calls", signal: "KILL")
        let out = world.root + "/purge.out"
        var env = ProcessInfo.processInfo.environment
        env["HOME"] = world.root
        env["PATH"] = bin + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        let pid = try Spawn.start([try CLIRunner.binary(), "purge", "--config", world.configPath, "--json"],
                                  environment: env, stdout: out, stderr: out + ".err")
        let status = try Spawn.wait(pid, timeout: 120, what: "mediasync purge (killed by the rm wrapper)")
        let rmCalls = (try? String(contentsOfFile: world.root + "/rm-calls", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        let purgeErrors = (try? String(contentsOfFile: out + ".err", encoding: .utf8)) ?? ""
        try #require(status == 128 + SIGKILL, "the purge was not killed mid-way (status \(status), rm calls \(rmCalls ?? "none")): \(purgeErrors)")
        // The delete script dies with mediasync (its parent-death signal; the rest of the chain on a closed
        // pipe): nothing of the killed run may still be deleting 5 s later (its cwd is inside the test's folder
        // while it works).
        let stopped = Watch.until(timeout: 5) { Self.processesWorking(in: world.root) == 0 }
        #expect(stopped, "the killed purge's delete script still runs 5 s later")

        /// Right after the kill the audit may miss the files deleted as it died (the last one, lines still in the pipe);
        /// the next run completes it from the batch's intent, and then the audit and the source agree exactly.
        func check(_ stage: String, exact: Bool) throws -> Int {
            let gone = Set(names.filter { !RawFS.exists(world.source("out/" + $0)) })
            for name in gone {
                let copy = RawFS.read(world.inLibrary("src/out/" + name))
                #expect(copy == content[name], "\(stage): \(name) is gone from the source without its library copy")
            }
            let audit = Set(try SyncPurgeTests.history(world).compactMap { $0["path"] as? String })
            let missing = gone.subtracting(audit).sorted().prefix(5), extra = audit.subtracting(gone).sorted().prefix(5)
            #expect((missing.isEmpty || !exact) && extra.isEmpty, "\(stage): audit \(audit.count), gone \(gone.count); not in the audit: \(missing); in it but present: \(extra)")
            return gone.count
        }
        let afterKill = try check("after SIGKILL", exact: false)
        #expect(afterKill > 0 && afterKill < count, "\(afterKill) of \(count) files gone when the purge was killed")

        let again = try world.sync([], timeout: 300)
        #expect(again.status == 0, "stderr: \(again.stderr)")
        #expect(try check("after the next run", exact: true) == count)
    }

    /// An `rm` that runs the real one, counts its calls in `counter`, and on the second call sends `signal`
    /// (KILL, INT, TERM) to the mediasync it runs under (found up its parent chain). Written by a child process
    /// (ETXTBSY: see SyncRemoteListingTests).
    static func writeSignallingRM(in bin: String, counter: String, signal: String) throws {
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let script = """
            #!/bin/sh
            /bin/rm "$@"; rc=$?
            n=$(( $(cat "\(counter)" 2>/dev/null || echo 0) + 1 )); echo "$n" > "\(counter)"
            if [ "$n" -eq 2 ]; then
              p=$PPID
              while [ "$p" -gt 1 ] && [ "$(cat /proc/$p/comm)" != mediasync ]; do p=$(cut -d" " -f4 /proc/$p/stat); done
              [ "$p" -gt 1 ] && kill -\(signal) "$p"
            fi
            exit $rc
            """
        try Spawn.check(["/bin/sh", "-c", "printf '%s\\n' \"$1\" > \"$2\" && chmod 755 \"$2\"", "sh", script, bin + "/rm"])
    }

    /// Processes whose working folder is inside `root`.
    static func processesWorking(in root: String) -> Int {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return 0 }
        var count = 0
        for pid in entries where Int(pid) != nil {
            if let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd"),
               cwd.hasPrefix(root) {
                count += 1
            }
        }
        return count
    }
}
