import Foundation
import Testing

@Suite("mediasync serve: the event stream over the socket", .serialized)
struct SupervisorStreamTests {
    /// Three clients attached at once see the same events in the same seq order; one attached in the
    /// middle of the cycle gets a snapshot of it and continues with the next seq; `since` replays.
    @Test func clientsShareOneStreamMidCycleAttachAndSinceReplay() throws {
        let serve = try ServeHarness(sourceExtra: ", bwlimit: 250")
        defer { serve.stop() }
        try serve.start()
        // The start cycle has nothing to do; wait until it is over.
        let probe = try SocketClient(path: serve.socket)
        probe.send(#"{"cmd":"attach"}"#)
        #expect(probe.readObject()?.type == "hello")
        let first = try #require(probe.readObject())
        #expect(first.type == "snapshot")
        if first["state"] as? String == "syncing" { _ = probe.collect { $0.type == "cycle_finished" } }

        // About 8 s per job at 250 KiB/s: a wide window for the late client.
        try serve.makeFiles("a", count: 20, size: 100_000)
        try serve.makeFiles("b", count: 20, size: 100_000)
        let clients = try (0..<3).map { _ in try SocketClient(path: serve.socket) }
        for client in clients {
            client.send(#"{"cmd":"attach"}"#)
            #expect(client.readObject()?.type == "hello")
            #expect(client.readObject()?.type == "snapshot")
        }
        let trigger = try SocketClient(path: serve.socket)
        let ack = try trigger.request(#"{"cmd":"trigger"}"#)
        #expect(ack["ok"] as? Bool == true)

        // Read the three in parallel so none lags behind (a lagging one would see progress coalesce).
        nonisolated(unsafe) var streams: [[[String: Any]]?] = [nil, nil, nil]
        nonisolated(unsafe) var late: (snapshot: [String: Any]?, events: [[String: Any]]?) = (nil, nil)
        let group = DispatchGroup()
        for (i, client) in clients.enumerated() {
            onThread(group) {
                streams[i] = client.collect(until: { $0.type == "cycle_finished" }, timeout: 60)
            }
        }
        // The late client: attaches once the first file is home, while the cycle still runs.
        let spotter = try SocketClient(path: serve.socket)
        spotter.send(#"{"cmd":"attach"}"#)
        onThread(group) {
            _ = spotter.collect(until: { event in
                event.type == "progress" && ((event["overall"] as? [String: Any])?["bytes_done"] as? Int ?? 0) > 0
            }, timeout: 30)
            guard let client = try? SocketClient(path: serve.socket) else { return }
            client.send(#"{"cmd":"attach"}"#)
            _ = client.readObject()
            late.snapshot = client.readObject()
            late.events = client.collect(until: { $0.type == "cycle_finished" }, timeout: 60)
        }
        group.wait()

        let lists = try streams.map { try #require($0) }
        let seqs = lists.map { $0.map(\.seq) }
        #expect(seqs[0] == seqs[1] && seqs[1] == seqs[2], "the three clients saw different seqs")
        #expect(lists[0].map(\.type) == lists[2].map(\.type))
        #expect(seqs[0] == seqs[0].sorted() && Set(seqs[0]).count == seqs[0].count)
        let synced = lists[0].filter { $0.type == "file_synced" }.count
        #expect(synced == 40)
        #expect(lists[0].first?.type == "cycle_started")

        let snapshot = try #require(late.snapshot)
        let lateEvents = try #require(late.events)
        #expect(snapshot.type == "snapshot")
        #expect(snapshot["state"] as? String == "syncing")
        let progress = try #require(snapshot["progress"] as? [String: Any])
        let overall = try #require(progress["overall"] as? [String: Any])
        #expect(overall.int("files_total") == 40)
        #expect(overall.int("bytes_done") > 0)
        // No gap: the first live event follows the snapshot's seq, and the rest match what the others saw.
        #expect(lateEvents.first?.seq == snapshot.seq + 1)
        let tail = lists[0].filter { $0.seq > snapshot.seq }.map(\.seq)
        #expect(lateEvents.map(\.seq) == tail)

        // since: a new client asking from the middle gets exactly the events after it.
        let middle = seqs[0][seqs[0].count / 2]
        let replayer = try SocketClient(path: serve.socket)
        replayer.send(#"{"cmd":"attach","since":\#(middle)}"#)
        #expect(replayer.readObject()?.type == "hello")
        #expect(replayer.readObject()?.type == "snapshot")
        let replayed = try #require(replayer.collect(until: { $0.type == "cycle_finished" }, timeout: 10))
        #expect(replayed.map(\.seq) == seqs[0].filter { $0 > middle })
        #expect(!replayed.contains { $0.type == "gap" })
    }

    /// With a ring smaller than the cycle's events, `since` from the start tells how many are gone.
    @Test func sinceBeyondTheRingGetsAGapEvent() throws {
        let serve = try ServeHarness()
        serve.environment["MEDIASYNC_EVENT_RING"] = "50"
        defer { serve.stop() }
        try serve.makeFiles("a", count: 120, size: 1000)
        try serve.start()
        let watcher = try SocketClient(path: serve.socket)
        watcher.send(#"{"cmd":"attach","since":0}"#)
        _ = watcher.collect(until: { $0.type == "cycle_finished" })
        let status = try SocketClient(path: serve.socket).request(#"{"cmd":"status"}"#)
        let last = status.seq
        #expect(last > 120)

        let client = try SocketClient(path: serve.socket)
        client.send(#"{"cmd":"attach","since":3}"#)
        #expect(client.readObject()?.type == "hello")
        #expect(client.readObject()?.type == "snapshot")
        let gap = try #require(client.readObject())
        #expect(gap.type == "gap")
        #expect(gap.int("from_seq") == 4)
        #expect(gap.int("to_seq") == last - 50)
        #expect(gap.int("missed") == last - 50 - 3)
        let next = try #require(client.readObject())
        #expect(next.seq == last - 49)
    }

    /// `status` and `trigger --wait` as a user runs them; with no supervisor both exit 3 and say how to start one.
    @Test func statusAndTriggerWaitFromTheCommandLine() throws {
        let serve = try ServeHarness()
        defer { serve.stop() }
        let none = try serve.cli(["status", "--config", serve.configPath])
        #expect(none.status == 3)
        #expect(none.stderr.contains("mediasync serve"))
        #expect(none.stderr.contains("systemctl start mediasync"))
        let attachNone = try serve.cli(["attach", "--config", serve.configPath])
        #expect(attachNone.status == 3)

        try serve.start()
        // The cycle serve runs at start must be over before the files appear, or it takes some of them.
        let settled = try serve.cli(["trigger", "--wait", "--config", serve.configPath])
        #expect(settled.status == 0, "\(settled.stderr)")
        try serve.makeFiles("a", count: 5, size: 2000)
        let waited = try serve.cli(["trigger", "--wait", "--config", serve.configPath])
        #expect(waited.status == 0, "\(waited.stderr)")
        #expect(waited.stdout.contains("2 of 2 jobs done, 5 files"), "\(waited.stdout)")
        let home = try FileManager.default.contentsOfDirectory(atPath: serve.library + "/src/a")
        #expect(home.count == 5)

        let status = try serve.cli(["status", "--config", serve.configPath])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("state:       idle"))
        #expect(status.stdout.contains("src/a"))
        #expect(status.stdout.contains("next cycle:"))
        let row = status.stdout.split(separator: "\n").first { $0.hasPrefix("src/a") } ?? ""
        #expect(row.contains("done") && row.contains(" 5 "), "\(status.stdout)")

        let json = try serve.cli(["status", "--json", "--config", serve.configPath])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["state"] as? String == "idle")

        // A failing source: --wait exits 1. (A folder that is merely missing is "not created yet", so a file
        // takes its place: it exists but cannot be entered.)
        try FileManager.default.removeItem(atPath: serve.sources + "/b")
        FileManager.default.createFile(atPath: serve.sources + "/b", contents: Data("x".utf8))
        let failed = try serve.cli(["trigger", "--wait", "--source", "src", "--config", serve.configPath])
        #expect(failed.status == 1)
        #expect(failed.stdout.contains("1 failed"), "\(failed.stdout)")
        let unknown = try serve.cli(["trigger", "--source", "nope", "--config", serve.configPath])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no source named nope"))
    }
}

/// Runs a blocking reader on a thread of its own. Dispatch's global queue runs about one block per core
/// (two here), so a fourth blocking reader started only when another ended: the "late" client then attached
/// after the cycle instead of in the middle of it.
func onThread(_ group: DispatchGroup, _ body: @escaping @Sendable () -> Void) {
    group.enter()
    Thread.detachNewThread {
        body()
        group.leave()
    }
}
