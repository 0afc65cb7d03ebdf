import Foundation
import Testing

/// `mediasync serve` speaks systemd's notify protocol to a real datagram socket the test binds, the way
/// systemd would for a `Type=notify` unit with `WatchdogSec=`.
@Suite("mediasync serve under systemd: sd_notify and the watchdog")
struct ServeSystemdTests {
    /// READY=1 once the socket answers, a STATUS line that follows the cycle, RELOADING=1 then READY=1
    /// around SIGHUP and around the reload request, STOPPING=1 on SIGTERM, and no watchdog pings when
    /// systemd asked for none.
    @Test func readyStatusReloadAndStopping() throws {
        let serve = try ServeHarness(folders: ["a"])
        defer { serve.stop() }
        try serve.makeFiles("a", count: 3, size: 2000)
        let systemd = try NotifyListener(path: serve.root + "/notify")
        serve.environment["NOTIFY_SOCKET"] = systemd.path
        try serve.start()

        let ready = try #require(systemd.next(timeout: 10), "no notification at all")
        // The start cycle begins before READY=1, so READY carries it with none of its jobs finished yet.
        #expect(ready.hasPrefix("READY=1\nSTATUS=cycle 1: 0 of 1 job"), "the first notification was \(ready.debugDescription)")
        // The start cycle (3 files) ends; the status line follows it: its job finished, then idle with its result.
        let idle = try #require(systemd.next(matching: { $0.contains("STATUS=idle; next cycle at ") }, timeout: 20),
                                "seen: \(systemd.seen)")
        #expect(idle.contains("last cycle 1: 1 done, 0 failed"), "\(idle)")
        let jobDone = systemd.seen.firstIndex { $0 == "STATUS=cycle 1: 1 of 1 job" }
        let idleAt = systemd.seen.firstIndex { $0.contains("STATUS=idle") }
        #expect(jobDone != nil && jobDone! < idleAt!, "no `cycle 1: 1 of 1 job` before idle: \(systemd.seen)")

        serve.signal(SIGHUP)
        let reloading = try #require(systemd.next(timeout: 10))
        #expect(reloading.hasPrefix("RELOADING=1\nMONOTONIC_USEC="), "\(reloading)")
        #expect(systemd.next(timeout: 10)?.hasPrefix("READY=1") == true)

        let reply = try SocketClient(path: serve.socket).request(#"{"cmd":"reload"}"#)
        #expect(reply["ok"] as? Bool == true)
        #expect(systemd.next(timeout: 10)?.hasPrefix("RELOADING=1") == true)
        #expect(systemd.next(timeout: 10)?.hasPrefix("READY=1") == true)

        serve.signal(SIGTERM)
        let stopping = try #require(systemd.next(matching: { $0.hasPrefix("STOPPING=1") }, timeout: 10),
                                    "no STOPPING=1; seen: \(systemd.seen)")
        #expect(stopping.contains("STATUS=stopping (SIGTERM)"))
        #expect(serve.exitStatus(timeout: 15) == 0)
        #expect(!systemd.seen.contains("WATCHDOG=1"), "pings without WATCHDOG_USEC")
    }

    /// With WATCHDOG_USEC=400000 the pings come every 200 ms (half the interval), whether WATCHDOG_PID is
    /// unset or names serve itself; a WATCHDOG_PID of another process means the pings are not ours.
    @Test(arguments: ["unset", "self", "other"])
    func watchdogPings(pidSetting: String) throws {
        let serve = try ServeHarness(folders: ["a"])
        defer { serve.stop() }
        let systemd = try NotifyListener(path: serve.root + "/notify")
        serve.environment["NOTIFY_SOCKET"] = systemd.path
        serve.environment["WATCHDOG_USEC"] = "400000"
        let binary = try CLIRunner.binary()
        // `exec` keeps the shell's pid, so $$ is serve's pid, as systemd sets it.
        let script: String
        switch pidSetting {
        case "self": script = #"WATCHDOG_PID=$$ exec "$0" serve --config "$1""#
        case "other": script = #"WATCHDOG_PID=1 exec "$0" serve --config "$1""#
        default: script = #"exec "$0" serve --config "$1""#
        }
        let spawned = Date()
        let pid = try ServeHarness.spawn(["/bin/sh", "-c", script, binary, serve.configPath],
                                         environment: serve.environment, output: serve.logPath)
        defer { kill(pid, SIGKILL); _ = ServeHarness.wait(pid, timeout: 5) }

        let ready = try #require(systemd.next(matching: { $0.hasPrefix("READY=1") }, timeout: 20), "no READY=1:\n\(serve.log)")
        #expect(ready.contains("STATUS="))
        if pidSetting == "other" {
            // Give serve's loop time to have pinged several times (a ping is due every 200 ms), then make it
            // turn once more with a request: a due timer runs on that turn, so a ping would be out by the
            // time the reply is, whatever the load.
            usleep(1_200_000)
            _ = try SocketClient(path: serve.socket).request(#"{"cmd":"status"}"#)
            while let message = systemd.next(timeout: 0.5) {
                #expect(message != "WATCHDOG=1", "pinged although WATCHDOG_PID names pid 1: \(systemd.seen)")
            }
        } else {
            // Pings keep coming: five of them, with a limit only a hung loop misses.
            var pings = 0
            while pings < 5, systemd.next(matching: { $0 == "WATCHDOG=1" }, timeout: 30) != nil { pings += 1 }
            let took = Date().timeIntervalSince(spawned)
            #expect(pings == 5, "only \(pings) pings in \(took) s: \(systemd.seen)")
            // And not faster than one per 200 ms: the fifth comes 4 periods after the first. Counted from the
            // spawn (before any ping), so load, which only delays pings and their reading, cannot fail it.
            // The period itself (half of WATCHDOG_USEC) is checked by LogSystemdNotifierTests without timing.
            #expect(took >= 0.75, "5 pings \(took) s after the start: faster than every 200 ms")
        }
        kill(pid, SIGTERM)
        #expect(systemd.next(matching: { $0.hasPrefix("STOPPING=1") }, timeout: 10) != nil)
        #expect(ServeHarness.wait(pid, timeout: 15) == 0)
    }

    /// rsync (and ssh, and the ingest program) must not inherit NOTIFY_SOCKET: a child that speaks
    /// sd_notify would report for the daemon.
    @Test func childrenDoNotInheritTheNotifySocket() throws {
        let serve = try ServeHarness(folders: ["a"], sourceExtra: ", bwlimit: 100")
        defer { serve.stop() }
        try serve.makeFiles("a", count: 2, size: 400_000)
        let systemd = try NotifyListener(path: serve.root + "/notify")
        serve.environment["NOTIFY_SOCKET"] = systemd.path
        serve.environment["WATCHDOG_USEC"] = "60000000"
        try serve.start()
        var environ: String?
        let deadline = Date().addingTimeInterval(20)
        while environ == nil, Date() < deadline {
            for line in serve.leftoverProcesses() where line.contains("rsync") {
                let pid = line.prefix { $0 != ":" }
                if let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ"), !data.isEmpty {
                    environ = String(decoding: data.map { $0 == 0 ? 0x0A : $0 }, as: UTF8.self)
                }
            }
            usleep(50_000)
        }
        let text = try #require(environ, "never saw the rsync child")
        #expect(text.contains("LC_ALL=C.UTF-8"), "not rsync's environment: \(text)")
        #expect(!text.contains("NOTIFY_SOCKET"))
        #expect(!text.contains("WATCHDOG_USEC"))
    }
}

/// A bound AF_UNIX datagram socket standing in for systemd's notify socket.
final class NotifyListener: @unchecked Sendable {
    let path: String
    let fd: Int32
    /// Every message received so far, in order.
    private(set) var seen: [String] = []
    private var unread = 0

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let code = errno
            close(fd)
            throw HarnessError("bind \(path): \(String(cString: strerror(code)))")
        }
    }

    deinit { close(fd) }

    /// The next message not yet returned, waiting up to `timeout` seconds.
    func next(timeout: Double) -> String? {
        if unread < seen.count { unread += 1; return seen[unread - 1] }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(max(0, timeout) * 1000)) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
        guard n > 0 else { return nil }
        seen.append(String(decoding: buffer[0..<n], as: UTF8.self))
        unread = seen.count
        return seen.last
    }

    /// Skips messages until one matches.
    func next(matching: (String) -> Bool, timeout: Double) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while let message = next(timeout: deadline.timeIntervalSinceNow) {
            if matching(message) { return message }
        }
        return nil
    }
}
