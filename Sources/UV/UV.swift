internal import CLibUV
#if canImport(Glibc)
import Glibc
#endif

// No type here is named `UV`, so `UV.Timer`, `UV.Process`, `UV.Pipe` and `UV.Stream` stay usable
// to pick these over Foundation's types of the same names in files that import both.

extension Loop {
    /// Process-wide setup every program using this module should do once, before it spawns
    /// children: ignores SIGPIPE (a peer that went away must show up as an EPIPE write error, not
    /// kill the daemon) and marks inherited descriptors close-on-exec so children get only the
    /// stdio we give them. It also clears what a parent may have passed on through posix_spawn or
    /// fork: an ignored SIGCHLD makes the kernel reap children itself, so their exit status is lost, and
    /// where children are started with `uv_spawn` (no pidfd_open) a blocked one means libuv never hears that
    /// a child ended (Swift Testing's runner blocks it, so can supervisors); blocked SIGINT, SIGTERM or SIGHUP
    /// would make the loop's signal watchers deaf. The mask is per thread: call this on the loop's.
    public static func prepareProcess() {
        signal(SIGPIPE, SIG_IGN)
        // Only undo an inherited SIG_IGN: resetting a handler libuv already installed (another loop
        // in this process spawned children) would make that loop deaf to its children's exits.
        var current = sigaction()
        if sigaction(SIGCHLD, nil, &current) == 0, unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) {
            signal(SIGCHLD, SIG_DFL)
        }
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for signum in [SIGCHLD, SIGINT, SIGTERM, SIGHUP] { sigaddset(&unblock, signum) }
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        uv_disable_stdio_inheritance()
    }

    /// The libuv version linked at run time, e.g. "1.44.2".
    public static var libuvVersion: String { String(cString: uv_version_string()) }
}
