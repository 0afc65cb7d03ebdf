import Foundation
import Testing

/// `purge.schedule` under a real `mediasync serve`: a nightly cron schedule fires as a purge cycle of its own (the
/// clock is moved with libfaketime so that 03:00 in Europe/Berlin comes a few seconds after the start), `trigger
/// --purge` starts one by hand, `manual` never purges by itself, and a purge never runs beside a sync.
@Suite("serve: purge.schedule")
struct PurgeScheduleServeTests {
    /// Starts serve (and so its children) under `faketime`, its wall clock `offset` seconds ahead, in Berlin, and
    /// waits for its socket. faketime's own wrapper, not LD_PRELOAD alone: without the clock it shares with the
    /// children (FAKETIME_SHARED), the preloaded library left the Swift binary without its arguments. The wrapper
    /// runs serve as its child: both pids come back, to stop both (killing the wrapper alone orphans serve).
    static func startUnderFaketime(_ serve: ServeHarness, offset: Int64) throws -> (wrapper: pid_t, serve: pid_t) {
        let argv = ["/usr/bin/faketime", "-f", "+\(offset)", try CLIRunner.binary(), "serve", "--config", serve.configPath]
        let pid = try ServeHarness.spawn(argv, environment: ["TZ": "Europe/Berlin", "FAKETIME_DONT_FAKE_MONOTONIC": "1",
                                                          // File times stay real: with stat() faked (a fresh Debian's libfaketime
                                                          // does), a time rsync sets reads back shifted, and the library probe
                                                          // measured the clock's offset as the disk's time step.
                                                          "NO_FAKE_STAT": "1"],
                                         output: serve.logPath)
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let client = try? SocketClient(path: serve.socket), let status = try? client.request(#"{"cmd":"status"}"#),
               let servePid = status["pid"] as? Int {
                return (pid, pid_t(servePid))
            }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { throw HarnessError("serve exited early:\n\(serve.log)") }
            usleep(50_000)
        }
        for child in Self.children(of: pid) { kill(child, SIGKILL) }
        stopWrapper(pid)
        throw HarnessError("serve did not answer within 20 s:\n\(serve.log)")
    }

    /// Waits for the faketime wrapper to end once its serve was killed. Killed itself (by any signal) it leaves
    /// its shared clock behind in /dev/shm (`faketime_shm_<pid>`, `sem.faketime_sem_<pid>`); it removes them when
    /// its child ends. Killed only if it has not ended within 5 s.
    static func stopWrapper(_ wrapper: pid_t) {
        if ServeHarness.wait(wrapper, timeout: 5) == nil {
            kill(wrapper, SIGKILL)
            _ = ServeHarness.wait(wrapper, timeout: 5)
        }
    }

    /// The processes whose parent is `pid` (from /proc/PID/stat).
    static func children(of pid: pid_t) -> [pid_t] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry -> pid_t? in
            guard let child = pid_t(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && pid_t(fields[1]) == pid ? child : nil
        }
    }

    func sourceFiles(_ serve: ServeHarness) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: serve.sources + "/a")) ?? []).sorted()
    }

    func waitForLastCycle(_ serve: ServeHarness, key: String = "last_cycle", cycle: Int, timeout: Double = 30) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        var status: [String: Any] = [:]
        while Date() < deadline {
            status = (try? SocketClient(path: serve.socket).request(#"{"cmd":"status"}"#)) ?? [:]
            if let last = status[key] as? [String: Any], last.int("cycle") >= cycle { return status }
            usleep(100_000)
        }
        throw HarnessError("no \(key) \(cycle) within \(Int(timeout)) s; status \(status)\n\(serve.log.suffix(3000))")
    }

    /// `0 3 * * *` in Europe/Berlin: the start cycle syncs and does not purge; at 03:00 local a purge cycle runs
    /// (cycle_started, the folder `purging`, purge_started, the deletions, cycle_finished) and status names the
    /// next night as the next purge.
    @Test func aNightlySchedulePurgesAtItsTime() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/faketime"), "faketime is missing (bin/_setup.sh)")
        // Serve starts at 2030-06-12 02:59:54 in Berlin (summer time, UTC+2): 03:00 comes six seconds later.
        let purgeAt = Date(timeIntervalSince1970: 1_907_456_400)      // 2030-06-12T01:00:00Z
        let nextNight = purgeAt.addingTimeInterval(86_400)
        let offset = Int64(purgeAt.addingTimeInterval(-6).timeIntervalSinceNow.rounded())

        let serve = try ServeHarness(folders: ["a"], extraConfig: "purge: {enabled: true, min_age: 1h, schedule: \"0 3 * * *\"}")
        defer { serve.stop() }
        try serve.makeFiles("a", count: 3, size: 2000)
        let pids = try Self.startUnderFaketime(serve, offset: offset)
        defer {
            kill(pids.serve, SIGKILL)
            Self.stopWrapper(pids.wrapper)
        }
        let watcher = try SocketClient(path: serve.socket)
        watcher.send(#"{"cmd":"attach"}"#)

        let afterSync = try waitForLastCycle(serve, cycle: 1)
        #expect(sourceFiles(serve).count == 3, "the sync purged although purge.schedule is a cron expression")
        #expect(afterSync["purge_schedule"] as? String == "0 3 * * *")
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        #expect((afterSync["next_purge_at"] as? String).flatMap(iso.date) == purgeAt, "\(afterSync)")

        let events = try #require(watcher.collect(until: { $0.type == "cycle_finished" && $0.int("cycle") == 2 }, timeout: 40),
                                  "no purge cycle came at 03:00:\n\(serve.log.suffix(3000))")
        let purgeCycle = events.drop { !($0.type == "cycle_started" && $0.int("cycle") == 2) }
        #expect(purgeCycle.first?.type == "cycle_started", "\(events.map(\.type))")
        // Fired at 03:00 by serve's (fake) clock, which stamps the events, not before.
        let started = try #require(purgeCycle.first.flatMap { ($0["time"] as? String).flatMap(iso.date) })
        #expect(started >= purgeAt && started < purgeAt.addingTimeInterval(30), "started at \(started), not at \(purgeAt)")
        let types = purgeCycle.map(\.type).filter { $0 != "log" }
        #expect(types.first(where: { $0 != "cycle_started" && $0 != "progress" }) == "purge_started", "\(types)")
        let kept = purgeCycle.filter { $0.type == "file_kept" }.map { "\($0["path"] ?? "?"): \($0["reason"] ?? "?") \($0["detail"] ?? "")" }
        #expect(types.filter { $0 == "file_purged" }.count == 3, "\(types); kept: \(kept)\n\(serve.log.suffix(3000))")
        #expect(!types.contains("file_synced") && !types.contains("job_finished"), "\(types)")
        let purging = purgeCycle.contains { event in
            event.type == "progress" && ((event["jobs"] as? [[String: Any]])?.first?["state"] as? String) == "purging"
        }
        #expect(purging, "no progress showed the folder purging")
        #expect(sourceFiles(serve).isEmpty, "left at the source: \(sourceFiles(serve))")
        for i in 0..<3 { #expect(FileManager.default.fileExists(atPath: serve.library + "/src/a/f\(i).png")) }

        let after = try waitForLastCycle(serve, key: "last_purge", cycle: 2)
        let lastPurge = try #require(after["last_purge"] as? [String: Any])
        #expect(lastPurge.int("files_purged") == 3 && lastPurge.int("folders_failed") == 0, "\(lastPurge)")
        #expect((after["next_purge_at"] as? String).flatMap(iso.date) == nextNight, "\(after)")
        #expect(after["state"] as? String == "idle")
        let table = try serve.cli(["status", "--config", serve.configPath])
        #expect(table.stdout.contains("next purge:") && table.stdout.contains("last purge:  2 at"), "\(table.stdout)")
    }

    /// `manual`: the sync does not purge and no purge comes by itself; `trigger --purge --wait` runs one and says
    /// what it did; a purge asked for during a sync waits for the sync, and a sync asked for during the purge waits
    /// for the purge: never one beside the other.
    @Test func manualPurgesOnlyWhenAskedAndNeverBesideASync() throws {
        // 100 KiB/s over a 400 KB file: the second sync takes about four seconds.
        let serve = try ServeHarness(folders: ["a"], extraConfig: "purge: {enabled: true, min_age: 1h, schedule: manual}",
                                     sourceExtra: ", bwlimit: 100")
        defer { serve.stop() }
        try serve.makeFiles("a", count: 3, size: 2000)
        try serve.start()
        let status = try waitForLastCycle(serve, cycle: 1)
        #expect(sourceFiles(serve).count == 3, "the sync purged although purge.schedule is manual")
        #expect(status["next_purge_at"] is NSNull && status["purge_schedule"] as? String == "manual", "\(status)")

        let purged = try serve.cli(["trigger", "--purge", "--wait", "--config", serve.configPath])
        #expect(purged.status == 0, "\(purged.stderr)")
        #expect(purged.stdout.contains("1 of 1 folders purged, 3 files deleted"), "\(purged.stdout) \(purged.stderr)")
        #expect(purged.stderr.contains("purge cycle 2 started"), "\(purged.stderr)")
        #expect(sourceFiles(serve).isEmpty)

        // A slow sync runs; a purge asked for now waits for it, and a sync asked for during the purge waits too.
        try serve.makeFiles("a", count: 1, size: 400_000, prefix: "big")
        try FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: serve.sources + "/a/big0.png")
        let watcher = try SocketClient(path: serve.socket)
        watcher.send(#"{"cmd":"attach"}"#)
        let sync = try SocketClient(path: serve.socket).request(#"{"cmd":"trigger"}"#)
        #expect(sync["queued"] as? Bool == false, "\(sync)")
        let purge = try SocketClient(path: serve.socket).request(#"{"cmd":"trigger","purge":true}"#)
        #expect(purge["ok"] as? Bool == true && purge["queued"] as? Bool == true, "the purge did not wait for the sync: \(purge)")
        // Asked for while the sync still runs (a local purge takes milliseconds: asked for during it, the sync
        // would race its end), so it waits for the purge queued before it.
        let again = try SocketClient(path: serve.socket).request(#"{"cmd":"trigger"}"#)
        #expect(again["queued"] as? Bool == true, "a second sync started beside the first: \(again)")
        let during = try #require(watcher.collect(until: { $0.type == "cycle_started" && $0.int("cycle") == 4 }, timeout: 30),
                                  "\(serve.log.suffix(3000))")
        #expect(during.contains { $0.type == "cycle_finished" && $0.int("cycle") == 3 }, "the purge started before the sync ended")
        let rest = try #require(watcher.collect(until: { $0.type == "cycle_started" && $0.int("cycle") == 5 }, timeout: 30))
        #expect(rest.contains { $0.type == "purge_started" }, "cycle 4 was not the purge: \(rest.map(\.type))")
        #expect(rest.contains { $0.type == "cycle_finished" && $0.int("cycle") == 4 }, "the sync started before the purge ended")
        // The big file was synced in cycle 3 and is younger than min_age by its mtime: it stays (too_young).
        #expect(rest.contains { $0.type == "file_kept" && $0["reason"] as? String == "too_young" }, "\(rest.map(\.type))")
        let table = try serve.cli(["status", "--config", serve.configPath])
        #expect(table.stdout.contains("only when asked (mediasync trigger --purge)"), "\(table.stdout)")
    }

    /// check-config names the next three runs in the local zone, and refuses a bad expression with its line.
    @Test func checkConfigShowsTheNextRunsAndRefusesABadExpression() throws {
        let cli = try CLIRunner()
        defer { cli.cleanUp() }
        func config(_ schedule: String) throws -> String {
            try cli.write("config.yaml", """
                library: \(cli.home.path)/lib
                sources:
                  - {name: a, transport: local, root: \(cli.home.path)/src, folders: [x]}
                purge:
                  enabled: true
                  schedule: \(schedule)

                """)
        }
        let good = try cli.run(["check-config", "--config", try config("\"0 3 * * *\"")], environment: ["TZ": "Asia/Kolkata"])
        #expect(good.status == 0, "\(good.stderr)")
        let line = try #require(good.stdout.split(separator: "\n").first { $0.contains("schedule \"0 3 * * *\"") }, "\(good.stdout)")
        #expect(line.contains("(Asia/Kolkata time), a purge cycle of its own: next "), "\(line)")
        #expect(line.components(separatedBy: " 03:00 ").count == 4 && line.components(separatedBy: "(UTC+05:30)").count == 4,
                "not three runs at 03:00 local: \(line)")

        let manual = try cli.run(["check-config", "--config", try config("manual")])
        #expect(manual.stdout.contains("schedule manual: only `mediasync trigger --purge`"), "\(manual.stdout)")

        let bad = try cli.run(["check-config", "--config", try config("\"0 3 * * 8\"")])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("config.yaml:6:13: purge.schedule: the day of week field `8` has 8, out of range"), "\(bad.stderr)")
    }
}
