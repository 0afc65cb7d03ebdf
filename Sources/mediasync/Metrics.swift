import ArgumentParser
import Foundation
import MediaSyncCore
import MediaSyncEngine

/// `mediasync metrics`: the running supervisor's metrics in Prometheus' text format, on stdout.
struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the supervisor's metrics in Prometheus' text format.",
        discussion: """
            Counters since the supervisor started (files and bytes synced and purged, files kept by reason, job \
            failures, cycles), cycle and job durations, and the ingest's queue (docs/operations.md, "Metrics"). \
            Exit 0 when a supervisor answered, 3 when none runs.
            """)

    @OptionGroup var socket: SocketOptions

    func run() throws {
        let reply = try ControlCommand.request(try socket.connect(timeoutSeconds: 10), #"{"cmd":"metrics"}"#)
        guard let text = reply["text"] as? String else {
            ControlCommand.fail("mediasync: the supervisor sent no metrics (is it an older version?)")
            throw ExitCode(1)
        }
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
