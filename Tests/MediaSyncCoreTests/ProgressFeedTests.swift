import Testing
@testable import MediaSyncCore

/// The `progress` feed of schema v2 on manual time: at most ten events a second, the last state always sent,
/// and events that carry only what changed yet let any reader rebuild every job.
@Suite struct ProgressFeedTests {
    /// A 192-job cycle (64 sources x 3 folders, 8 slots) run on manual time; each step may start, advance
    /// or end jobs. Returns the events the feed sent, with the full snapshot at each one.
    struct Run {
        var events: [(t: Double, event: ProgressSnapshot, full: ProgressSnapshot)] = []
        var finalFull: ProgressSnapshot
    }

    static func ids() -> [JobID] {
        (0..<64).flatMap { s in ["txt2img", "img2img", "extras"].map { JobID(source: "src\(s)", folder: $0) } }
    }

    static func runCycle(stepSeconds: Double = 0.02) -> Run {
        let ids = ids()
        var cycle = CycleProgress(jobs: ids, concurrency: 8)
        var feed = ProgressFeed()
        var events: [(Double, ProgressSnapshot, ProgressSnapshot)] = []
        var t = 0.0
        var next = 0
        var running: [(JobID, Int)] = []   // job, steps left
        func send(_ at: Double, _ cycle: CycleProgress, _ feed: inout ProgressFeed) {
            let full = cycle.snapshot(at: at)
            events.append((at, feed.event(from: full, at: at), full))
        }
        while next < ids.count || !running.isEmpty {
            t += stepSeconds
            // The engine's timer for the instant the feed named (fired at the step's resolution here).
            if feed.isDue(at: t) { send(t, cycle, &feed) }
            var changed = false
            // End the jobs whose time came: every fifth fails.
            for (i, entry) in running.enumerated().reversed() where entry.1 == 0 {
                let failed = ids.firstIndex(of: entry.0)! % 5 == 4
                cycle.transition(entry.0, to: failed ? .failed : .done, at: t)
                running.remove(at: i)
                changed = true
            }
            for i in running.indices { running[i].1 -= 1 }
            while running.count < 8 && next < ids.count {
                let id = ids[next]
                cycle.transition(id, to: .listing, at: t)
                cycle.plan(id, files: 20, bytes: 20_000_000, at: t)
                cycle.transition(id, to: .transferring, at: t)
                running.append((id, 3 + next % 7))
                next += 1
                changed = true
            }
            if changed, feed.changed(at: t) <= t { send(t, cycle, &feed) }
            // The 100 ms tick, at its own phase.
            if Int((t * 1000).rounded()) % 100 == 0, feed.isDue(at: t) { send(t, cycle, &feed) }
        }
        let last = feed.finalAt(t)
        #expect(last >= t && last <= t + 0.1 + 1e-9)
        send(last, cycle, &feed)
        return Run(events: events.map { (t: $0.0, event: $0.1, full: $0.2) }, finalFull: cycle.snapshot(at: last))
    }

    @Test("a burst of changes gives at most ten events in any second, and the cycle's last state is sent")
    func atMostTenASecond() {
        let run = Self.runCycle()
        let times = run.events.map(\.t)
        #expect(times.count >= 10, "the cycle is live: \(times.count) events")
        for (i, start) in times.enumerated() {
            let inWindow = times[i...].prefix { $0 < start + 1 - 1e-9 }.count
            #expect(inWindow <= 10, "\(inWindow) events in the second from \(start)")
        }
        #expect(run.events.last?.event.overall == run.finalFull.overall)
        #expect(run.finalFull.jobs.allSatisfy { $0.state.isFinal })
    }

    @Test("the first event has every job; later ones the running jobs and those changed, each final state once")
    func eventsCarryWhatChanged() throws {
        let run = Self.runCycle()
        #expect(run.events[0].event.jobs.count == 192)
        var seenFinal: [String: Int] = [:]
        for (i, e) in run.events.enumerated() where i > 0 {
            let before = run.events[i - 1].full
            #expect(e.event.jobs.count < 40, "event \(i) carries \(e.event.jobs.count) jobs")
            for job in e.full.jobs {
                let was = before.jobs.first { $0.job == job.job }!
                let carried = e.event.jobs.contains { $0.job == job.job }
                if job.state.holdsSlot || job.state != was.state { #expect(carried, "\(job.job) \(was.state)->\(job.state) in event \(i)") }
                if job.state.isFinal && carried { seenFinal[job.job, default: 0] += 1 }
            }
        }
        #expect(seenFinal.count == 192 && seenFinal.values.allSatisfy { $0 == 1 },
                "each job's final state is sent once: \(seenFinal.filter { $0.value != 1 })")
    }

    @Test("from the start, joining mid-cycle, or reconnecting with since: the same picture at the end")
    func everyReaderRebuildsTheWholePicture() throws {
        let run = Self.runCycle()
        let n = run.events.count
        #expect(n > 6)
        var fromStart = ProgressPicture()
        for e in run.events { fromStart.apply(cycle: 7, e.event) }
        // Joins after event n/3: gets the full snapshot of that instant (attach), then the events after it.
        var joined = ProgressPicture()
        joined.replace(cycle: 7, with: run.events[n / 3].full)
        for e in run.events[(n / 3 + 1)...] { joined.apply(cycle: 7, e.event) }
        // Read up to n/4, dropped, came back at 2n/3 with since: snapshot of then, replay of what it missed, live.
        var reconnected = ProgressPicture()
        for e in run.events[...(n / 4)] { reconnected.apply(cycle: 7, e.event) }
        reconnected.replace(cycle: 7, with: run.events[2 * n / 3].full)
        for e in run.events[(n / 4 + 1)...] { reconnected.apply(cycle: 7, e.event) }
        #expect(fromStart.snapshot == run.finalFull)
        #expect(joined.snapshot == run.finalFull)
        #expect(reconnected.snapshot == run.finalFull)
        #expect(fromStart.snapshot.jobs.filter { $0.state == .failed }.count == 38, "every fifth job failed")
    }

    @Test("a job whose counters change while it waits (a late plan) is told once, not on every event")
    func quietJobsStayOut() {
        var cycle = CycleProgress(jobs: [JobID(source: "a", folder: "x"), JobID(source: "b", folder: "y")], concurrency: 1)
        var feed = ProgressFeed(gather: 0)
        let c1 = feed.changed(at: 0)
        #expect(c1 == 0)
        let e0 = feed.event(from: cycle.snapshot(at: 0), at: 0)
        #expect(e0.jobs.count == 2)
        cycle.plan(JobID(source: "b", folder: "y"), files: 3, bytes: 300, at: 0.2)
        let c2 = feed.changed(at: 0.2)
        #expect(c2 == 0.2)
        let e1 = feed.event(from: cycle.snapshot(at: 0.2), at: 0.2)
        #expect(e1.jobs.map(\.job) == ["b/y"])
        #expect(!feed.isDue(at: 0.5), "nothing changed since")
        let c3 = feed.changed(at: 0.5)
        #expect(c3 == 0.5)
        let e2 = feed.event(from: cycle.snapshot(at: 0.5), at: 0.5)
        #expect(e2.jobs.isEmpty)
        // Inside the spacing a change waits for its end.
        let c4 = feed.changed(at: 0.55)
        #expect(abs(c4 - 0.6) < 1e-9)
        #expect(!feed.isDue(at: 0.59))
        #expect(feed.isDue(at: 0.6))
        #expect(abs(feed.finalAt(0.55) - 0.6) < 1e-9)
    }

    @Test("rsync's records, a burst every ~100 ms written in pieces, go out a few ms after they come, not a spacing later")
    func recordsGoOutAsTheyCome() {
        // The shape bin/bench supervisor measured (rsync at --bwlimit, 20 KB files): every 101-115 ms a burst,
        // often with a second piece 0.5-3.5 ms after the first. The engine sends when `changed` says (a timer).
        func waits(_ feed: ProgressFeed) -> [Double] {
            var feed = feed
            let empty = CycleProgress(jobs: [JobID(source: "a", folder: "x")], concurrency: 1).snapshot(at: 10)
            var pieces: [Double] = []
            var burst = 10.0
            for i in 0..<60 {
                pieces.append(burst)
                if i % 2 == 0 { pieces.append(burst + 0.0007 + Double(i % 5) * 0.0007) }
                burst += i % 3 == 0 ? 0.115 : 0.101
            }
            var result: [Double] = []
            var pending: [Double] = []   // pieces not yet told
            var due: Double?
            func send(at t: Double) {
                _ = feed.event(from: empty, at: t)
                result += pending.map { t - $0 }
                pending = []
                due = nil
            }
            for piece in pieces {
                if let d = due, d <= piece { send(at: d) }
                pending.append(piece)
                let at = feed.changed(at: piece)
                if at <= piece { send(at: piece) } else { due = at }
            }
            if let d = due { send(at: d) }
            return result
        }
        let gathered = waits(ProgressFeed()).sorted()
        #expect(gathered.last! <= 0.0051, "every piece told within the 5 ms gather: worst \(gathered.last!)")
        // Without the gather, the second piece of a burst waits out the spacing, and so does every burst after it.
        let atOnce = waits(ProgressFeed(gather: 0)).sorted()
        #expect(atOnce[atOnce.count / 2] > 0.05, "p50 \(atOnce[atOnce.count / 2])")
    }

    @Test("an event of a new cycle starts the picture over; an unknown job is added at the end")
    func pictureAcrossCycles() {
        func job(_ name: String, _ state: JobState) -> ProgressSnapshot.Job {
            .init(job: name, state: state, attempt: 1, percent: 0, filesDone: 0, filesTotal: 0, bytesDone: 0,
                  bytesTotal: 0, rateBps: 0, etaS: nil, current: nil)
        }
        let overall = ProgressSnapshot.Overall(percent: 1, filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0, rateBps: 0, etaS: nil)
        var p = ProgressPicture()
        p.apply(cycle: 1, ProgressSnapshot(overall: overall, jobs: [job("a/x", .queued), job("b/y", .queued)]))
        p.apply(cycle: 1, ProgressSnapshot(overall: overall, jobs: [job("b/y", .done), job("c/z", .listing)]))
        #expect(p.snapshot.jobs.map(\.job) == ["a/x", "b/y", "c/z"])
        #expect(p["b/y"]?.state == .done && p["a/x"]?.state == .queued)
        p.apply(cycle: 2, ProgressSnapshot(overall: overall, jobs: [job("a/x", .listing)]))
        #expect(p.cycle == 2 && p.snapshot.jobs.map(\.job) == ["a/x"])
    }
}
