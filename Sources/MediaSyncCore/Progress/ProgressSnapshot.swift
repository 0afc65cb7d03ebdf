/// The `progress` event's payload: the cycle's overall counters and one entry per job. Its wire form (written
/// and read) is in Events/EventBody+Wire.swift.
///
/// Keys are snake_case. `percent` is a Double with one decimal, floored (so 99.96 shows 99.9, and
/// 100.0 means done), never falling within a cycle. `rate_bps` is whole bytes per second, 0 when
/// unknown. `eta_s` is whole seconds rounded up and `null` when unknown; `current` is `null` when
/// no file is in flight. Both nulls are written out, never left out.
public struct ProgressSnapshot: Sendable, Equatable {
    public var overall: Overall
    public var jobs: [Job]

    public init(overall: Overall, jobs: [Job]) {
        self.overall = overall
        self.jobs = jobs
    }

    /// The whole cycle.
    public struct Overall: Sendable, Equatable {
        public var percent: Double
        public var filesDone: Int
        public var filesTotal: Int
        public var bytesDone: Int64
        public var bytesTotal: Int64
        public var rateBps: Int64
        public var etaS: Int?

        public init(percent: Double, filesDone: Int, filesTotal: Int, bytesDone: Int64,
                    bytesTotal: Int64, rateBps: Int64, etaS: Int?) {
            self.percent = percent
            self.filesDone = filesDone
            self.filesTotal = filesTotal
            self.bytesDone = bytesDone
            self.bytesTotal = bytesTotal
            self.rateBps = rateBps
            self.etaS = etaS
        }

    }

    /// One job (one source/folder pair).
    public struct Job: Sendable, Equatable {
        /// `"<source>/<folder>"`.
        public var job: String
        public var state: JobState
        /// rsync runs started so far (0 before the first transfer).
        public var attempt: Int
        public var percent: Double
        public var filesDone: Int
        public var filesTotal: Int
        public var bytesDone: Int64
        public var bytesTotal: Int64
        public var rateBps: Int64
        public var etaS: Int?
        /// The file in flight (or the last one of this run); null when none.
        public var current: String?

        public init(job: String, state: JobState, attempt: Int, percent: Double, filesDone: Int,
                    filesTotal: Int, bytesDone: Int64, bytesTotal: Int64, rateBps: Int64,
                    etaS: Int?, current: String?) {
            self.job = job
            self.state = state
            self.attempt = attempt
            self.percent = percent
            self.filesDone = filesDone
            self.filesTotal = filesTotal
            self.bytesDone = bytesDone
            self.bytesTotal = bytesTotal
            self.rateBps = rateBps
            self.etaS = etaS
            self.current = current
        }

    }
}

extension ProgressSnapshot {
    /// Whole seconds, rounded up so a job about to end shows 1, not 0; nil stays nil.
    static func seconds(_ eta: Double?) -> Int? {
        guard let eta, eta.isFinite, eta >= 0 else { return nil }
        return eta >= Double(Int.max) ? nil : Int(eta.rounded(.up))
    }

    static func bytesPerSecond(_ rate: Double?) -> Int64 {
        guard let rate, rate.isFinite, rate > 0 else { return 0 }
        return Int64(rate.rounded())
    }
}

extension CycleProgress {
    /// The snapshot to send as a `progress` event at `now`.
    public func snapshot(at now: Double) -> ProgressSnapshot {
        let eta = self.eta(at: now)
        let jobs = self.jobs.enumerated().map { i, job in
            ProgressSnapshot.Job(
                job: job.id.description, state: job.state, attempt: job.attempt, percent: job.percent,
                filesDone: job.filesDone, filesTotal: job.filesTotal,
                bytesDone: job.bytesDone, bytesTotal: job.bytesTotal,
                rateBps: ProgressSnapshot.bytesPerSecond(job.rate(at: now)),
                etaS: ProgressSnapshot.seconds(eta.jobs[i]),
                current: job.state == .transferring ? job.currentFile : nil)
        }
        let overall = ProgressSnapshot.Overall(
            percent: percent, filesDone: filesDone, filesTotal: filesTotal,
            bytesDone: bytesDone, bytesTotal: bytesTotal,
            rateBps: ProgressSnapshot.bytesPerSecond(rate(at: now)),
            etaS: ProgressSnapshot.seconds(eta.overall))
        return ProgressSnapshot(overall: overall, jobs: jobs)
    }
}
