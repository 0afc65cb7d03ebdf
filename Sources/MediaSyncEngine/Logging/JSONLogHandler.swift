import Foundation
import Logging

/// A swift-log handler that writes each entry as one JSON line (to stderr, for journald) and hands it to
/// a `LogSink` for `logs.sqlite`; either may be absent.
///
/// ```swift
/// var logger = Logger(label: "mediasync") { _ in JSONLogHandler(output: .standardError, sink: sink) }
/// logger[metadataKey: "cycle"] = "12"
/// logger.error("rsync exited 12", metadata: ["job": "gpu1/outputs", "exit_code": "12"])
/// // {"time":"...","level":"error","message":"rsync exited 12","cycle":12,"source":"gpu1","folder":"outputs",...}
/// ```
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    public let output: LogLineOutput?
    public let sink: LogSink?
    /// Milliseconds since the epoch; a parameter so tests can pin it.
    let now: @Sendable () -> Int64

    public init(output: LogLineOutput?, sink: LogSink?, level: Logger.Level = .info,
                metadataProvider: Logger.MetadataProvider? = nil,
                now: @escaping @Sendable () -> Int64 = { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }) {
        self.output = output
        self.sink = sink
        self.logLevel = level
        self.metadataProvider = metadataProvider
        self.now = now
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let own = event.metadata { merged.merge(own) { $1 } }
        if let error = event.error, merged["error"] == nil { merged["error"] = "\(error)" }
        let entry = LogEntry(timeMs: now(), level: event.level, message: event.message.description, metadata: merged)
        output?.write(entry.jsonLine())
        sink?.append(entry)
    }
}

/// A file descriptor that takes whole log lines: each line goes out in one `write` when it can, so lines
/// from several threads never interleave mid-line in the journal.
public struct LogLineOutput: Sendable {
    public let fd: Int32

    public init(fd: Int32) { self.fd = fd }

    public static let standardError = LogLineOutput(fd: 2)

    /// Writes all of `bytes`; a closed or broken stderr drops the line rather than stopping the daemon.
    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            var waits = 0
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 { offset += n; continue }
                if n < 0 && errno == EINTR { continue }
                // A non-blocking stderr that is full (a slow reader): wait a little, then give up on the line.
                if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && waits < 10 {
                    waits += 1
                    var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&pfd, 1, 10)
                    continue
                }
                return
            }
        }
    }
}
