import Foundation

/// Tells systemd how the service is doing (`Type=notify`): READY, RELOADING, STOPPING, STATUS and watchdog
/// pings, sent as datagrams to `$NOTIFY_SOCKET` the way `sd_notify(3)` does, without linking libsystemd.
///
/// ```swift
/// let systemd = SystemdNotifier.takeFromEnvironment()   // nil pieces when not run by systemd
/// systemd.notifier?.ready(status: "idle, next cycle in 5m")
/// if let period = systemd.watchdogPeriod { timer.start(every: period) { systemd.notifier?.watchdog() } }
/// systemd.notifier?.stopping()
/// ```
public struct SystemdNotifier: Sendable, Equatable {
    /// The socket as systemd gave it: a path, or `@name` for the abstract namespace.
    public let socketPath: String

    /// Nil when the value is not a socket we can send to (unset, empty, relative, `vsock:`, or too long).
    public init?(socketPath: String) {
        guard socketPath.hasPrefix("/") || socketPath.hasPrefix("@"), socketPath.utf8.count > 1,
              socketPath.utf8.count < Self.sunPathCapacity else { return nil }
        self.socketPath = socketPath
    }

    /// The notifier for `$NOTIFY_SOCKET` in `environment`, or nil when systemd did not ask for notifications.
    public init?(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let value = environment["NOTIFY_SOCKET"] else { return nil }
        self.init(socketPath: value)
    }

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID`, then removes them from this process's
    /// environment so rsync, ssh and the ingest program do not inherit them (a child that speaks sd_notify
    /// would otherwise report for us). Call once at start, before any thread or child exists (`unsetenv`
    /// is not thread-safe).
    public static func takeFromEnvironment() -> (notifier: SystemdNotifier?, watchdogPeriod: Duration?) {
        let environment = ProcessInfo.processInfo.environment
        let notifier = SystemdNotifier(environment: environment)
        let period = watchdogPeriod(environment: environment, pid: getpid())
        for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] { unsetenv(name) }
        return (notifier, period)
    }

    /// How often to send `WATCHDOG=1`: half of `WATCHDOG_USEC`, as sd_watchdog_enabled(3) advises. Nil when
    /// the watchdog is off, or `WATCHDOG_PID` names another process (the pings are not ours to send).
    public static func watchdogPeriod(environment: [String: String], pid: pid_t) -> Duration? {
        guard let interval = watchdogInterval(environment: environment, pid: pid) else { return nil }
        return interval / 2
    }

    /// The full `WATCHDOG_USEC` interval: systemd kills the service when no ping arrives within it.
    public static func watchdogInterval(environment: [String: String], pid: pid_t) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let usec = UInt64(text), usec > 0 else { return nil }
        if let owner = environment["WATCHDOG_PID"] {
            guard let ownerPID = pid_t(owner), ownerPID == pid else { return nil }
        }
        return .microseconds(Int64(clamping: usec))
    }

    /// Startup (or a reload) is complete.
    @discardableResult public func ready(status: String? = nil) -> Bool {
        send("READY=1" + (status.map { "\nSTATUS=" + Self.oneLine($0) } ?? ""))
    }

    /// A reload (SIGHUP) has begun; send `ready()` when it is done. `MONOTONIC_USEC` is what
    /// `Type=notify-reload` (systemd 253+) requires; older systemd ignores it.
    @discardableResult public func reloading() -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let usec = Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
        return send("RELOADING=1\nMONOTONIC_USEC=\(usec)")
    }

    /// Shutdown has begun.
    @discardableResult public func stopping() -> Bool { send("STOPPING=1") }

    /// A one-line status `systemctl status` shows, e.g. "cycle 12: 3 of 5 jobs, 40%".
    @discardableResult public func status(_ text: String) -> Bool { send("STATUS=" + Self.oneLine(text)) }

    /// A watchdog keep-alive ping.
    @discardableResult public func watchdog() -> Bool { send("WATCHDOG=1") }

    /// Sends `state` (newline-separated `KEY=value` assignments) as one datagram; false when it could not
    /// be sent (systemd gone, socket not writable). Never blocks for long: the socket is non-blocking.
    @discardableResult public func send(_ state: String) -> Bool {
        (try? sendOrThrow(state)) != nil
    }

    /// Like `send`, but says why it failed.
    public func sendOrThrow(_ state: String) throws(SystemdNotifyError) {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw SystemdNotifyError(socketPath: socketPath, operation: "socket", errno: errno) }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(socketPath.utf8)
        let abstract = pathBytes.first == UInt8(ascii: "@")
        if abstract { pathBytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
        }
        // Abstract names are exactly their bytes (a trailing NUL would be part of the name); paths end in NUL.
        let length = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + pathBytes.count + (abstract ? 0 : 1)
        let payload = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                payload.withUnsafeBytes { bytes in
                    sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), sa, socklen_t(length))
                }
            }
        }
        guard sent == payload.count else {
            throw SystemdNotifyError(socketPath: socketPath, operation: "sendto", errno: sent < 0 ? errno : EMSGSIZE)
        }
    }

    static let sunPathCapacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)

    /// STATUS is one line of the datagram: a newline inside would start a new assignment.
    static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }
}

/// A notification could not be sent to systemd; names the socket and the system's reason.
public struct SystemdNotifyError: Error, CustomStringConvertible {
    public let socketPath: String
    public let operation: String
    public let errno: Int32
    public var description: String {
        "cannot notify systemd at \(socketPath) (\(operation): \(String(validatingCString: strerror(errno)) ?? "errno \(errno)"))"
    }
}
