/// A purge killed mid-batch (or whose connection broke) left its intent (the batch it handed the source):
/// the files of that batch that are gone from a fresh listing and not in the audit were deleted by it, and
/// go into the audit now. Pure: the intent, the listing and the audit come in as values.
public enum PurgeRecovery {
    /// A file as the audit knows it.
    public struct AuditedFile: Hashable, Sendable {
        public var path: [UInt8]
        public var size: Int64
        public var mtime: Int64

        public init(path: [UInt8], size: Int64, mtime: Int64) {
            self.path = path
            self.size = size
            self.mtime = mtime
        }
    }

    /// The intent's deletions the interrupted purge carried out and did not record, aged by the listing's clock.
    public static func unrecorded(intent: [PurgePlan.Deletion], listing: RemoteListing,
                                  audited: Set<AuditedFile>) -> [PurgePlan.Deletion] {
        let present = Set(listing.files.map(\.path))
        var gone = intent.filter { deletion in
            !present.contains(deletion.path)
                && !audited.contains(AuditedFile(path: deletion.path, size: deletion.size, mtime: deletion.mtime))
        }
        for index in gone.indices { gone[index].ageSeconds = max(0, listing.now - gone[index].mtime) }
        return gone
    }
}
