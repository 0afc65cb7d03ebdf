import ArgumentParser
import Foundation
import MediaSyncCore
import MediaSyncEngine

/// Where the supervisor's socket is, for the client commands: `--socket PATH`, else the config's `socket`.
struct SocketOptions: ParsableArguments {
    @OptionGroup var configOptions: ConfigOptions

    @Option(name: .long, help: ArgumentHelp("The supervisor's control socket (default: `socket:` from the config).",
                                            valueName: "path"))
    var socket: String?

    /// The socket path, or exit 2 with the config's problems.
    func path() throws -> String {
        if let socket { return socket }
        do {
            return try configOptions.load().config.socket
        } catch let failure as ConfigFailure {
            throw failure.report()
        }
    }

    /// Connects, or says how to start a supervisor and exits 3.
    func connect(timeoutSeconds: Int = 0) throws -> BlockingControlClient {
        let path = try path()
        do {
            return try BlockingControlClient(path: path, timeoutSeconds: timeoutSeconds)
        } catch let failure as BlockingControlClient.Failure {
            ControlCommand.fail("mediasync: \(failure)")
            if case .noSupervisor = failure { throw ExitCode(3) }
            throw ExitCode(1)
        }
    }
}

/// Shared by the one-shot control commands.
enum ControlCommand {
    static func fail(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    /// Sends one request and returns its reply; a refused request prints the error and exits 1.
    static func request(_ client: BlockingControlClient, _ line: String) throws -> [String: Any] {
        let reply: [String: Any]
        do {
            reply = try client.request(line)
        } catch {
            fail("mediasync: \(error)")
            throw ExitCode(1)
        }
        if reply["ok"] as? Bool != true {
            var message = "mediasync: " + (reply["error"] as? String ?? "the supervisor refused the request")
            if let errors = reply["errors"] as? [String] { message += "\n" + errors.joined(separator: "\n") }
            fail(message)
            throw ExitCode(1)
        }
        return reply
    }

    /// A JSON string literal for a request line.
    static func quoted(_ text: String) -> String {
        var bytes: [UInt8] = []
        JSONWriter.appendString(text.utf8, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}
