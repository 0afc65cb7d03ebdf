import Foundation
import Testing

@Suite("mediasync serve: pause, resume, reload, backoff and the attach view", .serialized)
struct SupervisorControlTests {
    /// pause stops new cycles (interval and trigger), resume starts the one that came due.
    @Test func pauseStopsNewCyclesAndResumeRestarts() throws {
        let serve = try ServeHarness(folders: ["a"], interval: "2s")
        defer { serve.stop() }
        try serve.start()
        let paused = try serve.cli(["pause", "--config", serve.configPath])
        #expect(paused.status == 0, "\(paused.stderr)")
        let watcher = try SocketClient(path: serve.socket)
        watcher.send(#"{"cmd":"attach"}"#)
        _ = watcher.readObject()
        let snapshot = try #require(watcher.readObject())
        // Paused: the state says so once the start cycle is over, and no cycle starts for 3 intervals.
        #expect(snapshot["paused"] as? Bool == true)
        let trigger = try serve.cli(["trigger", "--config", serve.configPath])
        #expect(trigger.status == 1)
        #expect(trigger.stderr.contains("paused"))
        var started = 0
        let until = Date().addingTimeInterval(6)
        while let event = watcher.readObject(timeout: until.timeIntervalSinceNow), Date() < until {
            if event.type == "cycle_started" { started += 1 }
        }
        #expect(started == 0, "a cycle started while paused")
        let status = try SocketClient(path: serve.socket).request(#"{"cmd":"status"}"#)
        #expect(status["state"] as? String == "paused")
        #expect(status["next_cycle_at"] is NSNull)

        let resumed = try serve.cli(["resume", "--config", serve.configPath])
        #expect(resumed.status == 0)
        let next = watcher.collect(until: { $0.type == "cycle_started" }, timeout: 5)
        #expect(next != nil, "resume did not start the cycle that came due")
    }

    /// reload (and SIGHUP) reject a broken config with its errors and keep the old one; a good one applies.
    @Test func reloadRejectsABadConfigAndAppliesAGoodOne() throws {
        let serve = try ServeHarness(folders: ["a"])
        defer { serve.stop() }
        try serve.start()
        let watcher = try SocketClient(path: serve.socket)
        watcher.send(#"{"cmd":"attach"}"#)
        _ = watcher.readObject(); _ = watcher.readObject()

        let good = try String(contentsOfFile: serve.configPath, encoding: .utf8)
        try good.replacingOccurrences(of: "interval: 1h", with: "interval: soon").write(toFile: serve.configPath, atomically: true, encoding: .utf8)
        let rejected = try serve.cli(["reload", "--socket", serve.socket])
        #expect(rejected.status == 1)
        #expect(rejected.stderr.contains("rejected"))
        #expect(rejected.stderr.contains("interval: `soon` is not a duration"), "\(rejected.stderr)")
        let logged = watcher.collect(until: { $0.type == "log" && $0["level"] as? String == "error" }, timeout: 5)
        #expect(logged != nil)

        serve.signal(SIGHUP)
        let hup = try #require(watcher.collect(until: { $0.type == "log" && $0["level"] as? String == "error" }, timeout: 5))
        #expect((hup.last?["message"] as? String ?? "").contains("not a duration"))
        #expect(serve.exitStatus(timeout: 0) == nil)

        try good.replacingOccurrences(of: "folders: [a]", with: "folders: [a, b]")
            .write(toFile: serve.configPath, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: serve.sources + "/b", withIntermediateDirectories: true)
        let accepted = try serve.cli(["reload", "--socket", serve.socket])
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(accepted.stdout.contains("1 sources, 2 folders"))
        let status = try SocketClient(path: serve.socket).request(#"{"cmd":"status"}"#)
        #expect((status["jobs"] as? [[String: Any]])?.count == 2)
    }

    /// A source that keeps failing sits out cycles while it backs off; the other source runs every time.
    /// Counted in cycles, not seconds: five one-second cycles are read however long a loaded machine takes
    /// for them, and the backoff (60 s) is far longer than those five cycles can take. The backoff sequence
    /// itself is tested on manual time (SupervisorSchedulerTests).
    @Test func aFailingSourceBacksOffWithoutDelayingTheOthers() throws {
        let serve = try ServeHarness(folders: ["a"], interval: "1s", extraConfig: "")
        defer { serve.stop() }
        let text = try String(contentsOfFile: serve.configPath, encoding: .utf8)
            .replacingOccurrences(of: "retry: {attempts: 1, backoff: 1s, max_backoff: 2s}",
                                  with: "retry: {attempts: 1, backoff: 60s, max_backoff: 120s}")
            + "  - {name: gone, transport: local, root: \(serve.root)/missing, folders: [x]}\n"
        try text.write(toFile: serve.configPath, atomically: true, encoding: .utf8)
        try serve.start()
        let watcher = try SocketClient(path: serve.socket)
        watcher.send(#"{"cmd":"attach","since":0}"#)
        var cycles: [(jobs: [String], skipped: [String])] = []
        var current: (jobs: [String], skipped: [String]) = ([], [])
        let until = Date().addingTimeInterval(120)
        while cycles.count < 5, Date() < until, let event = watcher.readObject(timeout: 30) {
            switch event.type {
            case "cycle_started":
                current.jobs = (event["jobs"] as? [[String: Any]] ?? []).compactMap { $0["job"] as? String }
            case "log" where (event["message"] as? String ?? "").contains("backing off"):
                current.skipped.append(event["job"] as? String ?? "")
            case "cycle_finished":
                cycles.append(current)
                current = ([], [])
            default: break
            }
        }
        try #require(cycles.count == 5, "interval cycles seen: \(cycles.count):\n\(serve.log.suffix(2000))")
        #expect(cycles.allSatisfy { $0.jobs.contains("src/a") }, "src/a was delayed: \(cycles)")
        #expect(cycles[0].jobs.contains("gone/x"), "\(cycles)")
        // After its first failure `gone` waits 60 s, so every following cycle runs without it and says so.
        for cycle in cycles.dropFirst() {
            #expect(!cycle.jobs.contains("gone/x") && cycle.skipped == ["gone/x"], "\(cycles)")
        }
        let status = try SocketClient(path: serve.socket).request(#"{"cmd":"status"}"#)
        let gone = (status["jobs"] as? [[String: Any]])?.first { $0["job"] as? String == "gone/x" }
        #expect(gone?["failed_cycles"] as? Int ?? 0 >= 1, "\(status)")
    }

    /// The live view of `attach` in a real terminal (tmux): it draws the supervisor's state and
    /// Ctrl-C detaches with status 0 while the supervisor keeps running.
    @Test func attachShowsTheLiveViewInATerminalAndCtrlCDetaches() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else {
            Issue.record("tmux is not installed; the terminal view was not checked")
            return
        }
        let serve = try ServeHarness(folders: ["a"], sourceExtra: ", bwlimit: 300")
        defer { serve.stop() }
        try serve.makeFiles("a", count: 30, size: 100_000)
        try serve.start()
        let session = "ms-" + String(UUID().uuidString.prefix(6))
        let statusFile = serve.root + "/attach.status"
        let command = "\(try CLIRunner.binary()) attach --socket \(serve.socket); echo $? > \(statusFile); sleep 30"
        _ = try tmux(["new-session", "-d", "-s", session, "-x", "120", "-y", "30", command])
        defer { _ = try? tmux(["kill-session", "-t", session]) }
        var screen = ""
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            usleep(300_000)
            screen = try tmux(["capture-pane", "-p", "-t", session])
            if screen.contains("src/a") && screen.contains("%") { break }
        }
        #expect(screen.contains("attached to the mediasync supervisor, pid \(serve.pid)"), "\(screen)")
        #expect(screen.contains("src/a"), "\(screen)")
        #expect(screen.contains("%"), "\(screen)")
        _ = try tmux(["send-keys", "-t", session, "C-c"])
        var status = ""
        let end = Date().addingTimeInterval(5)
        while Date() < end, status.isEmpty {
            usleep(100_000)
            status = (try? String(contentsOfFile: statusFile, encoding: .utf8)) ?? ""
        }
        #expect(status.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        #expect(serve.exitStatus(timeout: 0) == nil, "Ctrl-C in attach touched the supervisor")
        #expect(try SocketClient(path: serve.socket).request(#"{"cmd":"status"}"#)["ok"] as? Bool == true)
    }

    /// Many jobs in a real terminal, `sync` and `attach` side by side (a `progress` event carries only what
    /// changed since v2, so the views keep the whole picture): while it runs, the running jobs and the total
    /// line with the queued count; at the end, every finished job's result line and the total at 100.0%.
    @Test func manyJobsInATerminalShowRunningJobsResultsAndTheTotal() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else {
            Issue.record("tmux is not installed; the terminal view was not checked")
            return
        }
        let folders = (0..<24).map { String(format: "f%02d", $0) }
        let serve = try ServeHarness(folders: folders, extraConfig: "concurrency: 2", sourceExtra: ", bwlimit: 1500")
        defer { serve.stop() }
        try serve.start()
        // Wait for the empty start cycle to end, then give each folder files.
        let probe = try SocketClient(path: serve.socket)
        probe.send(#"{"cmd":"attach"}"#)
        _ = probe.readObject()
        if probe.readObject()?["state"] as? String == "syncing" { _ = probe.collect(until: { $0.type == "cycle_finished" }, timeout: 60) }
        for folder in folders { try serve.makeFiles(folder, count: 3, size: 100_000) }

        let binary = try CLIRunner.binary()
        var panes: [(name: String, session: String, status: String)] = []
        let attachSession = "ms-" + String(UUID().uuidString.prefix(6))
        let attachStatus = serve.root + "/attach.status"
        _ = try tmux(["new-session", "-d", "-s", attachSession, "-x", "120", "-y", "50",
                      "\(binary) attach --socket \(serve.socket); echo $? > \(attachStatus); sleep 60"])
        defer { _ = try? tmux(["kill-session", "-t", attachSession]) }
        panes.append(("attach", attachSession, attachStatus))
        usleep(500_000)
        #expect(try SocketClient(path: serve.socket).request(#"{"cmd":"trigger"}"#)["ok"] as? Bool == true)
        // `sync` of the same folders into a library of its own, on a terminal too.
        let syncConfig = serve.root + "/sync.yaml"
        let text = try String(contentsOfFile: serve.configPath, encoding: .utf8)
            .replacingOccurrences(of: serve.library, with: serve.root + "/lib2")
            .replacingOccurrences(of: serve.root + "/state", with: serve.root + "/state2")
        try text.write(toFile: syncConfig, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: serve.root + "/lib2", withIntermediateDirectories: true)
        let syncSession = "ms-" + String(UUID().uuidString.prefix(6))
        let syncStatus = serve.root + "/sync.status"
        _ = try tmux(["new-session", "-d", "-s", syncSession, "-x", "120", "-y", "50",
                      "\(binary) sync --config \(syncConfig); echo $? > \(syncStatus); sleep 60"])
        defer { _ = try? tmux(["kill-session", "-t", syncSession]) }
        panes.append(("sync", syncSession, syncStatus))

        func lines(_ screen: String) -> [String] { screen.split(separator: "\n").map(String.init) }
        func isResult(_ line: String) -> Bool { line.hasPrefix("✓") }
        var midRun: [String: String] = [:]
        var final: [String: String] = [:]
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline, final.count < panes.count {
            usleep(200_000)
            for pane in panes where final[pane.name] == nil {
                let screen = try tmux(["capture-pane", "-p", "-t", pane.session])
                let ls = lines(screen)
                let running = ls.filter { !isResult($0) && $0.contains("src/f") && $0.contains("%") }
                if midRun[pane.name] == nil, running.count >= 1, ls.contains(where: { $0.hasPrefix("total") && $0.contains("queued") }),
                   ls.contains(where: isResult) {
                    midRun[pane.name] = screen
                }
                let done = ls.filter(isResult).count
                if done == folders.count, ls.contains(where: { $0.hasPrefix("total") && $0.contains("100.0%") }) {
                    final[pane.name] = screen
                }
            }
        }
        for pane in panes {
            let mid = try #require(midRun[pane.name], "\(pane.name): never showed running jobs, results and the total with the queued count at once")
            #expect(lines(mid).contains { !isResult($0) && ($0.contains(" copying ") || $0.contains(" listing ")) }, "\(pane.name):\n\(mid)")
            let finishedNames = Set(lines(mid).filter(isResult).compactMap { $0.split(separator: " ").dropFirst().first.map(String.init) })
            let stillLive = lines(mid).filter { !isResult($0) && finishedNames.contains(String($0.split(separator: " ").first ?? "")) }
            #expect(stillLive.isEmpty, "\(pane.name): a finished job is still drawn as running: \(stillLive)\n\(mid)")
            let last = (try? tmux(["capture-pane", "-p", "-t", pane.session])) ?? ""
            let end = try #require(final[pane.name], "\(pane.name): the end never showed 24 results and the total at 100.0%:\n\(last)")
            for folder in folders {
                #expect(lines(end).contains { isResult($0) && $0.contains("src/\(folder)") && $0.contains("3 files") },
                        "\(pane.name): no result for src/\(folder):\n\(end)")
            }
            #expect(lines(end).contains { $0.hasPrefix("total") && $0.contains("72/72 files") }, "\(pane.name):\n\(end)")
        }
    }

    private func tmux(_ arguments: [String]) throws -> String {
        let out = "/tmp/tmux-\(UUID().uuidString.prefix(8)).out"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let pid = try ServeHarness.spawn(["tmux"] + arguments, environment: ["TERM": "xterm-256color"], output: out)
        _ = ServeHarness.wait(pid, timeout: 10)
        return (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
    }
}
