import Foundation
import Logging
import MediaSyncCore
import MediaSyncEngine
import Testing

@Suite struct LogBridgeTests {
    @Test func engineEventsBecomeLogEntriesWithCycleSourceAndFolder() throws {
        let dir = try LogTestDir()
        defer { dir.remove() }
        let pipe = try LogTestPipe()
        let logging = MediaSyncLogging.standalone(stateDirectory: dir.path, output: LogLineOutput(fd: pipe.writeFD))
        let bridge = EventLogBridge(logger: logging.logger)
        let gpu = EventJob(source: "gpu1", folder: "outputs/txt2img")
        let forge = EventJob(source: "forge", folder: "extras-images")
        let bodies: [EventBody] = [
            .cycleStarted(cycle: 7, jobs: [gpu, forge]),
            .jobStarted(cycle: 7, job: gpu),
            .log(level: "warning", message: "gpu1/outputs/txt2img: rsync exited 12; retrying in 10s", cycle: 7,
                 job: "gpu1/outputs/txt2img"),
            .fileSynced(cycle: 7, FileSynced(job: forge, path: Array("a.png".utf8), libraryPath: Array("/srv/a.png".utf8),
                                             size: 10, mtime: 1)),
            .jobFinished(cycle: 7, JobFinished(job: forge, state: .done, files: 3, bytes: 3_000_000, seconds: 1.5,
                                               exitCode: 0, attempts: 1)),
            .jobFinished(cycle: 7, JobFinished(job: gpu, state: .failed, files: 0, bytes: 0, seconds: 30, exitCode: 255,
                                               attempts: 3, error: "ssh: connect to host 10.0.0.5 port 41022: Connection refused")),
            .cycleFinished(cycle: 7, CycleFinished(jobsDone: 1, jobsFailed: 1, files: 3, bytes: 3_000_000, seconds: 31)),
        ]
        for (i, body) in bodies.enumerated() { bridge.handle(Event(seq: Int64(i + 1), timeMs: 0, body: body)) }
        logging.close()

        let entries = try LogStore(stateDirectory: dir.path).entries(LogQuery())
        try #require(entries.count == 5, "job_started and file_synced are not logged: \(entries.map(\.message))")
        #expect(entries.allSatisfy { $0.cycle == 7 })
        #expect(entries[0].message == "cycle 7 started: 2 jobs (gpu1/outputs/txt2img, forge/extras-images)")
        #expect(entries[1].level == .warning && entries[1].source == "gpu1" && entries[1].folder == "outputs/txt2img")
        #expect(entries[2].level == .info && entries[2].source == "forge")
        #expect(entries[2].message.hasPrefix("forge/extras-images: done, 3 files"))
        let failed = entries[3]
        #expect(failed.level == .error)
        #expect(failed.source == "gpu1" && failed.folder == "outputs/txt2img")
        #expect(failed.fields["error"] == "ssh: connect to host 10.0.0.5 port 41022: Connection refused")
        #expect(failed.fields["exit_code"] == "255")
        #expect(failed.message.contains("failed after 3 attempts"))
        #expect(entries[4].level == .warning, "a cycle with a failed job is a warning")
        #expect(entries[4].fields["jobs_failed"] == "1")

        // The same entries went to stderr as JSON lines, in the same order.
        let lines = pipe.lines().compactMap(jsonObject)
        try #require(lines.count == 5, "\(pipe.lines())")
        #expect(lines[3]["level"] as? String == "error")
        #expect(lines[3]["error"] as? String == "ssh: connect to host 10.0.0.5 port 41022: Connection refused")
        #expect(lines[3]["job"] as? String == "gpu1/outputs/txt2img")
    }
}
