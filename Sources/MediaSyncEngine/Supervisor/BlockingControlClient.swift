import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A plain blocking connection to a supervisor's socket, for short-lived clients (`status`,
/// `trigger`, `attach`) and for `serve` asking whether another supervisor already runs there.
///
/// ```swift
/// let client = try BlockingControlClient(path: config.socket)
/// try client.send(#"{"cmd":"status"}"#)
/// let reply = try client.readLine()   // one JSON object, without the `\n`
/// ```
public final class BlockingControlClient {
    /// Why no conversation could be had.
    public enum Failure: Error, CustomStringConvertible {
        /// Nothing listens there (no file, or a stale socket: ECONNREFUSED); errno attached.
        case noSupervisor(path: String, errno: Int32)
        case io(String)
        case closed

        public var description: String {
            switch self {
            case let .noSupervisor(path, code):
                "no supervisor is running on \(path) (\(String(cString: strerror(code)))); start one with `mediasync serve` or `systemctl start mediasync`"
            case let .io(message): message
            case .closed: "the supervisor closed the connection"
            }
        }
    }

    public let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0

    /// Connects; `timeoutSeconds` bounds each later read (0 = wait forever).
    public init(path: String, timeoutSeconds: Int = 0) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure.io("cannot make a socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw Failure.io("the socket path \(path) is longer than a Unix socket path can be (107 bytes)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if rc != 0 {
            let code = errno
            close(fd)
            if code == ENOENT || code == ECONNREFUSED { throw Failure.noSupervisor(path: path, errno: code) }
            if code == EACCES || code == EPERM {
                throw Failure.io("cannot connect to \(path): permission denied; run as the user the supervisor runs as, or join its socket_group")
            }
            throw Failure.io("cannot connect to \(path): \(String(cString: strerror(code)))")
        }
        self.fd = fd
        if timeoutSeconds > 0 {
            var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
    }

    deinit { close(fd) }

    /// Writes one request line (a `\n` is added).
    public func send(_ line: String) throws {
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure.io("cannot send to the supervisor: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }

    /// The next line without its `\n`; nil at end of stream. `interrupted` is asked on EINTR (a
    /// signal): returning true makes it give up with nil.
    public func readLine(interrupted: () -> Bool = { false }) throws -> [UInt8]? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 0x0A) {
                let line = Array(buffer[start..<newline])
                start = newline + 1
                if start > 65536 { buffer.removeFirst(start); start = 0 }
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n == 0 { return nil }
            if n < 0 {
                if errno == EINTR { if interrupted() { return nil } else { continue } }
                if errno == EAGAIN || errno == EWOULDBLOCK { throw Failure.io("the supervisor did not answer in time") }
                if errno == ECONNRESET { return nil }
                throw Failure.io("cannot read from the supervisor: \(String(cString: strerror(errno)))")
            }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }

    /// What `next(timeoutMs:)` found.
    public enum ReadResult {
        case line([UInt8])
        case timedOut
        case end
    }

    /// The next line, waiting at most `timeoutMs` (so a caller can redraw or notice a signal flag).
    public func next(timeoutMs: Int32) throws -> ReadResult {
        if buffer[start...].contains(0x0A) { return try readLine().map(ReadResult.line) ?? .end }
        var pollfd = Glibc.pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&pollfd, 1, timeoutMs)
        if ready == 0 || (ready < 0 && errno == EINTR) { return .timedOut }
        if ready < 0 { throw Failure.io("cannot wait for the supervisor: \(String(cString: strerror(errno)))") }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
        if n == 0 { return buffer.count > start ? .line(takeRest()) : .end }
        if n < 0 {
            if errno == EINTR || errno == EAGAIN { return .timedOut }
            if errno == ECONNRESET { return .end }
            throw Failure.io("cannot read from the supervisor: \(String(cString: strerror(errno)))")
        }
        buffer.append(contentsOf: chunk[0..<n])
        if buffer[start...].contains(0x0A) { return try readLine().map(ReadResult.line) ?? .end }
        return .timedOut
    }

    private func takeRest() -> [UInt8] {
        let rest = Array(buffer[start...])
        buffer.removeAll()
        start = 0
        return rest
    }

    /// Sends one request and returns the reply's fields.
    public func request(_ line: String) throws -> [String: Any] {
        try send(line)
        guard let reply = try readLine() else { throw Failure.closed }
        guard let object = try? JSONSerialization.jsonObject(with: Data(reply)) as? [String: Any] else {
            throw Failure.io("the supervisor answered something that is not JSON: \(String(decoding: reply.prefix(200), as: UTF8.self))")
        }
        return object
    }
}
