internal import CLibUV

/// A one-shot or repeating timer on the loop's clock (milliseconds).
///
///     let timer = try Timer(loop: loop)
///     timer.start(after: 100, repeat: 100) { tick += 1 }
public final class Timer: Handle {
    private var callback: (() -> Void)?

    var timer: UnsafeMutablePointer<uv_timer_t> { raw.assumingMemoryBound(to: uv_timer_t.self) }

    public init(loop: Loop) throws(UVError) {
        try super.init(loop: loop, type: UV_TIMER, what: "create timer") {
            uv_timer_init(loop.raw, $0.assumingMemoryBound(to: uv_timer_t.self))
        }
    }

    /// Fires `callback` after `after` ms, then every `repeat` ms if that is not 0. Restarting
    /// replaces the previous schedule and callback. Does nothing once closed.
    public func start(after: UInt64, repeat: UInt64 = 0, _ callback: @escaping () -> Void) {
        guard state == .open else { return }
        self.callback = callback
        uv_timer_start(timer, { t in
            Handle.owner(UnsafeMutableRawPointer(t), as: Timer.self)?.callback?()
        }, after, `repeat`)
    }

    /// Stops firing; the timer can be started again.
    public func stop() {
        guard state == .open else { return }
        uv_timer_stop(timer)
    }

    /// Milliseconds until the next firing, 0 when stopped.
    public var dueIn: UInt64 { isActive ? uv_timer_get_due_in(timer) : 0 }

    override func willClose() { callback = nil }
}
