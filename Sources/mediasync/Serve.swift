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
        // First, before any thread or child exists: the variables are removed so that rsync, ssh and the
        // ingest program do not inherit them and report to systemd for us.
        let systemd = SystemdNotifier.takeFromEnvironment()
        let config = try options.loadOrExit()
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
        // JSON lines on stderr (journald under the unit) and the kept log in <state_dir>/logs.sqlite.
        // The state dir is fixed for the run (a reload cannot move it), so one store serves the whole run.
        let logging = MediaSyncLogging.bootstrap(stateDirectory: config.stateDirectory, stderr: true)
        defer { logging.close() }
        supervisor.routeLogs(to: logging.logger)
        supervisor.systemd = systemd.notifier
        supervisor.watchdogPeriod = systemd.watchdogPeriod
        do {
            let status = try supervisor.run()
            if status != 0 { throw ExitCode(status) }
        } catch let failure as SyncRunner.Failure {
            logging.logger.critical("mediasync serve cannot start: \(failure)")
            throw ExitCode(1)
        }
    }
}
