import Foundation
@testable import MediaSyncCore

/// A recorded run of real rsyncs with the time each stdout line arrived (Fixtures/timed/, made by
/// Fixtures/timed/record.py): rsync's own cadence, its buffering and its start-up, not a model of them.
struct TimedTrace {
    enum Event {
        case plan(files: Int, bytes: Int64)
        case spawn
        /// The same rsync started again after a kill (a stream's retry).
        case respawn
        case kill
        case exit(Int32)
        case record(RsyncRecord)
    }

    struct Line {
        var time: Double
        var rsync: Int
        var event: Event
    }

    let name: String
    let lines: [Line]

    /// When the last rsync exited: the true end of the run.
    var end: Double {
        lines.last { if case .exit = $0.event { return true } else { return false } }?.time ?? 0
    }

    static func load(_ name: String) throws -> TimedTrace {
        guard let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            throw FixtureError(message: "Fixtures folder missing from the test bundle")
        }
        let text = try String(contentsOf: root.appendingPathComponent("timed/\(name).tsv"), encoding: .utf8)
        var lines: [Line] = []
        for row in text.split(separator: "\n") {
            let fields = row.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, let time = Double(fields[0]), let rsync = Int(fields[1]) else {
                throw FixtureError(message: "\(name).tsv: bad line '\(row)' (want SECONDS<TAB>RSYNC<TAB>LINE)")
            }
            let body = String(fields[2])
            let words = body.split(separator: " ")
            switch words.first {
            case "#plan":
                lines.append(Line(time: time, rsync: rsync,
                                  event: .plan(files: Int(words[1])!, bytes: Int64(words[2])!)))
            case "#spawn": lines.append(Line(time: time, rsync: rsync, event: .spawn))
            case "#respawn": lines.append(Line(time: time, rsync: rsync, event: .respawn))
            case "#kill": lines.append(Line(time: time, rsync: rsync, event: .kill))
            case "#exit": lines.append(Line(time: time, rsync: rsync, event: .exit(Int32(words[1])!)))
            default:
                // Through the real parser, as the engine reads rsync's stdout.
                var parser = RsyncOutputParser(stream: .stdout)
                for record in parser.feed(Array(body.utf8) + [13]) {
                    lines.append(Line(time: time, rsync: rsync, event: .record(record)))
                }
            }
        }
        return TimedTrace(name: name, lines: lines)
    }
}

/// Feeds a `TimedTrace` into a `CycleProgress` as the sync engine would: an rsync's spawn moves its job to
/// `transferring` (after the plan), its records go in as they arrived, exit 0 moves it to `done`. `job` maps
/// an rsync of the trace to its job and stream (each rsync its own job, or several streams of one job).
/// Between records the view is read on the engine's 100 ms tick as well.
struct TraceReplay {
    struct Reading {
        var time: Double
        var percent: Double
        var bytesDone: Int64
        var eta: Double?
        /// The true time left: the trace's end minus `time`.
        var truth: Double
        /// Read between two records of one burst (the same rsync, under 2 ms apart: one read of its pipe).
        /// The engine may publish such a reading too, for at most the 100 ms until its next event; rsync's
        /// burst often starts with a stale mid-file record, so the ETA blips there (up to +35% for 100 ms).
        var midBurst = false
    }

    var cycle: CycleProgress
    let trace: TimedTrace
    let job: (Int) -> (JobID, stream: Int)
    /// The sum of every plan in the trace: the cycle's true total.
    let total: Int64

    init(_ trace: TimedTrace, jobs ids: [JobID], concurrency: Int, job: @escaping (Int) -> (JobID, stream: Int)) {
        self.trace = trace
        self.job = job
        cycle = CycleProgress(jobs: ids, concurrency: concurrency)
        var total: Int64 = 0
        for line in trace.lines { if case .plan(_, let bytes) = line.event { total += bytes } }
        self.total = total
    }

    /// Replays the whole trace; `each` sees every reading (after each record and on each tick).
    mutating func run(_ each: (Reading, CycleProgress) -> Void = { _, _ in }) -> [Reading] {
        var readings: [Reading] = []
        var tick = 0.0
        func read(_ cycle: CycleProgress, at time: Double) {
            let reading = Reading(time: time, percent: cycle.percent, bytesDone: cycle.bytesDone,
                                  eta: cycle.eta(at: time).overall, truth: trace.end - time)
            readings.append(reading)
            each(reading, cycle)
        }
        var planned = Set<JobID>()
        for (n, line) in trace.lines.enumerated() {
            while tick + 0.1 <= line.time {
                tick += 0.1
                read(cycle, at: tick)
            }
            let (id, stream) = job(line.rsync)
            switch line.event {
            case .plan(let files, let bytes):
                // Streams of one job share its one plan: the sum of their shares.
                let before = planned.insert(id).inserted ? (0, 0) : (cycle[id]!.plannedFiles!, cycle[id]!.plannedBytes!)
                cycle.plan(id, files: before.0 + files, bytes: before.1 + bytes, at: line.time)
            case .spawn:
                if cycle[id]?.state == .queued { cycle.transition(id, to: .transferring, at: line.time) }
            case .respawn, .kill:
                break   // a stream's retry inside a running job: only its records tell
            case .exit(let code):
                let others = trace.lines.contains { later in
                    later.time > line.time && job(later.rsync).0 == id
                }
                if code == 0, !others { cycle.transition(id, to: .done, at: line.time) }
            case .record(let record):
                cycle.record(record, for: id, stream: stream, at: line.time)
                read(cycle, at: line.time)
                if n + 1 < trace.lines.count, trace.lines[n + 1].rsync == line.rsync,
                   trace.lines[n + 1].time - line.time < 0.002 {
                    readings[readings.count - 1].midBurst = true
                }
            }
        }
        return readings
    }
}
