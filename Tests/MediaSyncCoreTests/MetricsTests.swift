import MediaSyncCore
import Testing

/// `ServeMetrics` counts what the events say and writes it in Prometheus' text format.
@Suite("Metrics: counted from events")
struct MetricsTests {
    static let job = EventJob(source: "gpu \"1\"", folder: "out")
    static let other = EventJob(source: "forge", folder: "txt2img")

    func event(_ seq: Int64, _ body: EventBody, at ms: Int64 = 1_800_000_000_000) -> Event {
        Event(seq: seq, timeMs: ms, body: body)
    }

    func finished(_ job: EventJob, _ state: JobFinished.State, exit: Int32?, seconds: Double) -> EventBody {
        .jobFinished(cycle: 1, JobFinished(job: job, state: state, files: 0, bytes: 0, seconds: seconds, exitCode: exit,
                                           attempts: 1, error: state == .failed ? "x" : nil))
    }

    @Test func countsWhatTheEventsSay() {
        var metrics = ServeMetrics()
        let events: [EventBody] = [
            .cycleStarted(cycle: 1, jobs: [Self.job, Self.other]),
            .fileSynced(cycle: 1, FileSynced(job: Self.other, path: [0x61], libraryPath: [0x2f, 0x61], size: 1000, mtime: 1)),
            .fileSynced(cycle: 1, FileSynced(job: Self.other, path: [0x62], libraryPath: [0x2f, 0x62], size: 24, mtime: 1)),
            .filePurged(cycle: 1, job: Self.other, path: [0x61], size: 1000, ageS: 90_000, dryRun: false),
            .filePurged(cycle: 1, job: Self.other, path: [0x62], size: 24, ageS: 90_000, dryRun: true),
            .fileKept(cycle: 1, job: Self.other, path: [0x63], reason: "library_differs"),
            .fileKept(cycle: 1, job: Self.other, path: [0x64], reason: "library_differs"),
            finished(Self.other, .done, exit: 0, seconds: 3.5),
            finished(Self.job, .failed, exit: 255, seconds: 40),
            .cycleFinished(cycle: 1, CycleFinished(jobsDone: 1, jobsFailed: 1, files: 2, bytes: 1024, seconds: 41.25)),
            .cycleStarted(cycle: 2, jobs: [Self.job]),
            finished(Self.job, .failed, exit: nil, seconds: 0.5),
            .cycleFinished(cycle: 2, CycleFinished(jobsDone: 0, jobsFailed: 1, files: 0, bytes: 0, seconds: 0.6)),
        ]
        for (index, body) in events.enumerated() { metrics.observe(event(Int64(index + 1), body)) }
        let text = metrics.render(sources: ["forge", "gpu \"1\"", "idle"],
                                  gauges: .init(ingestWaiting: 7, ingestInFlight: 3, attachedClients: 2, cycleRunning: false))
        let lines = Set(text.split(separator: "\n").map(String.init))
        for expected in [
            #"mediasync_synced_files_total{source="forge",folder="txt2img"} 2"#,
            #"mediasync_synced_bytes_total{source="forge",folder="txt2img"} 1024"#,
            #"mediasync_purged_files_total{source="forge",folder="txt2img"} 1"#,
            #"mediasync_purged_bytes_total{source="forge",folder="txt2img"} 1000"#,
            #"mediasync_kept_files_total{source="forge",folder="txt2img",reason="library_differs"} 2"#,
            #"mediasync_job_failures_total{source="gpu \"1\"",folder="out",reason="exit_255"} 1"#,
            #"mediasync_job_failures_total{source="gpu \"1\"",folder="out",reason="before_transfer"} 1"#,
            #"mediasync_cycles_total{result="failure"} 2"#,
            #"mediasync_cycles_total{result="success"} 0"#,
            #"mediasync_cycle_duration_seconds_bucket{le="1"} 1"#,
            #"mediasync_cycle_duration_seconds_bucket{le="30"} 1"#,
            #"mediasync_cycle_duration_seconds_bucket{le="60"} 2"#,
            #"mediasync_cycle_duration_seconds_bucket{le="+Inf"} 2"#,
            "mediasync_cycle_duration_seconds_sum 41.850",
            "mediasync_cycle_duration_seconds_count 2",
            #"mediasync_job_duration_seconds_bucket{le="5"} 2"#,
            "mediasync_job_duration_seconds_count 3",
            // forge succeeded in cycle 1; gpu never did; idle never ran.
            #"mediasync_last_success_timestamp_seconds{source="forge"} 1800000000"#,
            #"mediasync_last_success_timestamp_seconds{source="gpu \"1\""} 0"#,
            #"mediasync_last_success_timestamp_seconds{source="idle"} 0"#,
            "mediasync_ingest_events_waiting 7",
            "mediasync_ingest_events_in_flight 3",
            "mediasync_attached_clients 2",
            "mediasync_cycle_running 0",
            "# TYPE mediasync_cycle_duration_seconds histogram",
            "# TYPE mediasync_synced_files_total counter",
        ] {
            #expect(lines.contains(expected), "missing \(expected) in:\n\(text)")
        }
        // Without an ingest its gauges are left out rather than shown as 0.
        let noIngest = metrics.render(sources: [], gauges: .init())
        #expect(!noIngest.contains("mediasync_ingest_events"))
    }

    /// The socket's requests for these: `metrics`, and `trigger` with `purge`.
    @Test func theRequestsParse() throws {
        #expect(try ControlRequest.parse(Array(#"{"cmd":"metrics"}"#.utf8)).get() == .metrics)
        #expect(try ControlRequest.parse(Array(#"{"cmd":"trigger","purge":true,"sources":["a"],"wait":true}"#.utf8)).get()
                == .triggerPurge(sources: ["a"], wait: true))
        #expect(try ControlRequest.parse(Array(#"{"cmd":"trigger","purge":false}"#.utf8)).get() == .trigger(sources: nil, wait: false))
        guard case let .failure(error) = ControlRequest.parse(Array(#"{"cmd":"trigger","purge":"yes"}"#.utf8)) else {
            Issue.record("a purge that is not a boolean was taken")
            return
        }
        #expect(error.description == #""purge" has the wrong type: true or false"#)
    }
}
