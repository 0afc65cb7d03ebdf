/// One batch of a purge's deletions and the source's answers to it, one delete call: which files were
/// deleted, which the source kept and why, which got no answer, and whether the script reached its end.
///
/// ```swift
/// var batch = PurgeBatch(deletions)
/// parser.feed(bytes) { line in if case let .deleted(d) = batch.take(line) { audit(d) } }
/// if let failure = batch.failure(childError: error) { fail(failure) }
/// ```
public struct PurgeBatch: Sendable {
    /// What one line of the delete script's output means for the batch.
    public enum Answer: Equatable, Sendable {
        case deleted(PurgePlan.Deletion)
        /// The source kept it: the keep reason and the detail for the warning.
        case kept(path: [UInt8], reason: PurgeKeepReason, detail: String)
        case removedFolder([UInt8])
        /// A line about nothing this batch waits for (an answer given twice, the end marker).
        case nothing
    }

    public let deletions: [PurgePlan.Deletion]
    private var waiting: [[UInt8]: PurgePlan.Deletion] = [:]
    /// The script printed its end marker: its output was not cut short.
    public private(set) var sawDone = false

    public init(_ deletions: [PurgePlan.Deletion]) {
        self.deletions = deletions
        for deletion in deletions { waiting[deletion.path] = deletion }
    }

    public mutating func take(_ line: RemotePurgeResult) -> Answer {
        switch line {
        case let .deleted(path):
            return waiting.removeValue(forKey: path).map { .deleted($0) } ?? .nothing
        case let .kept(reason, path):
            guard waiting.removeValue(forKey: path) != nil else { return .nothing }
            return .kept(path: path, reason: RemotePurgeResult.keepReason(forScriptReason: reason),
                         detail: "the source kept it: \(reason.replacingOccurrences(of: "_", with: " "))")
        case let .removedFolder(path):
            return .removedFolder(path)
        case .done:
            sawDone = true
            return .nothing
        case .checksum:
            return .nothing
        }
    }

    /// The deletions the source gave no answer for, in path order: they stay, reported as errors.
    public var unanswered: [PurgePlan.Deletion] {
        waiting.values.sorted { PathBytes.precedes($0.path, $1.path) }
    }

    /// Nil when the batch was answered to its end, else why not (the child's own failure first). The batch's
    /// intent stays then, so that the next purge completes the audit.
    public func failure(childError: String?) -> String? {
        if let childError { return childError }
        return sawDone ? nil : "the purge script on the source ended early (output cut short)"
    }
}

/// A plan's deletions walked in batches by index (removing each batch from the front copied and shifted a
/// list of 200,000 deletions 200 times), sorted by parent folder then name, and a batch never spans two
/// folders: the delete script removes a batch of one folder with one `stat` and one `rm` per
/// `RemotePurgeScript.maxNames` names, where files of several folders in one call cost a shell each.
public struct PurgeBatches: Sendable {
    private var deletions: [PurgePlan.Deletion]
    private var next = 0

    public init(_ deletions: [PurgePlan.Deletion]) {
        var deletions = deletions
        deletions.sort { RemotePurgeScript.byFolderThenName($0.path, $1.path) }
        self.deletions = deletions
    }

    /// The next deletions of one folder, at most `size`, or nil when all were handed out.
    public mutating func next(size: Int) -> [PurgePlan.Deletion]? {
        guard next < deletions.count else { return nil }
        let first = deletions[next].path
        var end = next + 1
        let limit = min(deletions.count, next + max(1, size))
        while end < limit, RemotePurgeScript.sameFolder(deletions[end].path, first) { end += 1 }
        let batch = Array(deletions[next..<end])
        next = end
        return batch
    }
}
