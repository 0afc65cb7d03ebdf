import Foundation
import Logging
import MediaSyncEngine

/// A fresh state directory under /tmp per test (tests run in parallel).
struct LogTestDir {
    let path: String
    init() throws {
        var template = Array("/tmp/mediasync-logs-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        path = String(cString: made)
    }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A real pipe whose write end a handler writes to; `lines()` reads what arrived.
final class LogTestPipe {
    let readFD: Int32
    let writeFD: Int32
    init() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw CocoaError(.fileWriteUnknown) }
        readFD = fds[0]
        writeFD = fds[1]
        _ = fcntl(readFD, F_SETFL, fcntl(readFD, F_GETFL) | O_NONBLOCK)
    }
    /// Everything written so far, split into lines.
    func lines() -> [String] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(readFD, &chunk, chunk.count)
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
    }
    deinit { close(readFD); close(writeFD) }
}

/// Parses one JSON line into a dictionary, nil when it is not a JSON object.
func jsonObject(_ line: String) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
}

func logEntry(_ i: Int, level: Logger.Level = .info, cycle: Int64? = nil, source: String? = nil,
              timeMs: Int64 = 1_795_170_000_000) -> LogEntry {
    LogEntry(timeMs: timeMs + Int64(i), level: level, message: "entry \(i)", cycle: cycle, source: source,
             folder: source == nil ? nil : "outputs")
}
