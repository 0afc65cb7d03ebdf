/// One event in the ingest outbox, as the sender reads it.
public struct OutboxItem: Sendable, Equatable {
    /// The event's id for the ingest: the row number, never reused.
    public var id: Int64
    public var type: String
    /// `IngestLine.outboxBody`.
    public var body: [UInt8]
    /// The `metadata` object's JSON once read; nil for events without one.
    public var metadata: [UInt8]?
    /// A `file_synced` whose metadata has not been read yet.
    public var awaitingMetadata: Bool

    public init(id: Int64, type: String, body: [UInt8], metadata: [UInt8]?, awaitingMetadata: Bool) {
        self.id = id
        self.type = type
        self.body = body
        self.metadata = metadata
        self.awaitingMetadata = awaitingMetadata
    }
}
