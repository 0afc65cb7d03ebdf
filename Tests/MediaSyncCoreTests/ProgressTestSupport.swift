@testable import MediaSyncCore

// Builders for the records the parser hands out, so sequences read like rsync's output.

func fileLine(_ path: String, _ size: Int64, itemize: String = ">f+++++++++") -> RsyncRecord {
    .file(RsyncFileRecord(itemize: itemize, name: Array(path.utf8), size: size))
}

func progressLine(_ bytes: Int64, _ percent: Int, xfr: Int? = nil, chk: (Int, Int)? = nil,
                  growing: Bool = false) -> RsyncRecord {
    .progress(RsyncProgress(bytes: bytes, percent: percent, bytesPerSecond: 0, seconds: 0,
                            transferNumber: xfr, checkRemaining: chk?.0, checkTotal: chk?.1,
                            totalsGrowing: growing))
}

let MB: Int64 = 1_000_000

/// Jobs of the given sizes, each moving at `rate` bytes/s once started, run by a supervisor that
/// keeps `concurrency` of them going and starts the next queued one as soon as a slot frees.
/// Every `step` seconds each running job reports an rsync progress record.
struct ParallelRun {
    var cycle: CycleProgress
    let ids: [JobID]
    let sizes: [Int64]
    let rate: Double
    let concurrency: Int
    var started: [Double?]
    var now: Double = 0

    init(sizes: [Int64], rate: Double, concurrency: Int) {
        ids = sizes.indices.map { JobID(source: "box", folder: "f\($0)") }
        self.sizes = sizes
        self.rate = rate
        self.concurrency = concurrency
        started = Array(repeating: nil, count: sizes.count)
        cycle = CycleProgress(jobs: ids, concurrency: concurrency)
        for (id, size) in zip(ids, sizes) {
            cycle.plan(id, files: 1, bytes: size, at: 0)
        }
        fillSlots()
    }

    var finished: Bool { cycle.isFinished }

    mutating func advance(by step: Double) {
        now += step
        for i in ids.indices where cycle[ids[i]]?.state == .transferring {
            let sent = min(sizes[i], Int64(rate * (now - started[i]!)))
            let percent = Int(Double(sent) * 100 / Double(sizes[i]))
            if sent == sizes[i] {
                cycle.record(progressLine(sent, 100, xfr: 1, chk: (0, 1)), for: ids[i], at: now)
                cycle.transition(ids[i], to: .done, at: now)
            } else {
                cycle.record(progressLine(sent, percent), for: ids[i], at: now)
            }
        }
        fillSlots()
    }

    private mutating func fillSlots() {
        var running = cycle.jobs.filter { $0.state.holdsSlot }.count
        for i in ids.indices where running < concurrency && cycle[ids[i]]?.state == .queued {
            cycle.transition(ids[i], to: .transferring, at: now)
            cycle.record(fileLine("f\(i)/image.png", sizes[i]), for: ids[i], at: now)
            cycle.record(progressLine(0, 0), for: ids[i], at: now)
            started[i] = now
            running += 1
        }
    }

    /// Runs a copy to the end and returns when the last job finished.
    func finishTime(step: Double) -> Double {
        var copy = self
        while !copy.finished { copy.advance(by: step) }
        return copy.now
    }
}
