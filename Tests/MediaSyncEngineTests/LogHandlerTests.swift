import Foundation
import Logging
import MediaSyncCore
import MediaSyncEngine
import Testing

@Suite struct LogHandlerTests {
    @Test func writesOneValidJSONLinePerEntryWithTimeLevelMessageAndWhatItConcerns() throws {
        let pipe = try LogTestPipe()
        var logger = Logger(label: "test") { _ in
            JSONLogHandler(output: LogLineOutput(fd: pipe.writeFD), sink: nil, level: .info,
                           now: { 1_795_170_000_123 })
        }
        logger[metadataKey: "cycle"] = "12"
        logger.error("rsync exited 12: \"connection\nreset\"", metadata: ["job": "gpu1/outputs/txt2img", "exit_code": "12"])
        logger.info("cycle 12 started", metadata: ["source": "forge"])
        logger.debug("below the level: never written")

        let lines = pipe.lines()
        try #require(lines.count == 2, "\(lines)")
        let first = try #require(jsonObject(lines[0]), "not JSON: \(lines[0])")
        #expect(first["time"] as? String == "2026-11-20T10:20:00.123Z")
        #expect(first["level"] as? String == "error")
        #expect(first["message"] as? String == "rsync exited 12: \"connection\nreset\"")
        #expect(first["cycle"] as? Int == 12)
        #expect(first["source"] as? String == "gpu1")
        #expect(first["folder"] as? String == "outputs/txt2img")
        #expect(first["job"] as? String == "gpu1/outputs/txt2img")
        #expect(first["exit_code"] as? String == "12")
        // journald and jq want the well-known keys first, in a fixed order.
        #expect(lines[0].hasPrefix("{\"time\":\"2026-11-20T10:20:00.123Z\",\"level\":\"error\",\"message\":"))
        let second = try #require(jsonObject(lines[1]))
        #expect(second["source"] as? String == "forge")
        #expect(second["folder"] == nil)
        #expect(second["cycle"] as? Int == 12, "logger metadata applies to every entry")
    }

    @Test func errorPassedToSwiftLogBecomesTheErrorField() throws {
        struct Refused: Error, CustomStringConvertible { var description: String { "connection refused" } }
        let pipe = try LogTestPipe()
        let handler = JSONLogHandler(output: LogLineOutput(fd: pipe.writeFD), sink: nil)
        handler.log(event: LogEvent(level: .warning, message: "listing failed", error: Refused(), metadata: nil,
                                    source: nil, file: #fileID, function: #function, line: #line))
        let object = try #require(pipe.lines().first.flatMap(jsonObject))
        #expect(object["error"] as? String == "connection refused")
        #expect(object["level"] as? String == "warning")
    }

    @Test func entriesAlsoReachTheStoreThroughTheSink() throws {
        let dir = try LogTestDir()
        defer { dir.remove() }
        let logging = MediaSyncLogging.standalone(stateDirectory: dir.path, output: nil)
        for i in 0..<250 {
            logging.logger.warning("disk slow \(i)", metadata: ["job": "gpu1/outputs", "cycle": "3"])
        }
        logging.close()
        let store = try LogStore(stateDirectory: dir.path)
        let entries = try store.entries(LogQuery())
        #expect(entries.count == 250)
        #expect(entries.first?.message == "disk slow 0")
        #expect(entries.last?.message == "disk slow 249")
        #expect(entries.allSatisfy { $0.source == "gpu1" && $0.folder == "outputs" && $0.cycle == 3 && $0.level == .warning })
    }

    @Test func levelNamesAsPeopleTypeThem() {
        #expect(Logger.Level(userText: "WARN") == .warning)
        #expect(Logger.Level(userText: "error") == .error)
        #expect(Logger.Level(userText: "crit") == .critical)
        #expect(Logger.Level(userText: "loud") == nil)
        #expect(Logger.Level.trace.severity < Logger.Level.info.severity)
        #expect(Logger.Level.error.severity < Logger.Level.critical.severity)
    }
}
