import MediaSyncCore

/// One event of every type, with the awkward values each type can carry (a name that is not UTF-8, a
/// reused name, nulls, control characters, dry runs), for the wire tests: the exact bytes and the round trip.
enum EventSamples {
    static let forge = EventJob(source: "forge", folder: "txt2img-images")
    static let box = EventJob(source: "box", folder: "output")
    /// `caf\xe9.png`: Latin-1, not UTF-8.
    static let latin1: [UInt8] = Array("2026-11-24/caf".utf8) + [0xE9] + Array(".png".utf8)

    static let progress = ProgressSnapshot(
        overall: .init(percent: 45.2, filesDone: 54, filesTotal: 120, bytesDone: 71_303_168, bytesTotal: 157_496_115,
                       rateBps: 12_897_485, etaS: 7),
        jobs: [
            .init(job: "forge/txt2img-images", state: .transferring, attempt: 1, percent: 45.2, filesDone: 54,
                  filesTotal: 120, bytesDone: 71_303_168, bytesTotal: 157_496_115, rateBps: 12_897_485, etaS: 7,
                  current: "2026-11-24/00054-3912387.png"),
            .init(job: "box/output", state: .queued, attempt: 0, percent: 0, filesDone: 0, filesTotal: 0, bytesDone: 0,
                  bytesTotal: 0, rateBps: 0, etaS: nil, current: nil),
            .init(job: "box/other", state: .waitingToRetry, attempt: 2, percent: 99.9, filesDone: 1, filesTotal: 2,
                  bytesDone: 10, bytesTotal: 11, rateBps: 0, etaS: 0, current: "tab\there \"quoted\" \u{1b}[0m"),
        ])

    /// (what the sample shows, the body).
    static let bodies: [(String, EventBody)] = [
        ("cycle_started", .cycleStarted(cycle: 3, jobs: [forge, box])),
        ("cycle_started with no jobs", .cycleStarted(cycle: 4, jobs: [])),
        ("job_started", .jobStarted(cycle: 3, job: forge)),
        ("progress", .progress(cycle: 3, progress)),
        ("progress of no jobs", .progress(cycle: 5, ProgressSnapshot(
            overall: .init(percent: 100, filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0, rateBps: 0, etaS: nil),
            jobs: []))),
        ("file_synced", .fileSynced(cycle: 3, FileSynced(
            job: forge, path: Array("2026-11-24/00054-3912387.png".utf8),
            libraryPath: Array("/srv/media/forge/txt2img-images/2026-11-24/00054-3912387.png".utf8),
            size: 1_312_554, mtime: 1_795_690_000))),
        ("file_synced renamed", .fileSynced(cycle: 3, FileSynced(
            job: forge, path: Array("00012-3912345.png".utf8),
            libraryPath: Array("/srv/media/forge/txt2img-images/00012-3912345~2.png".utf8),
            size: 1_204_113, mtime: 1_795_690_100,
            renamedFrom: Array("/srv/media/forge/txt2img-images/00012-3912345.png".utf8)))),
        ("file_synced not UTF-8", .fileSynced(cycle: 3, FileSynced(
            job: forge, path: latin1, libraryPath: Array("/srv/media/forge/txt2img-images/".utf8) + latin1,
            size: 990_001, mtime: -1, renamedFrom: Array("/srv/media/".utf8) + latin1))),
        ("file_deferred", .fileDeferred(cycle: 3, job: forge, path: Array("2026-11-24/00055-3912388.png".utf8),
                                        reason: "settling")),
        ("file_deferred not UTF-8", .fileDeferred(cycle: 3, job: forge, path: latin1, reason: "name_not_allowed")),
        ("job_finished done", .jobFinished(cycle: 3, JobFinished(
            job: forge, state: .done, files: 120, bytes: 157_496_115, seconds: 12.3, exitCode: 0, attempts: 1, streams: 4))),
        ("job_finished failed", .jobFinished(cycle: 3, JobFinished(
            job: box, state: .failed, files: 0, bytes: 0, seconds: 31.025, exitCode: 255, attempts: 3,
            error: "box/output: ssh: connect to host 203.0.113.7 port 41022: Connection refused"))),
        ("job_finished never ran, with a note", .jobFinished(cycle: 3, JobFinished(
            job: box, state: .done, files: 0, bytes: 0, seconds: 0, exitCode: nil, attempts: 0, streams: 0, note: "not created yet"))),
        ("cycle_finished", .cycleFinished(cycle: 3, CycleFinished(jobsDone: 1, jobsFailed: 1, files: 120,
                                                                    bytes: 157_496_115, seconds: 43.4))),
        ("log", .log(level: "warning", message: "box/output: attempt 2 of 3 failed (exit 255), retrying in 10s",
                     cycle: 3, job: "box/output")),
        ("log without cycle and job", .log(level: "error", message: "line one\nline two \u{7f}", cycle: nil, job: nil)),
        ("purge_started", .purgeStarted(cycle: 3, job: forge, dryRun: false)),
        ("purge_started dry run", .purgeStarted(cycle: 0, job: forge, dryRun: true)),
        ("file_purged", .filePurged(cycle: 3, job: forge, path: Array("2026-11-24/00012-3912345.png".utf8),
                                    size: 1_204_113, ageS: 172_800, dryRun: false)),
        ("file_purged dry run, not UTF-8", .filePurged(cycle: 0, job: forge, path: latin1, size: 1, ageS: 0, dryRun: true)),
        ("file_kept", .fileKept(cycle: 3, job: forge, path: Array("2026-11-26/00060-3912393.png".utf8), reason: "too_young")),
        ("purge_finished", .purgeFinished(cycle: 3, job: forge, deleted: 1, kept: 1, bytesFreed: 1_204_113, dryRun: false)),
    ]

    static func events() -> [Event] {
        bodies.enumerated().map { index, sample in
            Event(seq: Int64(index + 1), timeMs: 1_795_693_596_123 + Int64(index) * 101, body: sample.1)
        }
    }
}
