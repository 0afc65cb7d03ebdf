import Foundation
import Testing

@Suite("mediasync serve: bad, slow and foreign clients; restarts and shutdown", .serialized)
struct SupervisorRobustnessTests {
    /// A client that attaches and never reads, during a cycle of thousands of files: the reading
    /// client keeps up, serve's memory stays bounded, and the slow one is cut off.
    @Test func aClientThatNeverReadsIsCutOffAndCostsBoundedMemory() throws {
        let serve = try ServeHarness(folders: ["a", "b", "c"])
        serve.environment["MEDIASYNC_CLIENT_QUEUE_BYTES"] = "1048576"
        defer { serve.stop() }
        try serve.start()
        let baseline = try SocketClient(path: serve.socket)
        baseline.send(#"{"cmd":"attach"}"#)
        _ = baseline.readObject(); let snap = baseline.readObject()
        if snap?["state"] as? String == "syncing" { _ = baseline.collect { $0.type == "cycle_finished" } }
        for folder in ["a", "b", "c"] { try serve.makeFiles(folder, count: 2000, size: 200) }
        let rssBefore = serve.rssKiB()

        let slow = try SocketClient(path: serve.socket)
        var size: Int32 = 4096 // a small receive buffer, so the kernel does not soak up the backlog
        setsockopt(slow.fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        slow.send(#"{"cmd":"attach"}"#)
        var fast = try SocketClient(path: serve.socket)
        fast.send(#"{"cmd":"attach"}"#)
        _ = fast.readObject(); _ = fast.readObject()
        _ = try SocketClient(path: serve.socket).request(#"{"cmd":"trigger"}"#)

        // The reading client is this test's own thread: on a loaded machine it can fall behind the 1 MiB
        // bound and be cut off too. It then does what the protocol says a client does: reconnect with `since`
        // (docs/protocol.md), so it still sees every event once.
        var peakRSS = rssBefore
        var events: [[String: Any]] = []
        var lastSeq = 0
        var reconnects = 0
        var sawGap = false
        let readDeadline = Date().addingTimeInterval(180)
        while Date() < readDeadline {
            guard let event = fast.readObject(timeout: 60), event.type != "overflow" else {
                reconnects += 1
                guard reconnects <= 20 else { break }
                fast = try SocketClient(path: serve.socket)
                fast.send(#"{"cmd":"attach","since":\#(lastSeq)}"#)
                _ = fast.readObject(); _ = fast.readObject()  // hello, snapshot
                continue
            }
            if event.type == "gap" { sawGap = true }
            guard let seq = event["seq"] as? Int, seq > lastSeq else { continue }
            lastSeq = seq
            events.append(event)
            if events.count % 200 == 0 { peakRSS = max(peakRSS, serve.rssKiB()) }
            if event.type == "cycle_finished" { break }
        }
        let rssAfter = serve.rssKiB()
        peakRSS = max(peakRSS, rssAfter)
        print("supervisor VmRSS: \(rssBefore) KiB before the cycle, peak \(peakRSS) KiB during, \(rssAfter) KiB after (6000 files, a client that never reads, queue bound 1 MiB)")
        #expect(events.last?.type == "cycle_finished", "reconnected \(reconnects) times")
        #expect(!sawGap, "the ring lost events a reconnecting client needed")
        #expect(events.filter { $0.type == "file_synced" }.count == 6000)
        // The slow client was disconnected: what is left in its socket ends in EOF. The overflow notice is
        // sent only if the socket has room (docs/protocol.md); when it came it is the last line, once, and
        // names the last event the client got, so a reconnect with `since` misses nothing.
        var leftLines: [String] = []
        var sawEOF = false
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            guard let line = slow.readLine(timeout: 5) else { sawEOF = slow.readsToEOF(timeout: 0.1); break }
            leftLines.append(line)
        }
        #expect(sawEOF, "the slow client was never disconnected (\(leftLines.count) lines read)")
        let notices = leftLines.indices.filter { leftLines[$0].contains(#""type":"overflow""#) }
        #expect(notices.count <= 1 && notices.allSatisfy { $0 == leftLines.count - 1 },
                "the overflow notice is not alone at the end: lines \(notices) of \(leftLines.count)")
        if let notice = notices.first {
            let object = (try? JSONSerialization.jsonObject(with: Data(leftLines[notice].utf8))) as? [String: Any]
            let lastEvent = leftLines[..<notice].last.flatMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
            #expect(object?["last_seq"] as? Int == lastEvent?["seq"] as? Int,
                    "last_seq \(String(describing: object?["last_seq"])) is not the last event sent")
        }
        // Bounded: the 6000 file_synced lines alone are about 2 MB; a queue that kept them all for the
        // stuck client would show; allow the cycle's own working set.
        #expect(peakRSS - rssBefore < 24_000, "RSS grew from \(rssBefore) to \(peakRSS) KiB")
        // And the supervisor still serves.
        #expect(try SocketClient(path: serve.socket).request(#"{"cmd":"status"}"#)["ok"] as? Bool == true)
    }

    /// Garbage, an unknown cmd, a 10 MB line without newline and a client that vanishes mid-reply
    /// are each answered with an error or dropped, and the next client is served normally.
    @Test func badClientsAreDroppedAndTheNextOneIsServed() throws {
        let serve = try ServeHarness()
        defer { serve.stop() }
        try serve.start()

        let garbage = try SocketClient(path: serve.socket)
        garbage.sendRaw(Array("\u{01}\u{02}not json at all\n".utf8))
        let garbageReply = try #require(garbage.readObject())
        #expect(garbageReply["ok"] as? Bool == false)
        #expect(((garbageReply["error"] as? String) ?? "").contains("not a JSON object"))
        #expect(garbage.readsToEOF(timeout: 5))

        let unknown = try SocketClient(path: serve.socket)
        unknown.send(#"{"cmd":"explode"}"#)
        let unknownReply = try #require(unknown.readObject())
        #expect(((unknownReply["error"] as? String) ?? "").contains("unknown cmd \"explode\""))
        #expect(unknown.readsToEOF(timeout: 5))

        let wrongType = try SocketClient(path: serve.socket)
        wrongType.send(#"{"cmd":"attach","since":"yesterday"}"#)
        #expect(((wrongType.readObject()?["error"] as? String) ?? "").contains("since"))

        let huge = try SocketClient(path: serve.socket)
        nonisolated(unsafe) var sentAll = true
        let sender = Thread { sentAll = huge.sendRaw([UInt8](repeating: 0x41, count: 10 << 20)) }
        sender.start()
        let hugeReply = try #require(huge.readObject(timeout: 20))
        #expect(((hugeReply["error"] as? String) ?? "").contains("longer than 65536 bytes"))
        #expect(huge.readsToEOF(timeout: 10))
        while !sender.isFinished { usleep(10_000) }
        #expect(!sentAll, "the supervisor read the whole 10 MB line")

        for _ in 0..<5 {
            let vanisher = try SocketClient(path: serve.socket)
            vanisher.send(#"{"cmd":"attach","since":0}"#)
            vanisher.send(#"{"cmd":"status"}"#)
            // Closed before reading anything: the supervisor's writes fail and it drops the client.
        }
        let next = try SocketClient(path: serve.socket)
        let status = try next.request(#"{"cmd":"status"}"#)
        #expect(status["ok"] as? Bool == true)
        #expect(status["type"] as? String == "status")
        #expect(serve.exitStatus(timeout: 0) == nil, "serve died")
    }

    /// Socket 0600 in a 0700 folder; a peer with another uid is refused even when the file mode would let it in.
    @Test func anotherUserIsRefused() throws {
        let serve = try ServeHarness()
        defer { serve.stop() }
        try serve.start()
        var info = stat()
        #expect(stat(serve.socket, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(stat(serve.root + "/run", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o700)

        let script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(sys.argv[1])
            except OSError as e:
                print("connect-failed", e.errno); sys.exit(0)
            try:
                s.sendall(b'{"cmd":"status"}\\n')
            except OSError:
                pass  # refused before it could ask: the answer is already waiting
            print(s.makefile().readline().strip())
            """
        let nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/python3", "-c", script, serve.socket]
        let blocked = try runTool(nobody, root: serve.root)
        #expect(blocked.contains("connect-failed 13"), "\(blocked)")

        // Open the file modes: now only SO_PEERCRED stands between nobody and the supervisor.
        chmod(serve.root, 0o755)
        chmod(serve.root + "/run", 0o755)
        chmod(serve.socket, 0o666)
        let refused = try runTool(nobody, root: serve.root)
        #expect(refused.contains(#""ok":false"#) && refused.contains("permission denied"), "\(refused)")
        #expect(!refused.contains(#""type":"status""#))
        #expect(serve.log.contains("refused a control connection from uid 65534"))
    }

    /// A second supervisor on the same socket refuses to start and names the first one's pid; after
    /// SIGKILL the stale socket is replaced on restart.
    @Test func secondSupervisorRefusedAndStaleSocketReplaced() throws {
        let serve = try ServeHarness()
        defer { serve.stop() }
        try serve.start()
        let firstPid = serve.pid
        let second = try serve.cli(["serve", "--config", serve.configPath], timeout: 30)
        #expect(second.status == 1)
        #expect(second.stderr.contains("another mediasync supervisor (pid \(firstPid)) is already serving on \(serve.socket)"), "\(second.stderr)")

        serve.signal(SIGKILL)
        #expect(serve.exitStatus(timeout: 5) == 128 + SIGKILL)
        #expect(FileManager.default.fileExists(atPath: serve.socket), "SIGKILL leaves the socket behind")
        try serve.start()
        #expect(serve.pid != firstPid)
        let status = try SocketClient(path: serve.socket).request(#"{"cmd":"status"}"#)
        #expect(status.int("pid") == Int(serve.pid))
    }

    /// SIGTERM in the middle of a slow transfer: exit 0 within 10 s, the socket gone, no rsync left,
    /// nothing unfinished in the library, and the file brought whole by the next start.
    @Test func sigtermDuringATransferStopsCleanlyAndTheNextStartResumes() throws {
        let serve = try ServeHarness(folders: ["a"], sourceExtra: ", bwlimit: 500")
        defer { serve.stop() }
        try serve.makeFiles("a", count: 1, size: 8_000_000, prefix: "big")
        try serve.start()
        let watcher = try SocketClient(path: serve.socket)
        watcher.send(#"{"cmd":"attach"}"#)
        let inFlight = watcher.collect(until: { event in
            guard event.type == "progress", let overall = event["overall"] as? [String: Any] else { return false }
            return overall.int("bytes_done") > 1_000_000
        }, timeout: 30)
        #expect(inFlight != nil, "the transfer never got going:\n\(serve.log)")
        let started = Date()
        serve.signal(SIGTERM)
        let status = serve.exitStatus(timeout: 10)
        let took = Date().timeIntervalSince(started)
        #expect(status == 0, "serve did not exit 0 within 10 s (status \(String(describing: status)))")
        print("serve stopped \(String(format: "%.2f", took)) s after SIGTERM during a transfer")
        #expect(!FileManager.default.fileExists(atPath: serve.socket))
        // serve waited for its children before exiting; a moment for the kernel to reap what it killed.
        #expect(Watch.until(timeout: 10) { serve.leftoverProcesses().isEmpty }, "left behind: \(serve.leftoverProcesses())")
        // A first sync places files into the library itself; on SIGTERM rsync removes its unfinished temporary
        // file (`.big0.png.XXXXXX`), and nothing unfinished is anywhere in the library folder.
        let folder = (try? FileManager.default.contentsOfDirectory(atPath: serve.library + "/src/a")) ?? []
        #expect(folder.isEmpty, "an unfinished file is in the library folder: \(folder)")

        try serve.writeConfig(folders: ["a"], interval: "1h")
        try serve.start()
        let next = try SocketClient(path: serve.socket)
        next.send(#"{"cmd":"attach","since":0}"#)
        let events = try #require(next.collect(until: { $0.type == "cycle_finished" }, timeout: 60))
        #expect(events.contains { $0.type == "file_synced" })
        let copy = try Data(contentsOf: URL(fileURLWithPath: serve.library + "/src/a/big0.png"))
        let original = try Data(contentsOf: URL(fileURLWithPath: serve.sources + "/a/big0.png"))
        #expect(copy == original)
    }

    private func runTool(_ argv: [String], root: String) throws -> String {
        let out = root + "/tool-\(UUID().uuidString.prefix(6)).out"
        let pid = try ServeHarness.spawn(argv, environment: [:], output: out)
        _ = ServeHarness.wait(pid, timeout: 20)
        return (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
    }
}
