import Foundation
import MediaSyncEngine
import Testing

/// A datagram socket bound where systemd's would be, to receive what the notifier sends.
private final class NotifyListener {
    let fd: Int32
    let name: String
    /// `name` is a file path, or `@something` for the abstract namespace.
    init(name: String) throws {
        self.name = name
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(name.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count + (abstract ? 0 : 1)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(length)) }
        }
        guard rc == 0 else { throw CocoaError(.fileWriteUnknown) }
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }
    /// The next datagram, or nil after 3 s.
    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n < 0 ? nil : String(decoding: buffer[0..<n], as: UTF8.self)
    }
    deinit {
        close(fd)
        if !name.hasPrefix("@") { unlink(name) }
    }
}

@Suite struct LogSystemdNotifierTests {
    @Test func sendsReadyStatusReloadingStoppingAndWatchdogToAPathSocket() throws {
        let dir = try LogTestDir()
        defer { dir.remove() }
        let listener = try NotifyListener(name: dir.path + "/notify")
        let notifier = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.name]))
        #expect(notifier.ready(status: "idle\nnext cycle in 5m"))
        #expect(listener.receive() == "READY=1\nSTATUS=idle next cycle in 5m")
        #expect(notifier.status("cycle 3: 2 of 4 jobs"))
        #expect(listener.receive() == "STATUS=cycle 3: 2 of 4 jobs")
        #expect(notifier.reloading())
        let reload = try #require(listener.receive())
        #expect(reload.hasPrefix("RELOADING=1\nMONOTONIC_USEC="))
        #expect(UInt64(reload.split(separator: "=").last ?? "") ?? 0 > 0)
        #expect(notifier.watchdog())
        #expect(listener.receive() == "WATCHDOG=1")
        #expect(notifier.stopping())
        #expect(listener.receive() == "STOPPING=1")
    }

    @Test func sendsToAnAbstractSocket() throws {
        let name = "@mediasync-test-\(UUID().uuidString)"
        let listener = try NotifyListener(name: name)
        let notifier = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": name]))
        #expect(notifier.ready())
        #expect(listener.receive() == "READY=1")
    }

    @Test func aGoneSocketIsReportedNotFatal() throws {
        let dir = try LogTestDir()
        defer { dir.remove() }
        let notifier = try #require(SystemdNotifier(socketPath: dir.path + "/nobody-listens"))
        #expect(!notifier.ready())
        let error = #expect(throws: SystemdNotifyError.self) { try notifier.sendOrThrow("READY=1") }
        #expect(error?.description.contains(dir.path + "/nobody-listens") == true)
    }

    @Test func onlyUsableSocketValuesMakeANotifier() {
        #expect(SystemdNotifier(environment: [:]) == nil)
        #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": ""]) == nil)
        #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": "run/notify"]) == nil)
        #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": "vsock:2:1234"]) == nil)
        #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": "/" + String(repeating: "a", count: 120)]) == nil)
        #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": "/run/systemd/notify"])?.socketPath == "/run/systemd/notify")
    }

    @Test func watchdogPeriodIsHalfTheIntervalAndOnlyForTheNamedProcess() {
        let pid: pid_t = 4242
        #expect(SystemdNotifier.watchdogPeriod(environment: ["WATCHDOG_USEC": "120000000"], pid: pid) == .seconds(60))
        #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "120000000"], pid: pid) == .seconds(120))
        #expect(SystemdNotifier.watchdogPeriod(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "4242"], pid: pid)
                == .seconds(15))
        #expect(SystemdNotifier.watchdogPeriod(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "4243"], pid: pid) == nil)
        #expect(SystemdNotifier.watchdogPeriod(environment: ["WATCHDOG_USEC": "0"], pid: pid) == nil)
        #expect(SystemdNotifier.watchdogPeriod(environment: ["WATCHDOG_USEC": "soon"], pid: pid) == nil)
        #expect(SystemdNotifier.watchdogPeriod(environment: [:], pid: pid) == nil)
    }
}
