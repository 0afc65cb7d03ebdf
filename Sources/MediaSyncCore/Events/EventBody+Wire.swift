/// Each event's wire form, both ways: `writeFields` is what `Event.jsonLine()` writes after the envelope (for
/// `sync --json`, the control socket and the ingest outbox alike), and `init(type:reading:)` reads it back, for
/// `attach` and whoever else reads the stream in Swift. The two stay side by side, and the tests hold them to
/// each other (every sample event, encoded then decoded, is the same value) and to the bytes of docs/events.md.
extension EventBody {
    /// Writes the event's own fields (after the envelope) as docs/events.md gives them.
    func writeFields(_ o: inout ObjectWriter) {
        switch self {
        case let .cycleStarted(cycle, jobs):
            o.field("cycle", cycle)
            o.array("jobs", jobs) { j, job in
                j.field("job", job.job); j.field("source", job.source); j.field("folder", job.folder)
            }
        case let .jobStarted(cycle, job, streams):
            o.field("cycle", cycle)
            o.field("job", job.job); o.field("source", job.source); o.field("folder", job.folder)
            o.field("streams", streams)
        case let .progress(cycle, snapshot):
            o.field("cycle", cycle)
            snapshot.writeFields(&o)
        case let .fileSynced(cycle, f):
            o.field("cycle", cycle)
            o.field("job", f.job.job); o.field("source", f.job.source); o.field("folder", f.job.folder)
            o.pathField("path", f.path)
            o.pathField("library_path", f.libraryPath)
            o.field("size", f.size)
            o.field("mtime", f.mtime)
            if let renamed = f.renamedFrom { o.pathField("renamed_from", renamed) }
        case let .fileDeferred(cycle, job, path, reason):
            o.field("cycle", cycle)
            o.field("job", job.job)
            o.pathField("path", path)
            o.field("reason", reason)
        case let .jobFinished(cycle, f):
            o.field("cycle", cycle)
            o.field("job", f.job.job)
            o.field("state", f.state.rawValue)
            o.field("files", f.files)
            o.field("bytes", f.bytes)
            o.field("seconds", f.seconds, decimals: 3)
            if let code = f.exitCode { o.field("exit_code", Int(code)) } else { o.null("exit_code") }
            o.field("attempts", f.attempts)
            o.field("streams", f.streams)
            if let error = f.error { o.field("error", error) }
            if let note = f.note { o.field("note", note) }
        case let .cycleFinished(cycle, f):
            o.field("cycle", cycle)
            o.field("jobs_done", f.jobsDone)
            o.field("jobs_failed", f.jobsFailed)
            o.field("files", f.files)
            o.field("bytes", f.bytes)
            o.field("seconds", f.seconds, decimals: 3)
        case let .log(level, message, cycle, job):
            o.field("level", level)
            o.field("message", message)
            if let cycle { o.field("cycle", cycle) }
            if let job { o.field("job", job) }
        case let .purgeStarted(cycle, job, dryRun):
            o.field("cycle", cycle)
            o.field("job", job.job)
            o.field("dry_run", dryRun)
        case let .filePurged(cycle, job, path, size, ageS, dryRun):
            o.field("cycle", cycle)
            o.field("job", job.job)
            o.pathField("path", path)
            o.field("size", size)
            o.field("age_s", ageS)
            if dryRun { o.field("dry_run", true) }
        case let .fileKept(cycle, job, path, reason):
            o.field("cycle", cycle)
            o.field("job", job.job)
            o.pathField("path", path)
            o.field("reason", reason)
        case let .purgeFinished(cycle, job, deleted, kept, bytesFreed, dryRun):
            o.field("cycle", cycle)
            o.field("job", job.job)
            o.field("deleted", deleted)
            o.field("kept", kept)
            o.field("bytes_freed", bytesFreed)
            o.field("dry_run", dryRun)
        }
    }

    /// Reads the fields `writeFields` wrote for an event of wire type `type`; nil when this build knows no
    /// such type.
    init?(type: String, reading r: WireReader) throws(WireError) {
        switch type {
        case "cycle_started":
            self = .cycleStarted(cycle: try r.int64("cycle"), jobs: try r.objects("jobs").map { j throws(WireError) in try j.eventJob() })
        case "job_started":
            // Before streams (schema 2's first form) every job ran one.
            self = .jobStarted(cycle: try r.int64("cycle"), job: try r.eventJob(), streams: try r.optionalInt("streams") ?? 1)
        case "progress":
            self = .progress(cycle: try r.int64("cycle"), try ProgressSnapshot(reading: r))
        case "file_synced":
            self = .fileSynced(cycle: try r.int64("cycle"), FileSynced(
                job: try r.eventJob(), path: try r.path("path"), libraryPath: try r.path("library_path"),
                size: try r.int64("size"), mtime: try r.int64("mtime"), renamedFrom: try r.optionalPath("renamed_from")))
        case "file_deferred":
            self = .fileDeferred(cycle: try r.int64("cycle"), job: try r.eventJob(), path: try r.path("path"),
                                 reason: try r.string("reason"))
        case "job_finished":
            guard let state = JobFinished.State(rawValue: try r.string("state")) else {
                throw WireError("`state` is neither done nor failed")
            }
            let code = try r.optionalInt64("exit_code")
            self = .jobFinished(cycle: try r.int64("cycle"), JobFinished(
                job: try r.eventJob(), state: state, files: try r.int("files"), bytes: try r.int64("bytes"),
                seconds: try r.double("seconds"), exitCode: try code.map { c throws(WireError) in try Self.exitCode(c) },
                attempts: try r.int("attempts"),
                // Before streams (schema 2's first form) a job that ran rsync ran one.
                streams: try r.optionalInt("streams") ?? (code == nil ? 0 : 1),
                error: try r.optionalString("error"), note: try r.optionalString("note")))
        case "cycle_finished":
            self = .cycleFinished(cycle: try r.int64("cycle"), CycleFinished(
                jobsDone: try r.int("jobs_done"), jobsFailed: try r.int("jobs_failed"), files: try r.int("files"),
                bytes: try r.int64("bytes"), seconds: try r.double("seconds")))
        case "log":
            self = .log(level: try r.string("level"), message: try r.string("message"), cycle: try r.optionalInt64("cycle"),
                        job: try r.optionalString("job"))
        case "purge_started":
            self = .purgeStarted(cycle: try r.int64("cycle"), job: try r.eventJob(), dryRun: try r.bool("dry_run"))
        case "file_purged":
            self = .filePurged(cycle: try r.int64("cycle"), job: try r.eventJob(), path: try r.path("path"),
                               size: try r.int64("size"), ageS: try r.int64("age_s"),
                               dryRun: r.has("dry_run") ? try r.bool("dry_run") : false)
        case "file_kept":
            self = .fileKept(cycle: try r.int64("cycle"), job: try r.eventJob(), path: try r.path("path"),
                             reason: try r.string("reason"))
        case "purge_finished":
            self = .purgeFinished(cycle: try r.int64("cycle"), job: try r.eventJob(), deleted: try r.int("deleted"),
                                  kept: try r.int("kept"), bytesFreed: try r.int64("bytes_freed"), dryRun: try r.bool("dry_run"))
        default:
            return nil
        }
    }

    private static func exitCode(_ code: Int64) throws(WireError) -> Int32 {
        guard let exact = Int32(exactly: code) else { throw WireError("`exit_code` is out of range") }
        return exact
    }
}

extension ProgressSnapshot {
    /// `overall` and `jobs`: the fields of a `progress` event, and of the `progress` of `attach`'s snapshot.
    func writeFields(_ o: inout ObjectWriter) {
        o.object("overall") { p in
            let s = overall
            p.field("percent", s.percent)
            p.field("files_done", s.filesDone); p.field("files_total", s.filesTotal)
            p.field("bytes_done", s.bytesDone); p.field("bytes_total", s.bytesTotal)
            p.field("rate_bps", s.rateBps)
            if let eta = s.etaS { p.field("eta_s", eta) } else { p.null("eta_s") }
        }
        o.array("jobs", jobs) { p, s in
            p.field("job", s.job)
            p.field("state", s.state.rawValue)
            p.field("attempt", s.attempt)
            p.field("percent", s.percent)
            p.field("files_done", s.filesDone); p.field("files_total", s.filesTotal)
            p.field("bytes_done", s.bytesDone); p.field("bytes_total", s.bytesTotal)
            p.field("rate_bps", s.rateBps)
            if let eta = s.etaS { p.field("eta_s", eta) } else { p.null("eta_s") }
            if let current = s.current { p.field("current", current) } else { p.null("current") }
        }
    }

    /// Reads `overall` and `jobs` as `writeFields` wrote them.
    public init(reading r: WireReader) throws(WireError) {
        let o = try r.object("overall")
        let overall = Overall(percent: try o.double("percent"), filesDone: try o.int("files_done"),
                              filesTotal: try o.int("files_total"), bytesDone: try o.int64("bytes_done"),
                              bytesTotal: try o.int64("bytes_total"), rateBps: try o.int64("rate_bps"),
                              etaS: try o.optionalInt("eta_s"))
        var jobs: [Job] = []
        for j in try r.objects("jobs") {
            guard let state = JobState(rawValue: try j.string("state")) else { throw WireError("`state` is not a job state") }
            jobs.append(Job(job: try j.string("job"), state: state, attempt: try j.int("attempt"), percent: try j.double("percent"),
                            filesDone: try j.int("files_done"), filesTotal: try j.int("files_total"),
                            bytesDone: try j.int64("bytes_done"), bytesTotal: try j.int64("bytes_total"),
                            rateBps: try j.int64("rate_bps"), etaS: try j.optionalInt("eta_s"), current: try j.optionalString("current")))
        }
        self.init(overall: overall, jobs: jobs)
    }
}

extension Event {
    /// Reads one line as `jsonLine()` writes it (with or without its `\n`): the envelope and the event's own
    /// fields. Throws for a line that is no event, and for a type this build does not know (docs/events.md:
    /// readers ignore those).
    public init(jsonLine: some Collection<UInt8>) throws(WireError) {
        let r = try WireReader(line: jsonLine)
        guard let event = try Event(reading: r) else {
            throw WireError("`\(try r.string("type"))` is not an event type this build knows")
        }
        self = event
    }

    /// The event in `r`; nil when its type is not one this build knows.
    init?(reading r: WireReader) throws(WireError) {
        let version = try r.int("v")
        guard version == Self.schemaVersion else { throw WireError("schema version \(version) is not \(Self.schemaVersion)") }
        guard let body = try EventBody(type: try r.string("type"), reading: r) else { return nil }
        guard let timeMs = Timestamp.milliseconds(rfc3339: try r.string("time")) else {
            throw WireError("`time` is not an RFC 3339 time")
        }
        self.init(seq: try r.int64("seq"), timeMs: timeMs, body: body)
    }
}

extension WireReader {
    /// The job an event names: from `source` and `folder` when it carries them, else from `job`
    /// (`<source>/<folder>`; a source name has no `/`).
    func eventJob() throws(WireError) -> EventJob {
        if has("source") && has("folder") { return EventJob(source: try string("source"), folder: try string("folder")) }
        let job = try string("job")
        guard let slash = job.firstIndex(of: "/") else { throw WireError("`job` is not <source>/<folder>") }
        return EventJob(source: String(job[..<slash]), folder: String(job[job.index(after: slash)...]))
    }
}
