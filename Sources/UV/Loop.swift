internal import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// One libuv event loop; everything made on it must be used on the thread that runs it.
///
///     let loop = try Loop()
///     let timer = try Timer(loop: loop)
///     timer.start(after: 10) { timer.close() }
///     loop.run()
///     try loop.close()
public final class Loop {
    let raw: UnsafeMutablePointer<uv_loop_t>
    private var closed = false

    public init() throws(UVError) {
        raw = .allocate(capacity: 1)
        let rc = uv_loop_init(raw)
        if rc < 0 {
            raw.deallocate()
            throw UVError(rc, "create event loop")
        }
    }

    deinit {
        // A loop with open handles cannot be freed without corrupting them: leak it instead.
        if !closed, uv_loop_close(raw) == 0 { raw.deallocate() }
    }

    /// Runs until no referenced handle or request is left, or `stop()` was called. Returns true
    /// when work remains (it was stopped). Never call it from inside a callback of this loop.
    @discardableResult
    public func run() -> Bool { uv_run(raw, UV_RUN_DEFAULT) != 0 }

    /// Polls for I/O once; blocks for it unless `nowait`. Returns true when work remains.
    @discardableResult
    public func runOnce(nowait: Bool = false) -> Bool {
        uv_run(raw, nowait ? UV_RUN_NOWAIT : UV_RUN_ONCE) != 0
    }

    /// Makes `run()` return after the current iteration.
    public func stop() { uv_stop(raw) }

    /// The loop's cached clock in milliseconds (monotonic, updated at the start of each iteration).
    public var now: UInt64 { uv_now(raw) }

    /// Refreshes the cached clock; useful after a long callback.
    public func updateTime() { uv_update_time(raw) }

    /// True while referenced handles or requests would keep `run()` going.
    public var isAlive: Bool { uv_loop_alive(raw) != 0 }

    /// Kinds of the handles still on the loop, open or closing ("timer", "pipe", "poll" for a child).
    public var openHandleKinds: [String] {
        var kinds: [String] = []
        withUnsafeMutablePointer(to: &kinds) { box in
            uv_walk(raw, { handle, arg in
                guard let handle, let arg else { return }
                let kinds = arg.assumingMemoryBound(to: [String].self)
                kinds.pointee.append(String(cString: uv_handle_type_name(uv_handle_get_type(handle))))
            }, box)
        }
        return kinds
    }

    /// Teardown: closes every handle still open (a running child's process group gets SIGKILL
    /// first, so its exit can be reaped) and runs the loop until all close callbacks have run.
    public func closeAll() {
        var owners: [Handle] = []
        withUnsafeMutablePointer(to: &owners) { box in
            uv_walk(raw, { handle, arg in
                guard let handle, let arg, uv_is_closing(handle) == 0 else { return }
                if let owner = Handle.owner(UnsafeMutableRawPointer(handle), as: Handle.self) {
                    arg.assumingMemoryBound(to: [Handle].self).pointee.append(owner)
                } else {
                    uv_close(handle, nil) // not ours: nothing to free
                }
            }, box)
        }
        for owner in owners { owner.teardown() }
        run()
    }

    /// Frees the loop. Fails with EBUSY, naming the handles still open, if anything is left:
    /// call `closeAll()` first, or close what you made and let `run()` finish.
    public func close() throws(UVError) {
        guard !closed else { return }
        let rc = uv_loop_close(raw)
        if rc < 0 {
            throw UVError(rc, "close event loop",
                          detail: "handles still open: \(openHandleKinds.joined(separator: ", "))")
        }
        closed = true
        raw.deallocate()
    }
}
