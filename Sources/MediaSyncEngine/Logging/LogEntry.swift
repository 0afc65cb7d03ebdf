import Logging
import MediaSyncCore

/// One log line as journald sees it and `logs.sqlite` keeps it: time, level, message and what it concerns.
///
/// ```swift
/// let entry = LogEntry(timeMs: 1_764_157_177_123, level: .error, message: "ssh: connection refused",
///                      cycle: 12, source: "gpu1", folder: "outputs")
/// entry.jsonLine()  // {"time":"2026-11-26T11:39:37.123Z","level":"error","message":"ssh: ...","cycle":12,...}\n
/// ```
public struct LogEntry: Sendable, Equatable {
    /// Milliseconds since the Unix epoch, wall clock.
    public var timeMs: Int64
    public var level: Logger.Level
    public var message: String
    public var cycle: Int64?
    public var source: String?
    /// The folder inside the source; with `source` it names the job.
    public var folder: String?
    /// Every other metadata value (`error`, `exit_code`, `files`...), as text, sorted by key when written.
    public var fields: [String: String]

    public init(timeMs: Int64, level: Logger.Level, message: String, cycle: Int64? = nil, source: String? = nil,
                folder: String? = nil, fields: [String: String] = [:]) {
        self.timeMs = timeMs
        self.level = level
        self.message = message
        self.cycle = cycle
        self.source = source
        self.folder = folder
        self.fields = fields
    }

    /// The metadata keys that become columns; the rest go into `fields`.
    public enum Key {
        public static let cycle = "cycle"
        public static let source = "source"
        public static let folder = "folder"
        /// `"<source>/<folder>"`, as events name a job; split into source and folder.
        public static let job = "job"
    }

    /// Builds an entry from a swift-log call: `cycle`, `source`, `folder` (or `job`) metadata become columns.
    public init(timeMs: Int64, level: Logger.Level, message: String, metadata: Logger.Metadata) {
        self.init(timeMs: timeMs, level: level, message: message)
        for (key, value) in metadata {
            let text = Self.text(value)
            switch key {
            case Key.cycle: cycle = Int64(text)
            case Key.source: source = text
            case Key.folder: folder = text
            case Key.job:
                let (jobSource, jobFolder) = Self.splitJob(text)
                if source == nil { source = jobSource }
                if folder == nil { folder = jobFolder }
            default: fields[key] = text
            }
            // A cycle that is not a number is still worth seeing, under its own name.
            if key == Key.cycle, cycle == nil { fields[key] = text }
        }
    }

    /// `"gpu1/outputs/txt2img"` -> ("gpu1", "outputs/txt2img"): source names have no slash, folders may.
    public static func splitJob(_ job: String) -> (source: String, folder: String?) {
        guard let slash = job.firstIndex(of: "/") else { return (job, nil) }
        return (String(job[..<slash]), String(job[job.index(after: slash)...]))
    }

    static func text(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case let .string(s): s
        case let .stringConvertible(c): c.description
        default: value.description
        }
    }

    /// The job's name as events write it, when the entry names a source.
    public var job: String? {
        guard let source else { return nil }
        return folder.map { "\(source)/\($0)" } ?? source
    }

    /// One JSON object and a newline: `time`, `level`, `message`, then `cycle`, `source`, `folder`, `job`
    /// when known, then the other fields sorted by key.
    public func jsonLine() -> [UInt8] {
        var w = JSONWriter()
        w.object { o in
            o.field("time", Timestamp.rfc3339(milliseconds: timeMs))
            o.field("level", level.rawValue)
            o.field("message", message)
            if let cycle { o.field("cycle", cycle) }
            if let source { o.field("source", source) }
            if let folder { o.field("folder", folder) }
            if let job { o.field("job", job) }
            for key in fields.keys.sorted() where !Self.reserved.contains(key) {
                o.field(key, fields[key]!)
            }
        }
        var bytes = w.bytes
        bytes.append(0x0A)
        return bytes
    }

    private static let reserved: Set<String> = ["time", "level", "message", "cycle", "source", "folder", "job"]
}

extension Logger.Level {
    /// Reads a level as a person types it: `error`, `WARNING`, `warn`, `err`, `crit`.
    public init?(userText: String) {
        let text = userText.lowercased()
        switch text {
        case "warn": self = .warning
        case "err": self = .error
        case "crit", "fatal": self = .critical
        default: self.init(rawValue: text)
        }
    }

    /// 0 (trace) to 6 (critical): stored so "this level and more severe" is one comparison in SQL.
    public var severity: Int { Logger.Level.allCases.firstIndex(of: self)! }
}
