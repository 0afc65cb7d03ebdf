import Foundation
import Logging
import Synchronization

/// Sets up logging for a whole `mediasync` process: JSON lines on stderr and/or the kept log in the state dir.
///
/// ```swift
/// // `mediasync serve`, once, before the loop starts:
/// let logging = MediaSyncLogging.bootstrap(stateDirectory: config.stateDirectory, stderr: true)
/// let bridge = EventLogBridge(logger: logging.logger)
/// ... emit: { event in bus.publish(event); bridge.handle(event) }
/// logging.close()   // at exit: writes what is buffered
/// ```
public final class MediaSyncLogging: Sendable {
    /// The logger the engine's events go through (label `mediasync`).
    public let logger: Logger
    /// The kept log's writer, nil when the store could not be opened (the reason went to stderr).
    public let sink: LogSink?

    init(logger: Logger, sink: LogSink?) {
        self.logger = logger
        self.sink = sink
    }

    private static let installed = Mutex<MediaSyncLogging?>(nil)

    /// Installs the process-wide swift-log handler the first time it is called and returns the setup; later
    /// calls return the first setup unchanged (swift-log allows one bootstrap per process).
    ///
    /// - Parameters:
    ///   - stateDirectory: where `logs.sqlite` lives; nil keeps no log (stderr only).
    ///   - stderr: write JSON lines to stderr; `serve` under systemd wants them, `sync` in a terminal does not.
    ///   - level: the least severe level written anywhere.
    public static func bootstrap(stateDirectory: String?, stderr: Bool, level: Logger.Level = .info,
                                 maxRows: Int = LogStore.defaultMaxRows) -> MediaSyncLogging {
        installed.withLock { current in
            if let current { return current }
            let output: LogLineOutput? = stderr ? .standardError : nil
            let sink = stateDirectory.flatMap { openSink(stateDirectory: $0, maxRows: maxRows) }
            LoggingSystem.bootstrap { _ in JSONLogHandler(output: output, sink: sink, level: level) }
            let setup = MediaSyncLogging(logger: Logger(label: "mediasync"), sink: sink)
            current = setup
            return setup
        }
    }

    /// A setup that is not installed process-wide: for tests, and for code that wants its own logger.
    public static func standalone(stateDirectory: String?, output: LogLineOutput?, level: Logger.Level = .info,
                                  maxRows: Int = LogStore.defaultMaxRows) -> MediaSyncLogging {
        let sink = stateDirectory.flatMap { openSink(stateDirectory: $0, maxRows: maxRows) }
        let logger = Logger(label: "mediasync") { _ in JSONLogHandler(output: output, sink: sink, level: level) }
        return MediaSyncLogging(logger: logger, sink: sink)
    }

    /// Writes what is buffered to `logs.sqlite` and blocks until it is there.
    public func flush() { sink?.flush() }

    /// Flushes and stops the writer thread; call once at exit.
    public func close() { sink?.close() }

    private static func openSink(stateDirectory: String, maxRows: Int) -> LogSink? {
        do {
            let store = try LogStore(stateDirectory: stateDirectory, maxRows: maxRows)
            return LogSink(store: store) { error in
                LogLineOutput.standardError.write(Array("mediasync: cannot write the kept log (\(error)); entries still go to the journal\n".utf8))
            }
        } catch {
            LogLineOutput.standardError.write(Array("mediasync: \(error); `mediasync logs` will not show this run\n".utf8))
            return nil
        }
    }
}
