import Foundation
import Testing
@testable import MediaSyncCore

@Suite struct ProgressSnapshotTests {
    /// The snapshot as a `progress` event carries it: its `overall` and `jobs`.
    func wire(_ snapshot: ProgressSnapshot) -> [UInt8] {
        var w = JSONWriter()
        w.object { snapshot.writeFields(&$0) }
        return w.bytes
    }

    func json(_ snapshot: ProgressSnapshot) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(wire(snapshot))) as? [String: Any])
    }

    @Test func theWireShapeHasSnakeCaseKeysAndExplicitNulls() throws {
        let forge = JobID(source: "forge", folder: "outputs/txt2img-images")
        let comfy = JobID(source: "comfy", folder: "ComfyUI/output")
        var cycle = CycleProgress(jobs: [forge, comfy], concurrency: 1)
        cycle.plan(forge, files: 3, bytes: 3 * MB, at: 0)
        cycle.transition(forge, to: .transferring, at: 0)
        cycle.record(fileLine("2026-11-24/00012-3912345.png", MB), for: forge, at: 0)
        cycle.record(progressLine(MB, 33, xfr: 1, chk: (2, 3)), for: forge, at: 1)
        cycle.record(fileLine("2026-11-24/00013-3912346.png", MB), for: forge, at: 1)
        cycle.record(progressLine(3 * MB / 2, 50), for: forge, at: 2)

        let object = try json(cycle.snapshot(at: 2))
        #expect(Set(object.keys) == ["overall", "jobs"])
        let overall = try #require(object["overall"] as? [String: Any])
        #expect(Set(overall.keys) == ["percent", "files_done", "files_total", "bytes_done",
                                      "bytes_total", "rate_bps", "eta_s"])
        // comfy is not listed yet: counted as the average listed job (3 MB), after forge's slot frees (3 s)
        // at forge's rate: 3 + 6 s.
        #expect(overall["eta_s"] as? Int == 9)
        #expect(overall["bytes_done"] as? Int == 1_500_000)
        #expect(overall["files_done"] as? Int == 1)
        #expect(overall["rate_bps"] as? Int == 750_000)
        let jobs = try #require(object["jobs"] as? [[String: Any]])
        #expect(jobs.count == 2)
        #expect(Set(jobs[0].keys) == ["job", "state", "attempt", "percent", "files_done", "files_total",
                                      "bytes_done", "bytes_total", "rate_bps", "eta_s", "current"])
        #expect(jobs[0]["job"] as? String == "forge/outputs/txt2img-images")
        #expect(jobs[0]["state"] as? String == "transferring")
        #expect(jobs[0]["percent"] as? Double == 50)
        #expect(jobs[0]["current"] as? String == "2026-11-24/00013-3912346.png")
        #expect(jobs[0]["eta_s"] as? Int == 3)   // 1.5 MB left at 0.5 MB/s, the rate since its first record
        #expect(jobs[1]["job"] as? String == "comfy/ComfyUI/output")
        #expect(jobs[1]["state"] as? String == "queued")
        #expect(jobs[1]["current"] is NSNull)
        #expect(jobs[1]["eta_s"] as? Int == 9)
        // No rate yet: the ends are unknown -> null, not missing.
        var fresh = CycleProgress(jobs: [forge, comfy], concurrency: 1)
        fresh.plan(forge, files: 3, bytes: 3 * MB, at: 0)
        fresh.transition(forge, to: .transferring, at: 0)
        let unknown = try json(fresh.snapshot(at: 1))
        #expect((unknown["overall"] as? [String: Any])?["eta_s"] is NSNull)
        #expect((unknown["jobs"] as? [[String: Any]])?[1]["eta_s"] is NSNull)
    }

    @Test func percentHasOneDecimalFlooredSoItShows100OnlyWhenDone() throws {
        let id = JobID(source: "s", folder: "f")
        var cycle = CycleProgress(jobs: [id], concurrency: 1)
        cycle.plan(id, files: 3, bytes: 3_000_000, at: 0)
        cycle.transition(id, to: .transferring, at: 0)
        cycle.record(progressLine(1_000_000, 33), for: id, at: 1)
        #expect(cycle.snapshot(at: 1).overall.percent == 33.3)
        cycle.record(progressLine(2_999_999, 99), for: id, at: 2)
        #expect(cycle.snapshot(at: 2).overall.percent == 99.9)
        #expect(cycle.snapshot(at: 2).jobs[0].percent == 99.9)
        cycle.transition(id, to: .waitingToRetry, at: 3)
        let waiting = try json(cycle.snapshot(at: 3))
        let job = try #require((waiting["jobs"] as? [[String: Any]])?.first)
        #expect(job["state"] as? String == "waiting_retry")
        #expect(job["rate_bps"] as? Int == 0)
        cycle.transition(id, to: .transferring, at: 4)
        cycle.transition(id, to: .done, at: 5)
        let done = cycle.snapshot(at: 5)
        #expect(done.overall.percent == 100 && done.jobs[0].percent == 100)
        #expect(done.overall.filesDone == 3 && done.overall.bytesDone == 3_000_000)
        #expect(done.overall.etaS == 0)
        #expect(done.jobs[0].attempt == 2)
    }

    @Test func displayedPercentFloorsToOneDecimal() {
        #expect(ProgressPercent.displayed(0.58 * 100, complete: false) == 58.0)
        #expect(ProgressPercent.displayed(99.99, complete: false) == 99.9)
        #expect(ProgressPercent.displayed(100, complete: false) == 99.9)
        #expect(ProgressPercent.displayed(12.34, complete: false) == 12.3)
        #expect(ProgressPercent.displayed(.nan, complete: false) == 0)
        #expect(ProgressPercent.displayed(40, complete: true) == 100)
    }

    @Test func aSnapshotRoundTrips() throws {
        let id = JobID(source: "s", folder: "f")
        var cycle = CycleProgress(jobs: [id], concurrency: 1)
        cycle.plan(id, files: 1, bytes: MB, at: 0)
        cycle.transition(id, to: .transferring, at: 0)
        cycle.record(progressLine(MB / 2, 50), for: id, at: 1)
        let snapshot = cycle.snapshot(at: 1)
        #expect(try ProgressSnapshot(reading: WireReader(line: wire(snapshot))) == snapshot)
    }
}
