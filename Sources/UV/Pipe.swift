internal import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// A pipe or Unix-domain socket stream: a child's stdio, or one end of a control connection.
public final class Pipe: Stream {
    var pipe: UnsafeMutablePointer<uv_pipe_t> { raw.assumingMemoryBound(to: uv_pipe_t.self) }

    public init(loop: Loop, name: String = "pipe") throws(UVError) {
        try super.init(loop: loop, type: UV_NAMED_PIPE, what: "create pipe for \(name)") {
            uv_pipe_init(loop.raw, $0.assumingMemoryBound(to: uv_pipe_t.self), 0)
        }
        self.name = name
    }

    /// Adopts an open file descriptor (a socketpair end, an inherited fd); closing the pipe closes it.
    public func open(fileDescriptor fd: Int32) throws(UVError) {
        guard state == .open else { throw UVError.closed("open fd \(fd) as \(name)") }
        try UVError.check(uv_pipe_open(pipe, fd), "open fd \(fd) as \(name)")
    }

    /// The underlying descriptor, nil when closed or not yet connected.
    public var fileDescriptor: Int32? {
        guard state == .open else { return nil }
        var fd = uv_os_fd_t(-1)
        return uv_fileno(handle, &fd) == 0 ? fd : nil
    }

    /// Who is on the other end of a connected Unix socket (SO_PEERCRED): the process that
    /// connected, as the kernel saw it at connect time. Nil for plain pipes or closed handles.
    public func peerCredentials() -> PeerCredentials? {
        guard let fd = fileDescriptor else { return nil }
        // Laid out like `struct ucred`, which Glibc's Swift module does not expose.
        var credentials: (pid: Int32, uid: UInt32, gid: UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout.size(ofValue: credentials))
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0,
              length == socklen_t(MemoryLayout.size(ofValue: credentials)),
              credentials.pid > 0
        else { return nil }
        return PeerCredentials(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid)
    }
}

/// The process on the far end of a Unix socket, as the kernel reports it.
public struct PeerCredentials: Equatable, Sendable, CustomStringConvertible {
    public let pid: Int32
    public let uid: UInt32
    public let gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    public var description: String { "pid \(pid) uid \(uid) gid \(gid)" }
}
