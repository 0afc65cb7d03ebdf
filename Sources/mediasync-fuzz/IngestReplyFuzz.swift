import MediaSyncCore

/// The ingest child's lines through `IngestReply.parse`: every line is an answer or a protocol error whose
/// message is one line (it goes to the log and into `status`).
enum IngestReplyFuzz {
    static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            guard line.count <= IngestReply.maxLineLength else { continue }
            switch IngestReply.parse(Array(line)) {
            case .success(let reply):
                if case let .ack(ids) = reply { _ = ids.count }
                _ = String(describing: reply)
            case .failure(let error):
                fuzzCheck(!error.description.contains("\n"), "a protocol error of more than one line: \(error.description)")
            }
        }
    }
}
