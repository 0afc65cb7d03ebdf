internal import CLibUV

/// A failed libuv call: the negative errno-style code, its name and text, and what was being done.
///
///     throw UVError(code, "listen on /run/mediasync.sock")
///     // listen on /run/mediasync.sock: EADDRINUSE (address already in use)
public struct UVError: Error, CustomStringConvertible, Equatable, Sendable {
    /// libuv's (negative) error code, e.g. `UV_ENOENT`.
    public let code: Int32
    /// What was being done, naming the thing at fault ("spawn rsync", "connect to /path").
    public let operation: String
    /// Extra advice for the user; replaces libuv's generic text when set.
    public let detail: String?

    public init(_ code: Int32, _ operation: String, detail: String? = nil) {
        self.code = code
        self.operation = operation
        self.detail = detail
    }

    /// The symbolic name, e.g. "ENOENT".
    public var name: String { String(cString: uv_err_name(code)) }
    /// libuv's text for the code, e.g. "no such file or directory".
    public var message: String { String(cString: uv_strerror(code)) }

    public var description: String {
        if let detail { return "\(operation): \(name): \(detail)" }
        return "\(operation): \(name) (\(message))"
    }

    /// The write queue of a stream is over its limit: the peer is not reading.
    public var isQueueFull: Bool { code == UV_ENOBUFS.rawValue }
    /// Nothing at that path (missing executable, socket file, folder).
    public var isNotFound: Bool { code == UV_ENOENT.rawValue }
    /// Thrown for a closed handle or when the operation was cancelled by closing.
    public var isCancelled: Bool { code == UV_ECANCELED.rawValue }

    /// Throws when `rc` is a libuv error (negative), with the operation described lazily.
    static func check(_ rc: Int32, _ operation: @autoclosure () -> String) throws(UVError) {
        if rc < 0 { throw UVError(rc, operation()) }
    }

    static func closed(_ operation: String) -> UVError {
        UVError(UV_EBADF.rawValue, operation, detail: "the handle is already closed")
    }
}
