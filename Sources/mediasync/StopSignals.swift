#if canImport(Glibc)
import Glibc
#endif

/// Set by SIGINT or SIGTERM once `StopSignals.install()` ran: the blocking client commands (`attach`,
/// `logs --follow`) poll it and end normally, with exit 0, as `journalctl -f` does on Ctrl-C.
nonisolated(unsafe) var stopRequested: sig_atomic_t = 0

enum StopSignals {
    /// Handlers without SA_RESTART, so a blocked poll or read returns with EINTR and the loop sees the flag;
    /// SIGINT and SIGTERM unblocked (a parent may have blocked them); SIGPIPE ignored (a closed stdout is an
    /// EPIPE the command handles, not a death).
    static func install() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in stopRequested = 1 }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGINT)
        sigaddset(&unblock, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        signal(SIGPIPE, SIG_IGN)
    }
}
