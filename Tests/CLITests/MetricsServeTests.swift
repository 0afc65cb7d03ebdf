import Foundation
import Testing

/// `mediasync metrics` and `metrics_file:` from a real `serve`: what a Prometheus server or node_exporter's textfile
/// collector reads, checked by Prometheus' own `promtool check metrics`.
@Suite("serve: metrics")
struct MetricsServeTests {
    static let promtool = "/usr/bin/promtool"

    /// promtool's verdict on a text: its exit status and what it printed (problems, lint findings).
    func promtoolCheck(_ text: String, in folder: String) throws -> ProgramRun.Output {
        let file = folder + "/metrics-\(UUID().uuidString.prefix(6)).prom"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return try ProgramRun.run(["/bin/sh", "-c", "\"$0\" check metrics < \"$1\"", Self.promtool, file])
    }

    @Test func metricsCountTheCyclesAndPassPromtool() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.promtool),
                     "promtool is missing: install Debian's `prometheus` package (bin/_setup.sh lists it)")
        let serve = try ServeHarness(folders: ["a"], extraConfig: """
            metrics_file: /tmp/\(UUID().uuidString.prefix(6))-never/x.prom
            purge: {enabled: true, min_age: 30m}
            """)
        defer { serve.stop() }
        // The file goes next to the config; first a folder that does not exist, to see the warning.
        let metricsFile = serve.root + "/textfile/mediasync.prom"
        try serve.makeFiles("a", count: 4, size: 1500)
        try serve.start()

        // Cycle 1 syncs and purges the four files.
        let deadline = Date().addingTimeInterval(30)
        var text = ""
        while Date() < deadline {
            let run = try serve.cli(["metrics", "--config", serve.configPath])
            #expect(run.status == 0, "\(run.stderr)")
            text = run.stdout
            if text.contains(#"mediasync_cycles_total{result="success"} 1"#) { break }
            usleep(100_000)
        }
        for expected in [
            #"mediasync_synced_files_total{source="src",folder="a"} 4"#,
            #"mediasync_synced_bytes_total{source="src",folder="a"} 6000"#,
            #"mediasync_purged_files_total{source="src",folder="a"} 4"#,
            #"mediasync_purged_bytes_total{source="src",folder="a"} 6000"#,
            #"mediasync_cycles_total{result="success"} 1"#,
            "mediasync_cycle_duration_seconds_count 1",
            "mediasync_job_duration_seconds_count 1",
            "mediasync_attached_clients 0",
        ] {
            #expect(text.contains(expected + "\n"), "missing \(expected):\n\(text)\n\(serve.log.suffix(2000))")
        }
        #expect(text.contains(#"mediasync_last_success_timestamp_seconds{source="src"} 1"#), "\(text)")
        let check = try promtoolCheck(text, in: serve.root)
        #expect(check.status == 0 && check.output.isEmpty, "promtool check metrics:\n\(check.output)\n\(text)")
        #expect(serve.log.contains("cannot write metrics_file"), "no warning for a metrics_file in a missing folder")

        // metrics_file: point it at a folder that exists and reload; the next cycle writes it whole.
        try FileManager.default.createDirectory(atPath: serve.root + "/textfile", withIntermediateDirectories: true)
        try serve.writeConfig(folders: ["a"], interval: "1h", extraConfig: """
            metrics_file: \(metricsFile)
            purge: {enabled: true, min_age: 30m}
            """)
        let reloaded = try serve.cli(["reload", "--config", serve.configPath])
        #expect(reloaded.status == 0, "\(reloaded.stderr)")
        try serve.makeFiles("a", count: 2, size: 100, prefix: "second")
        let cycle = try serve.cli(["trigger", "--wait", "--config", serve.configPath])
        #expect(cycle.status == 0, "\(cycle.stderr)")
        let written = try String(contentsOfFile: metricsFile, encoding: .utf8)
        #expect(written.contains(#"mediasync_synced_files_total{source="src",folder="a"} 6"#), "\(written)")
        #expect(written.contains(#"mediasync_cycles_total{result="success"} 2"#), "\(written)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: serve.root + "/textfile")
        #expect(leftovers == ["mediasync.prom"], "temporary files left: \(leftovers)")
        let fileCheck = try promtoolCheck(written, in: serve.root)
        #expect(fileCheck.status == 0 && fileCheck.output.isEmpty, "\(fileCheck.output)")

        serve.signal(SIGTERM)
        #expect(serve.exitStatus(timeout: 15) == 0)
        let none = try serve.cli(["metrics", "--config", serve.configPath])
        #expect(none.status == 3, "metrics without a supervisor: \(none.status) \(none.stderr)")
    }

    /// The alert rules docs/operations.md shows: valid, and each fires on its series and not before
    /// (contrib/prometheus/mediasync-alerts.test.yml, run by `promtool test rules`).
    @Test func theAlertRulesAreValidAndFire() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.promtool), "promtool is missing (Debian `prometheus`)")
        let folder = CLIRunner.packageRoot.appendingPathComponent("contrib/prometheus").path
        let check = try ProgramRun.run([Self.promtool, "check", "rules", folder + "/mediasync-alerts.yml"])
        #expect(check.status == 0 && check.output.contains("SUCCESS: 3 rules found"), "\(check.output)")
        let test = try ProgramRun.run(["/usr/bin/env", "-C", folder, Self.promtool, "test", "rules", "mediasync-alerts.test.yml"])
        #expect(test.status == 0 && test.output.contains("SUCCESS"), "\(test.output)")
    }
}
