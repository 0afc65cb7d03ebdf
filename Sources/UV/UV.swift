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
    /// stdio we give them.
    public static func prepareProcess() {
        signal(SIGPIPE, SIG_IGN)
        uv_disable_stdio_inheritance()
    }

    /// The libuv version linked at run time, e.g. "1.44.2".
    public static var libuvVersion: String { String(cString: uv_version_string()) }
}
