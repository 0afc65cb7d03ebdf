internal import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// Longest Unix socket path: `sun_path` is 108 bytes including the terminating NUL.
public let maxUnixSocketPathLength = 107

/// Refuses a path libuv 1.44 would silently truncate (binding or reaching another file).
func checkSocketPath(_ path: String, _ operation: String) throws(UVError) {
    let length = path.utf8.count
    if length > maxUnixSocketPathLength {
        throw UVError(UV_ENAMETOOLONG.rawValue, operation,
                      detail: "the socket path is \(length) bytes, but a Unix socket path can hold at most \(maxUnixSocketPathLength) (sun_path is 108 bytes including the NUL); choose a shorter path, e.g. under /run or /tmp")
    }
    if length == 0 || path.utf8.contains(0) {
        throw UVError(UV_EINVAL.rawValue, operation, detail: "the socket path is empty or contains a NUL byte")
    }
}

/// A listening Unix-domain socket that hands each accepted connection over as a `Pipe`.
///
///     let server = try UnixServer(loop: loop, path: "/run/mediasync/control.sock")
///     try server.listen { client in try? client.startReading(...) }
public final class UnixServer {
    /// The socket file; removed again by `close()`.
    public let path: String
    private let listener: Pipe
    private var bound = false

    /// Binds `path`. A file already there gives EADDRINUSE; removing a stale socket is the
    /// caller's decision (only it knows no other server owns the file).
    public init(loop: Loop, path: String) throws(UVError) {
        try checkSocketPath(path, "listen on \(path)")
        self.path = path
        listener = try Pipe(loop: loop, name: "server \(path)")
        let rc = uv_pipe_bind(listener.pipe, path)
        if rc < 0 {
            listener.close()
            let hint = rc == UV_EADDRINUSE.rawValue
                ? "a file already exists there: another server is running, or a stale socket was left behind (remove it if no server runs)"
                : nil
            throw UVError(rc, "listen on \(path)", detail: hint)
        }
        bound = true
    }

    /// Starts accepting. Each new client arrives as an open `Pipe` that the callee owns and must
    /// close. Accept failures (out of descriptors) are reported through `onError` and serving goes on.
    public func listen(backlog: Int32 = 128, onError: ((UVError) -> Void)? = nil,
                       onConnection: @escaping (Pipe) -> Void) throws(UVError) {
        let listener = self.listener
        let path = self.path
        try listener.listen(backlog: backlog, what: "listen on \(path)") { [unowned listener] error in
            if let error { onError?(error); return }
            let client: Pipe
            do throws(UVError) { client = try Pipe(loop: listener.loop, name: "client of \(path)") } catch {
                onError?(error); return
            }
            let rc = uv_accept(listener.stream, client.stream)
            if rc < 0 {
                client.close()
                onError?(UVError(rc, "accept on \(path)"))
                return
            }
            onConnection(client)
        }
    }

    /// True until `close()`.
    public var isListening: Bool { listener.state == .open }

    /// Stops listening and removes the socket file. Clients already accepted stay connected.
    public func close() {
        guard listener.state == .open else { return }
        listener.close()
        if bound { unlink(path) }
    }
}

/// Connects to a Unix-domain socket.
public enum UnixClient {
    /// Connects to `path`; `completion` runs on the loop with the connected `Pipe` (which the
    /// caller then owns) or the error, e.g. ENOENT when no server listens there. A path longer
    /// than `maxUnixSocketPathLength` is refused right away.
    public static func connect(loop: Loop, path: String,
                               completion: @escaping (Result<Pipe, UVError>) -> Void) throws(UVError) {
        try checkSocketPath(path, "connect to \(path)")
        let pipe = try Pipe(loop: loop, name: "connection to \(path)")
        guard let memory = malloc(uv_req_size(UV_CONNECT)) else {
            pipe.close()
            throw UVError(UV_ENOMEM.rawValue, "connect to \(path)")
        }
        let request = memory.assumingMemoryBound(to: uv_connect_t.self)
        request.pointee.data = Unmanaged.passRetained(ConnectContext(pipe, path, completion)).toOpaque()
        // uv_pipe_connect reports every failure, even a synchronous one, through the callback.
        uv_pipe_connect(request, pipe.pipe, path) { req, status in
            guard let req else { return }
            let context = Unmanaged<ConnectContext>.fromOpaque(req.pointee.data).takeRetainedValue()
            free(req)
            if status < 0 {
                context.pipe.close()
                context.completion(.failure(UVError(status, "connect to \(context.path)")))
            } else {
                context.completion(.success(context.pipe))
            }
        }
    }
}

final class ConnectContext {
    let pipe: Pipe
    let path: String
    let completion: (Result<Pipe, UVError>) -> Void
    init(_ pipe: Pipe, _ path: String, _ completion: @escaping (Result<Pipe, UVError>) -> Void) {
        self.pipe = pipe
        self.path = path
        self.completion = completion
    }
}
