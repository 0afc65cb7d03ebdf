internal import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// A byte stream (pipe or Unix socket): reads delivered as they arrive, writes through a bounded
/// queue so a peer that stops reading cannot make us grow memory without limit.
///
///     try pipe.startReading(onData: { bytes in lines.feed(bytes) },
///                           onEnd: { error in /* nil = EOF */ pipe.close() })
///     try pipe.write(Array("hello\n".utf8))   // throws isQueueFull when the peer lags
public class Stream: Handle {
    /// Names the stream in error messages ("stdout of rsync", "client of /run/x.sock").
    public var name = "pipe"
    /// Most bytes that may wait in the write queue; a write that would go over is refused.
    public var writeQueueLimit = 1 << 20
    /// Bytes accepted by `write` whose completion has not run yet: memory we hold for the peer.
    public private(set) var queuedBytes = 0
    /// Called when the write queue becomes empty again, e.g. to resume a producer.
    public var onDrain: (() -> Void)?

    private var onData: ((UnsafeRawBufferPointer) -> Void)?
    private var onEnd: ((UVError?) -> Void)?
    var onConnection: ((UVError?) -> Void)?
    private var readBuffer: UnsafeMutableRawPointer?
    static let readBufferSize = 64 * 1024

    var stream: UnsafeMutablePointer<uv_stream_t> { raw.assumingMemoryBound(to: uv_stream_t.self) }

    /// Starts delivering data. `onData` gets a buffer valid only during the call (copy what you
    /// keep). `onEnd` runs once: nil at end of stream, or the read error; reading has stopped then.
    public func startReading(onData: @escaping (UnsafeRawBufferPointer) -> Void,
                             onEnd: @escaping (UVError?) -> Void) throws(UVError) {
        guard state == .open else { throw UVError.closed("read from \(name)") }
        self.onData = onData
        self.onEnd = onEnd
        if readBuffer == nil { readBuffer = malloc(Stream.readBufferSize) }
        let rc = uv_read_start(stream, { h, _, buf in
            // One buffer per stream is enough: libuv hands it back in the read callback before
            // asking for the next one.
            let owner = Handle.owner(UnsafeMutableRawPointer(h), as: Stream.self)
            buf?.pointee.base = owner?.readBuffer?.assumingMemoryBound(to: CChar.self)
            buf?.pointee.len = owner?.readBuffer == nil ? 0 : Stream.readBufferSize
        }, { s, nread, buf in
            guard let owner = Handle.owner(UnsafeMutableRawPointer(s), as: Stream.self) else { return }
            if nread > 0, let base = buf?.pointee.base {
                owner.onData?(UnsafeRawBufferPointer(start: base, count: nread))
            } else if nread < 0 {
                owner.readEnded(Int32(nread))
            }
            // nread == 0 is EAGAIN, not end of stream: nothing to do.
        })
        if rc < 0 {
            self.onData = nil
            self.onEnd = nil
            throw UVError(rc, "read from \(name)")
        }
    }

    private func readEnded(_ code: Int32) {
        uv_read_stop(stream)
        let end = onEnd
        onData = nil
        onEnd = nil
        end?(code == UV_EOF.rawValue ? nil : UVError(code, "read from \(name)"))
    }

    /// Pauses reading (backpressure); `startReading` resumes it.
    public func stopReading() {
        guard state == .open else { return }
        uv_read_stop(stream)
    }

    /// Queues `bytes` (copied). Throws `isQueueFull` when `queuedBytes + bytes.count` would go
    /// over `writeQueueLimit`, nothing queued then. `completion` runs on the loop once the bytes
    /// are written or failed (ECANCELED if the stream was closed first).
    public func write(_ bytes: UnsafeRawBufferPointer,
                      completion: ((UVError?) -> Void)? = nil) throws(UVError) {
        guard state == .open else { throw UVError.closed("write to \(name)") }
        if queuedBytes + bytes.count > writeQueueLimit {
            throw UVError(UV_ENOBUFS.rawValue, "write to \(name)",
                          detail: "write queue full (\(queuedBytes) bytes waiting, limit \(writeQueueLimit)): the peer is not reading")
        }
        // The request and a copy of the bytes in one allocation, freed by the write callback.
        let requestSize = (uv_req_size(UV_WRITE) + 15) & ~15
        guard let memory = malloc(requestSize + max(bytes.count, 1)) else {
            throw UVError(UV_ENOMEM.rawValue, "write to \(name)")
        }
        let data = memory + requestSize
        if let base = bytes.baseAddress { data.copyMemory(from: base, byteCount: bytes.count) }
        let request = memory.assumingMemoryBound(to: uv_write_t.self)
        request.pointee.data = Unmanaged.passRetained(WriteContext(bytes.count, completion)).toOpaque()
        var buf = uv_buf_init(data.assumingMemoryBound(to: CChar.self), UInt32(bytes.count))
        let rc = uv_write(request, stream, &buf, 1) { req, status in
            guard let req else { return }
            let context = Unmanaged<WriteContext>.fromOpaque(req.pointee.data).takeRetainedValue()
            let owner = Handle.owner(UnsafeMutableRawPointer(req.pointee.handle), as: Stream.self)
            free(req)
            owner?.writeFinished(context.count)
            context.completion?(status < 0 ? UVError(status, "write to \(owner?.name ?? "stream")") : nil)
        }
        if rc < 0 {
            Unmanaged<WriteContext>.fromOpaque(request.pointee.data).release()
            free(memory)
            throw UVError(rc, "write to \(name)")
        }
        queuedBytes += bytes.count
    }

    /// Queues a copy of `bytes`; see `write(_:completion:)` for the queue limit.
    public func write(_ bytes: [UInt8], completion: ((UVError?) -> Void)? = nil) throws(UVError) {
        var failure: UVError?
        bytes.withUnsafeBytes { buffer in
            do throws(UVError) { try write(buffer, completion: completion) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Writes all of `bytes`, however many, through the bounded queue: one chunk at a time, the next
    /// when the previous one went out, so the peer's reading sets the pace and at most `chunk` bytes of
    /// the copy wait in the queue. `completion` runs once, on the loop: nil when everything was
    /// written, else the first error (the peer closed its end, or the stream was closed).
    ///
    ///     try pipe.writeAll(fileList) { error in if error == nil { child.closeStdin() } }
    public func writeAll(_ bytes: [UInt8], chunk: Int = 256 * 1024, completion: ((UVError?) -> Void)? = nil) {
        let size = max(1, min(chunk, writeQueueLimit))
        func next(from offset: Int) {
            guard offset < bytes.count else { completion?(nil); return }
            let end = min(bytes.count, offset + size)
            var failure: UVError?
            bytes.withUnsafeBytes { all in
                do throws(UVError) {
                    try write(UnsafeRawBufferPointer(rebasing: all[offset..<end])) { error in
                        if let error { completion?(error) } else { next(from: end) }
                    }
                } catch {
                    failure = error
                }
            }
            if let failure { completion?(failure) }
        }
        next(from: 0)
    }

    /// Queues the UTF-8 bytes of `text`.
    public func write(_ text: String, completion: ((UVError?) -> Void)? = nil) throws(UVError) {
        try write(Array(text.utf8), completion: completion)
    }

    private func writeFinished(_ count: Int) {
        queuedBytes -= count
        if queuedBytes == 0, state == .open { onDrain?() }
    }

    /// Half-closes after every queued write went out (the peer reads EOF); reading goes on.
    public func shutdown(_ completion: ((UVError?) -> Void)? = nil) throws(UVError) {
        guard state == .open else { throw UVError.closed("shut down \(name)") }
        guard let memory = malloc(uv_req_size(UV_SHUTDOWN)) else {
            throw UVError(UV_ENOMEM.rawValue, "shut down \(name)")
        }
        let request = memory.assumingMemoryBound(to: uv_shutdown_t.self)
        request.pointee.data = Unmanaged.passRetained(WriteContext(0, completion)).toOpaque()
        let rc = uv_shutdown(request, stream) { req, status in
            guard let req else { return }
            let context = Unmanaged<WriteContext>.fromOpaque(req.pointee.data).takeRetainedValue()
            free(req)
            context.completion?(status < 0 ? UVError(status, "shut down stream") : nil)
        }
        if rc < 0 {
            Unmanaged<WriteContext>.fromOpaque(request.pointee.data).release()
            free(memory)
            throw UVError(rc, "shut down \(name)")
        }
    }

    /// Whether the stream can still be read from / written to.
    public var isReadable: Bool { state == .open && uv_is_readable(stream) != 0 }
    public var isWritable: Bool { state == .open && uv_is_writable(stream) != 0 }

    func listen(backlog: Int32, what: String, _ onConnection: @escaping (UVError?) -> Void) throws(UVError) {
        guard state == .open else { throw UVError.closed(what) }
        self.onConnection = onConnection
        let rc = uv_listen(stream, backlog) { s, status in
            Handle.owner(UnsafeMutableRawPointer(s), as: Stream.self)?
                .onConnection?(status < 0 ? UVError(status, "accept connection") : nil)
        }
        if rc < 0 {
            self.onConnection = nil
            throw UVError(rc, what)
        }
    }

    override func willClose() {
        onData = nil
        onEnd = nil
        onDrain = nil
        onConnection = nil
    }

    override func didClose() {
        free(readBuffer)
        readBuffer = nil
    }
}

/// What a write or shutdown request carries until its callback.
final class WriteContext {
    let count: Int
    let completion: ((UVError?) -> Void)?
    init(_ count: Int, _ completion: ((UVError?) -> Void)?) {
        self.count = count
        self.completion = completion
    }
}
