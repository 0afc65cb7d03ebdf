/// The whole per-job picture of a cycle, rebuilt by a reader from `attach`'s snapshot and the `progress`
/// events after it (schema v2: an event carries only the jobs running or changed since the previous one).
///
/// A snapshot (`replace`) holds every job; an event (`apply`) updates the jobs it names and the overall
/// figures, and keeps the others as they were. An event of another cycle starts the picture over (the first
/// event of a cycle carries every job). Jobs keep the order they first came in, the cycle's order.
///
/// ```swift
/// var picture = ProgressPicture()
/// picture.replace(cycle: 3, with: snapshot.progress)   // on attach
/// picture.apply(cycle: 3, event)                       // each progress event
/// view.draw(picture.snapshot)
/// ```
public struct ProgressPicture: Sendable, Equatable {
    /// The cycle the picture is of; nil before the first snapshot or event.
    public private(set) var cycle: Int64?
    /// The overall figures and every job known, in the cycle's order.
    public private(set) var snapshot = ProgressSnapshot(
        overall: .init(percent: 0, filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0, rateBps: 0, etaS: nil),
        jobs: [])
    private var index: [String: Int] = [:]

    public init() {}

    /// Takes a full snapshot (every job) as the picture of `cycle`.
    public mutating func replace(cycle: Int64, with full: ProgressSnapshot) {
        self.cycle = cycle
        snapshot = full
        index = [:]
        for (i, job) in full.jobs.enumerated() { index[job.job] = i }
    }

    /// Folds one `progress` event of `cycle` into the picture.
    public mutating func apply(cycle: Int64, _ event: ProgressSnapshot) {
        guard cycle == self.cycle else {
            replace(cycle: cycle, with: event)
            return
        }
        snapshot.overall = event.overall
        for job in event.jobs {
            if let i = index[job.job] {
                snapshot.jobs[i] = job
            } else {
                index[job.job] = snapshot.jobs.count
                snapshot.jobs.append(job)
            }
        }
    }

    /// A `job_finished` came: the job is drawn as done or failed at once, not only once the next `progress`
    /// (at most 100 ms later) says so.
    public mutating func finished(_ result: JobFinished) {
        guard let i = index[result.job.job] else { return }
        snapshot.jobs[i].state = result.state == .done ? .done : .failed
        snapshot.jobs[i].current = nil
    }

    /// The job named `job` (`<source>/<folder>`), nil when the picture has none.
    public subscript(job: String) -> ProgressSnapshot.Job? {
        index[job].map { snapshot.jobs[$0] }
    }
}
