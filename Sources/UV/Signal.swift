internal import CLibUV

/// Watches a Unix signal (SIGINT, SIGTERM, SIGHUP...) and calls back on the loop's thread.
///
///     let sigterm = try Signal(loop: loop)
///     try sigterm.start(SIGTERM) { _ in supervisor.shutdown() }
public final class Signal: Handle {
    private var callback: ((Int32) -> Void)?

    var signalHandle: UnsafeMutablePointer<uv_signal_t> { raw.assumingMemoryBound(to: uv_signal_t.self) }

    public init(loop: Loop) throws(UVError) {
        try super.init(loop: loop, type: UV_SIGNAL, what: "create signal watcher") {
            uv_signal_init(loop.raw, $0.assumingMemoryBound(to: uv_signal_t.self))
        }
    }

    /// Calls `callback` with the signal number each time `signum` arrives (or only the first
    /// time if `once`). While watched, the signal's default action (terminate) no longer happens.
    public func start(_ signum: Int32, once: Bool = false, _ callback: @escaping (Int32) -> Void) throws(UVError) {
        guard state == .open else { throw UVError.closed("watch signal \(signum)") }
        self.callback = callback
        let cb: uv_signal_cb = { h, signum in
            Handle.owner(UnsafeMutableRawPointer(h), as: Signal.self)?.callback?(signum)
        }
        let rc = once ? uv_signal_start_oneshot(signalHandle, cb, signum)
                      : uv_signal_start(signalHandle, cb, signum)
        try UVError.check(rc, "watch signal \(signum)")
    }

    /// Stops watching; the default action of the signal applies again.
    public func stop() {
        guard state == .open else { return }
        uv_signal_stop(signalHandle)
    }

    override func willClose() { callback = nil }
}
