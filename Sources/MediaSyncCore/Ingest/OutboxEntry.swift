/// An event on its way to the ingest, as the outbox stores it (docs/ingest-protocol.md "The window,
/// ordering and redelivery"): the rendered body, and for a `file_synced` the library file whose metadata
/// is read later, once, off the loop.
public struct OutboxEntry: Sendable, Equatable {
    public var type: String
    /// `IngestLine.outboxBody`: the event's time, type and fields.
    public var body: [UInt8]
    /// Absolute library path to read the metadata from; nil when the event carries none.
    public var metadataPath: [UInt8]?

    public init(type: String, body: [UInt8], metadataPath: [UInt8]? = nil) {
        self.type = type
        self.body = body
        self.metadataPath = metadataPath
    }

    /// The entry for an event the ingest is sent, nil for the others (progress, logs, dry-run purges...).
    /// `libraryPath` is the absolute library path of a purged file (its event has only the source path).
    public static func make(_ body: EventBody, timeMs: Int64, libraryPath: [UInt8]? = nil) -> OutboxEntry? {
        switch body {
        case let .fileSynced(_, synced):
            return OutboxEntry(type: body.type, body: IngestLine.outboxBody(body, timeMs: timeMs),
                               metadataPath: synced.libraryPath)
        case let .filePurged(_, _, _, _, _, dryRun) where !dryRun:
            return OutboxEntry(type: body.type, body: IngestLine.outboxBody(body, timeMs: timeMs, libraryPath: libraryPath))
        case .cycleFinished:
            return OutboxEntry(type: body.type, body: IngestLine.outboxBody(body, timeMs: timeMs))
        default:
            return nil
        }
    }
}

/// What storing a batch in the outbox did: the limit keeps it from growing without end while the ingest
/// is away; events past it are not stored (their files are in the library and the manifest).
public struct OutboxAppend: Sendable, Equatable {
    public var stored: Int
    public var dropped: Int
    /// Events waiting after the append.
    public var total: Int

    public init(stored: Int = 0, dropped: Int = 0, total: Int = 0) {
        self.stored = stored
        self.dropped = dropped
        self.total = total
    }
}
