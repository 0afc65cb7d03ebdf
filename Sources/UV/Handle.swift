internal import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// The lifecycle every libuv handle wrapper shares: raw handle memory, explicit state, one close path.
///
/// While a handle is open the loop owns its wrapper (a retained reference sits in the handle's
/// `data`), so a running timer or child keeps working even when the caller drops its reference.
/// `close()` drops the stored closures (breaking any cycle through them) and hands the handle to
/// `uv_close`; the shared close callback balances that retain and is the only place memory is freed.
/// Not Sendable: use a handle only on the thread that runs its loop.
public class Handle {
    /// Where a handle is in its life; node's handle_wrap keeps the same three states.
    public enum State: Sendable { case open, closing, closed }

    public private(set) var state: State = .open
    /// The loop this handle belongs to.
    public let loop: Loop
    /// The handle memory, `uv_handle_size(type)` bytes from malloc, freed only by the close callback.
    let raw: UnsafeMutableRawPointer

    var handle: UnsafeMutablePointer<uv_handle_t> { raw.assumingMemoryBound(to: uv_handle_t.self) }

    /// Allocates the handle and runs `initialize` on it (`uv_timer_init`, ...). On failure the
    /// memory is freed right away, unless `closeOnFailure` says libuv already registered the
    /// handle (as `uv_spawn` does), in which case it must go through `uv_close` first.
    init(loop: Loop, type: uv_handle_type, what: @autoclosure () -> String,
         closeOnFailure: Bool = false,
         _ initialize: (UnsafeMutableRawPointer) -> Int32) throws(UVError) {
        guard let memory = malloc(uv_handle_size(type)) else {
            throw UVError(UV_ENOMEM.rawValue, what())
        }
        let rc = initialize(memory)
        if rc < 0 {
            if closeOnFailure {
                let h = memory.assumingMemoryBound(to: uv_handle_t.self)
                h.pointee.data = nil
                uv_close(h, handleCloseCallback)
            } else {
                free(memory)
            }
            throw UVError(rc, what())
        }
        self.loop = loop
        self.raw = memory
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    /// Closes the handle; safe to call any number of times. Stored callbacks are dropped now; the
    /// memory is released when the loop runs the close callback.
    public func close() {
        guard state == .open else { return }
        state = .closing
        willClose()
        uv_close(handle, handleCloseCallback)
    }

    /// What `Loop.closeAll()` does to this handle at teardown; a process overrides it.
    func teardown() { close() }

    /// Subclasses drop their stored closures here.
    func willClose() {}

    /// Subclasses free memory they own besides the handle (read buffers) here.
    func didClose() {}

    /// True while the handle keeps the loop running (an active timer, a reading stream...).
    public var isActive: Bool { state == .open && uv_is_active(handle) != 0 }

    /// Whether the handle keeps the loop alive; an unreferenced handle (a housekeeping timer)
    /// lets `run()` return once everything else is done.
    public var isReferenced: Bool {
        get { state == .open && uv_has_ref(handle) != 0 }
        set {
            guard state == .open else { return }
            if newValue { uv_ref(handle) } else { uv_unref(handle) }
        }
    }

    fileprivate func finishClose() {
        state = .closed
        didClose()
    }

    /// The wrapper stored in a handle's `data`, borrowed for the duration of a C callback.
    static func owner<T: Handle>(_ handle: UnsafeMutableRawPointer?, as type: T.Type) -> T? {
        guard let handle,
              let data = handle.assumingMemoryBound(to: uv_handle_t.self).pointee.data
        else { return nil }
        return Unmanaged<Handle>.fromOpaque(data).takeUnretainedValue() as? T
    }
}

/// The one close callback: balances the retain taken at init, then frees the handle memory.
let handleCloseCallback: uv_close_cb = { handle in
    guard let handle else { return }
    if let data = handle.pointee.data {
        handle.pointee.data = nil
        let owner = Unmanaged<Handle>.fromOpaque(data).takeRetainedValue()
        owner.finishClose()
    }
    free(UnsafeMutableRawPointer(handle))
}
