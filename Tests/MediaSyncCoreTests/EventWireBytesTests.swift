import Testing
import MediaSyncCore

/// The bytes of every event type, exactly as docs/events.md promises them and as `sync --json`, the control
/// socket and the ingest outbox send them: a change here breaks every reader of the stream.
@Suite("event wire bytes")
struct EventWireBytesTests {
    static let expected = #"""
        {"v":2,"seq":1,"time":"2026-11-26T11:46:36.123Z","type":"cycle_started","cycle":3,"jobs":[{"job":"forge/txt2img-images","source":"forge","folder":"txt2img-images"},{"job":"box/output","source":"box","folder":"output"}]}
        {"v":2,"seq":2,"time":"2026-11-26T11:46:36.224Z","type":"cycle_started","cycle":4,"jobs":[]}
        {"v":2,"seq":3,"time":"2026-11-26T11:46:36.325Z","type":"job_started","cycle":3,"job":"forge/txt2img-images","source":"forge","folder":"txt2img-images","streams":1}
        {"v":2,"seq":4,"time":"2026-11-26T11:46:36.426Z","type":"progress","cycle":3,"overall":{"percent":45.2,"files_done":54,"files_total":120,"bytes_done":71303168,"bytes_total":157496115,"rate_bps":12897485,"eta_s":7},"jobs":[{"job":"forge/txt2img-images","state":"transferring","attempt":1,"percent":45.2,"files_done":54,"files_total":120,"bytes_done":71303168,"bytes_total":157496115,"rate_bps":12897485,"eta_s":7,"current":"2026-11-24/00054-3912387.png"},{"job":"box/output","state":"queued","attempt":0,"percent":0,"files_done":0,"files_total":0,"bytes_done":0,"bytes_total":0,"rate_bps":0,"eta_s":null,"current":null},{"job":"box/other","state":"waiting_retry","attempt":2,"percent":99.9,"files_done":1,"files_total":2,"bytes_done":10,"bytes_total":11,"rate_bps":0,"eta_s":0,"current":"tab\there \"quoted\" \u001b[0m"}]}
        {"v":2,"seq":5,"time":"2026-11-26T11:46:36.527Z","type":"progress","cycle":5,"overall":{"percent":100,"files_done":0,"files_total":0,"bytes_done":0,"bytes_total":0,"rate_bps":0,"eta_s":null},"jobs":[]}
        {"v":2,"seq":6,"time":"2026-11-26T11:46:36.628Z","type":"file_synced","cycle":3,"job":"forge/txt2img-images","source":"forge","folder":"txt2img-images","path":"2026-11-24/00054-3912387.png","library_path":"/srv/media/forge/txt2img-images/2026-11-24/00054-3912387.png","size":1312554,"mtime":1795690000}
        {"v":2,"seq":7,"time":"2026-11-26T11:46:36.729Z","type":"file_synced","cycle":3,"job":"forge/txt2img-images","source":"forge","folder":"txt2img-images","path":"00012-3912345.png","library_path":"/srv/media/forge/txt2img-images/00012-3912345~2.png","size":1204113,"mtime":1795690100,"renamed_from":"/srv/media/forge/txt2img-images/00012-3912345.png"}
        {"v":2,"seq":8,"time":"2026-11-26T11:46:36.830Z","type":"file_synced","cycle":3,"job":"forge/txt2img-images","source":"forge","folder":"txt2img-images","path":"2026-11-24/caf�.png","path_b64":"MjAyNi0xMS0yNC9jYWbpLnBuZw==","library_path":"/srv/media/forge/txt2img-images/2026-11-24/caf�.png","library_path_b64":"L3Nydi9tZWRpYS9mb3JnZS90eHQyaW1nLWltYWdlcy8yMDI2LTExLTI0L2NhZukucG5n","size":990001,"mtime":-1,"renamed_from":"/srv/media/2026-11-24/caf�.png","renamed_from_b64":"L3Nydi9tZWRpYS8yMDI2LTExLTI0L2NhZukucG5n"}
        {"v":2,"seq":9,"time":"2026-11-26T11:46:36.931Z","type":"file_deferred","cycle":3,"job":"forge/txt2img-images","path":"2026-11-24/00055-3912388.png","reason":"settling"}
        {"v":2,"seq":10,"time":"2026-11-26T11:46:37.032Z","type":"file_deferred","cycle":3,"job":"forge/txt2img-images","path":"2026-11-24/caf�.png","path_b64":"MjAyNi0xMS0yNC9jYWbpLnBuZw==","reason":"name_not_allowed"}
        {"v":2,"seq":11,"time":"2026-11-26T11:46:37.133Z","type":"job_finished","cycle":3,"job":"forge/txt2img-images","state":"done","files":120,"bytes":157496115,"seconds":12.3,"exit_code":0,"attempts":1,"streams":4}
        {"v":2,"seq":12,"time":"2026-11-26T11:46:37.234Z","type":"job_finished","cycle":3,"job":"box/output","state":"failed","files":0,"bytes":0,"seconds":31.025,"exit_code":255,"attempts":3,"streams":1,"error":"box/output: ssh: connect to host 203.0.113.7 port 41022: Connection refused"}
        {"v":2,"seq":13,"time":"2026-11-26T11:46:37.335Z","type":"job_finished","cycle":3,"job":"box/output","state":"done","files":0,"bytes":0,"seconds":0,"exit_code":null,"attempts":0,"streams":0,"note":"not created yet"}
        {"v":2,"seq":14,"time":"2026-11-26T11:46:37.436Z","type":"cycle_finished","cycle":3,"jobs_done":1,"jobs_failed":1,"files":120,"bytes":157496115,"seconds":43.4}
        {"v":2,"seq":15,"time":"2026-11-26T11:46:37.537Z","type":"log","level":"warning","message":"box/output: attempt 2 of 3 failed (exit 255), retrying in 10s","cycle":3,"job":"box/output"}
        {"v":2,"seq":16,"time":"2026-11-26T11:46:37.638Z","type":"log","level":"error","message":"line one\nline two \u007f"}
        {"v":2,"seq":17,"time":"2026-11-26T11:46:37.739Z","type":"purge_started","cycle":3,"job":"forge/txt2img-images","dry_run":false}
        {"v":2,"seq":18,"time":"2026-11-26T11:46:37.840Z","type":"purge_started","cycle":0,"job":"forge/txt2img-images","dry_run":true}
        {"v":2,"seq":19,"time":"2026-11-26T11:46:37.941Z","type":"file_purged","cycle":3,"job":"forge/txt2img-images","path":"2026-11-24/00012-3912345.png","size":1204113,"age_s":172800}
        {"v":2,"seq":20,"time":"2026-11-26T11:46:38.042Z","type":"file_purged","cycle":0,"job":"forge/txt2img-images","path":"2026-11-24/caf�.png","path_b64":"MjAyNi0xMS0yNC9jYWbpLnBuZw==","size":1,"age_s":0,"dry_run":true}
        {"v":2,"seq":21,"time":"2026-11-26T11:46:38.143Z","type":"file_kept","cycle":3,"job":"forge/txt2img-images","path":"2026-11-26/00060-3912393.png","reason":"too_young"}
        {"v":2,"seq":22,"time":"2026-11-26T11:46:38.244Z","type":"purge_finished","cycle":3,"job":"forge/txt2img-images","deleted":1,"kept":1,"bytes_freed":1204113,"dry_run":false}
        """#

    @Test("every sample event is written to the byte as before")
    func everyTypeToTheByte() {
        let lines = Self.expected.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let events = EventSamples.events()
        #expect(lines.count == events.count)
        for (event, line) in zip(events, lines) {
            #expect(String(decoding: event.jsonLine(), as: UTF8.self) == line + "\n", "\(event.type) seq \(event.seq)")
        }
    }
}
