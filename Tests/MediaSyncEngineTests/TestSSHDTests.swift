import Foundation
import Testing

/// The test sshd is what every ssh end-to-end test stands on; if it cannot serve, say so plainly.
@Suite("test sshd on loopback")
struct TestSSHDTests {
    @Test("serves a command with the test key, and a shifted clock when asked")
    func servesAndShiftsClock() throws {
        let plain = try TestSSHD()
        let ahead = try TestSSHD(clockOffset: "+2d")
        func remoteNow(_ server: TestSSHD) throws -> Int {
            let out = try Tool.check(["/usr/bin/ssh"] + server.clientOptions + ["root@127.0.0.1", "date +%s"])
            return try #require(Int(out.trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        let hostNow = Int(Date().timeIntervalSince1970)
        #expect(abs(try remoteNow(plain) - hostNow) < 60)
        #expect(abs(try remoteNow(ahead) - hostNow - 2 * 86_400) < 60)
    }
}
