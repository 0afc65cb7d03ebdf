import Foundation
import Testing

/// Schema v2 on a real supervisor: a `progress` event carries only the jobs running or changed since the
/// previous one, yet every client rebuilds the whole per-job picture from its snapshot and the events.
@Suite("mediasync serve: every client ends a 192-job cycle with the same picture", .serialized)
struct SupervisorProgressPictureTests {
    /// The per-job picture a client keeps: `job` -> the fields a reader keeps of it.
    typealias Picture = [String: [String: String]]

    static func apply(_ progress: [String: Any], to picture: inout Picture) {
        for job in progress["jobs"] as? [[String: Any]] ?? [] {
            guard let name = job["job"] as? String else { continue }
            var kept: [String: String] = [:]
            for key in ["state", "attempt", "percent", "files_done", "files_total", "bytes_done", "bytes_total"] {
                kept[key] = "\(job[key] ?? "absent")"
            }
            picture[name] = kept
        }
    }

    /// Folds events into `picture` until `cycle_finished`; returns the events seen.
    static func follow(_ client: SocketClient, into picture: inout Picture, until stop: ([String: Any]) -> Bool = { $0.type == "cycle_finished" },
                       timeout: Double = 120) -> [[String: Any]]? {
        var seen: [[String: Any]] = []
        let deadline = Date().addingTimeInterval(timeout)
        while let object = client.readObject(timeout: max(0.1, deadline.timeIntervalSinceNow)) {
            seen.append(object)
            if object.type == "progress" { apply(object, to: &picture) }
            if object.type == "snapshot", let progress = object["progress"] as? [String: Any] {
                picture = [:]
                apply(progress, to: &picture)
            }
            if stop(object) { return seen }
        }
        return nil
    }

    @Test func fromTheStartMidCycleAndAfterAReconnectWithSince() throws {
        let folders = (0..<192).map { String(format: "f%03d", $0) }
        let serve = try ServeHarness(folders: folders, extraConfig: "concurrency: 8")
        defer { serve.stop() }
        try serve.start()
        let probe = try SocketClient(path: serve.socket)
        probe.send(#"{"cmd":"attach"}"#)
        #expect(probe.readObject()?.type == "hello")
        let first = try #require(probe.readObject())
        if first["state"] as? String == "syncing" { _ = probe.collect(until: { $0.type == "cycle_finished" }, timeout: 120) }
        for folder in folders { try serve.makeFiles(folder, count: 2, size: 20_000) }

        let early = try SocketClient(path: serve.socket)
        early.send(#"{"cmd":"attach"}"#)
        #expect(early.readObject()?.type == "hello")
        #expect(early.readObject()?.type == "snapshot")
        let dropper = try SocketClient(path: serve.socket)
        dropper.send(#"{"cmd":"attach"}"#)
        #expect(dropper.readObject()?.type == "hello")
        #expect(dropper.readObject()?.type == "snapshot")
        #expect(try SocketClient(path: serve.socket).request(#"{"cmd":"trigger"}"#)["ok"] as? Bool == true)

        nonisolated(unsafe) var fromStart: Picture = [:], fromStartEvents: [[String: Any]]?
        nonisolated(unsafe) var midCycle: Picture = [:], midEvents: [[String: Any]]?, midSnapshotJobs = 0
        nonisolated(unsafe) var reconnected: Picture = [:], reconnectedEvents: [[String: Any]]?
        let group = DispatchGroup()
        onThread(group) { fromStartEvents = Self.follow(early, into: &fromStart) }
        onThread(group) {
            // Reads until 20 jobs are finished.
            var finished = 0
            guard let before = Self.follow(dropper, into: &reconnected, until: { event in
                if event.type == "job_finished" { finished += 1 }
                return finished >= 20
            }) else { return }
            let last = before.last { $0.seq > 0 }?.seq ?? 0
            // Drops the connection, comes back with since = the last seq it processed.
            shutdown(dropper.fd, Int32(SHUT_RDWR))
            usleep(300_000)
            guard let again = try? SocketClient(path: serve.socket) else { return }
            again.send(#"{"cmd":"attach","since":\#(last)}"#)
            reconnectedEvents = Self.follow(again, into: &reconnected)
        }
        onThread(group) {
            // Joins once 40 jobs are finished.
            var finished = 0
            guard probe.collect(until: { event in
                if event.type == "job_finished" { finished += 1 }
                return finished >= 40
            }, timeout: 120) != nil, let late = try? SocketClient(path: serve.socket) else { return }
            late.send(#"{"cmd":"attach"}"#)
            _ = late.readObject()
            midEvents = Self.follow(late, into: &midCycle, until: { event in
                if event.type == "snapshot" { midSnapshotJobs = (event["progress"] as? [String: Any])?["jobs"].flatMap { ($0 as? [Any])?.count } ?? 0 }
                return event.type == "cycle_finished"
            })
        }
        group.wait()

        let all = try #require(fromStartEvents, "the client attached from the start did not see the cycle end")
        _ = try #require(midEvents, "the client attached mid-cycle did not see the cycle end")
        _ = try #require(reconnectedEvents, "the client that reconnected with since did not see the cycle end")
        #expect(midSnapshotJobs == 192, "the snapshot carries every job, not \(midSnapshotJobs)")
        #expect(fromStart.count == 192)
        #expect(fromStart.values.allSatisfy { $0["state"] == "done" && $0["files_done"] == "2" && $0["percent"] == "100" },
                "\(fromStart.filter { $0.value["state"] != "done" || $0.value["files_done"] != "2" }.prefix(3))")
        #expect(midCycle == fromStart, "mid-cycle: \(midCycle.filter { fromStart[$0.key] != $0.value }.prefix(3))")
        #expect(reconnected == fromStart, "since: \(reconnected.filter { fromStart[$0.key] != $0.value }.prefix(3))")
        // Events carry what changed: after the first, no progress holds every job.
        let progress = all.filter { $0.type == "progress" }
        let sizes = progress.map { ($0["jobs"] as? [Any])?.count ?? 0 }
        #expect(sizes.first == 192 && sizes.dropFirst().allSatisfy { $0 < 192 }, "\(sizes)")
    }
}

