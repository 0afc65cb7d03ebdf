import ArgumentParser
import Foundation
import MediaSyncCore
import MediaSyncEngine

/// `mediasync serve`: the supervisor in the foreground (what the systemd unit runs).
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the supervisor in the foreground: a cycle at start, then every `interval`.",
        discussion: """
            Serves the control socket (`socket:` in the config) for attach, status, trigger, pause, resume \
            and reload (docs/protocol.md). SIGHUP rereads the config; SIGTERM or SIGINT stop the running \
            cycle's children and exit 0. Exit 2 for config errors, 1 when it cannot start (e.g. another \
            supervisor already serves the socket).
            """)

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let config: Config
        do {
            config = try options.load().config
        } catch let failure as ConfigFailure {
            throw failure.report()
        }
        let options = self.options
        let supervisor = Supervisor(config: config) {
            do {
                return .success(try options.load().config)
            } catch let failure as ConfigFailure {
                return .failure(Supervisor.ConfigLoadFailure(errors: failure.message.split(separator: "\n").map(String.init)))
            } catch {
                return .failure(Supervisor.ConfigLoadFailure(errors: ["\(error)"]))
            }
        }
        // Logging hook: the logging module replaces `supervisor.log`, `onReady` and `onStopping` here.
        do {
            let status = try supervisor.run()
            if status != 0 { throw ExitCode(status) }
        } catch let failure as SyncRunner.Failure {
            FileHandle.standardError.write(Data("mediasync serve: \(failure)\n".utf8))
            throw ExitCode(1)
        }
    }
}
