import Testing
import UV
#if canImport(Glibc)
import Glibc
#endif

/// Echoes each received line back on the same connection, and counts what it saw.
final class EchoServer {
    var connections = 0
    var endedClean = 0
    var writeErrors: [UVError] = []
    let server: UnixServer

    init(loop: Loop, path: String, expected: Int) throws {
        server = try UnixServer(loop: loop, path: path)
        try server.listen { [unowned self] client in
            connections += 1
            var pending: [UInt8] = []
            try? client.startReading(onData: { bytes in
                pending += bytes
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = Array(pending[...newline])
                    pending.removeSubrange(...newline)
                    try? client.write(line) { error in if let error { self.writeErrors.append(error) } }
                }
            }, onEnd: { error in
                if error == nil { self.endedClean += 1 }
                client.close()
                if self.connections == expected { self.server.close() }
            })
        }
    }
}

@Suite struct UnixSocketTests {
    @Test func fiftyClientsEachGetTheirLineEchoed() throws {
        let folder = makeTempFolder()
        defer { removeTree(folder) }
        let path = "\(folder)/echo.sock"
        var echoed: [Int: String] = [:]
        var echo: EchoServer!
        try withLoop { loop in
            echo = try EchoServer(loop: loop, path: path, expected: 50)
            for i in 0..<50 {
                try UnixClient.connect(loop: loop, path: path) { result in
                    guard case .success(let pipe) = result else { Issue.record("connect \(i) failed"); return }
                    var received: [UInt8] = []
                    try? pipe.startReading(onData: { bytes in
                        received += bytes
                        if received.last == UInt8(ascii: "\n") {
                            echoed[i] = String(decoding: received, as: UTF8.self)
                            pipe.close()
                        }
                    }, onEnd: { _ in pipe.close() })
                    try? pipe.write("client \(i) says hi\n")
                }
            }
        }
        #expect(echoed.count == 50)
        #expect(echoed.allSatisfy { $0.value == "client \($0.key) says hi\n" })
        #expect(echo.connections == 50)
        #expect(echo.endedClean == 50)
        #expect(access(path, F_OK) != 0)  // close() removed the socket file
    }

    @Test func clientLeavingMidWriteDoesNotStopTheServer() throws {
        let folder = makeTempFolder()
        defer { removeTree(folder) }
        let path = "\(folder)/s.sock"
        var firstConnected = false
        var secondEcho = ""
        var echo: EchoServer!
        try withLoop { loop in
            echo = try EchoServer(loop: loop, path: path, expected: 2)
            try UnixClient.connect(loop: loop, path: path) { result in
                guard case .success(let quitter) = result else { return }
                firstConnected = true
                // Half a line, then gone: the server sees the connection end and moves on.
                try? quitter.write("half a li")
                quitter.close()
                try? UnixClient.connect(loop: loop, path: path) { result in
                    guard case .success(let pipe) = result else { return }
                    try? pipe.startReading(onData: { secondEcho += String(decoding: $0, as: UTF8.self) },
                                           onEnd: { _ in pipe.close() })
                    try? pipe.write("second\n") { _ in try? pipe.shutdown() }
                }
            }
        }
        #expect(firstConnected)
        #expect(secondEcho == "second\n")
        #expect(echo.connections == 2)
    }

    @Test func serverWritingToAVanishedClientGetsAnErrorAndServesTheNext() throws {
        let folder = makeTempFolder()
        defer { removeTree(folder) }
        let path = "\(folder)/big.sock"
        var writeError: UVError?
        var nextServed = false
        try withLoop { loop in
            let server = try UnixServer(loop: loop, path: path)
            var served = 0
            try server.listen { client in
                served += 1
                if served == 1 {
                    client.writeQueueLimit = 16 << 20
                    // 8 MB for a client that reads a little and then hangs up.
                    try? client.write([UInt8](repeating: 7, count: 8 << 20)) { error in
                        writeError = error
                        client.close()
                    }
                } else {
                    try? client.write("welcome\n") { _ in client.close() }
                    server.close()
                }
            }
            try UnixClient.connect(loop: loop, path: path) { result in
                guard case .success(let pipe) = result else { return }
                var got = 0
                try? pipe.startReading(onData: { bytes in
                    got += bytes.count
                    if got > 100_000, pipe.state == .open {
                        pipe.close()
                        try? UnixClient.connect(loop: loop, path: path) { result in
                            guard case .success(let next) = result else { return }
                            try? next.startReading(onData: { nextServed = String(decoding: $0, as: UTF8.self) == "welcome\n" },
                                                   onEnd: { _ in next.close() })
                        }
                    }
                }, onEnd: { _ in pipe.close() })
            }
        }
        #expect(writeError != nil)
        #expect(writeError.map { ["EPIPE", "ECONNRESET"].contains($0.name) } == true)
        #expect(nextServed)
    }

    @Test func writeQueueRefusesOnceAClientStopsReading() throws {
        let folder = makeTempFolder()
        defer { removeTree(folder) }
        let path = "\(folder)/slow.sock"
        let limit = 256 * 1024
        let chunk = [UInt8](repeating: 1, count: 64 * 1024)
        var accepted = 0
        var refusal: UVError?
        var highWater = 0
        var drained = 0
        var delivered = 0
        try withLoop { loop in
            let server = try UnixServer(loop: loop, path: path)
            var slowClient: Pipe?
            try server.listen { connection in
                server.close()
                connection.writeQueueLimit = limit
                let pump = try! Timer(loop: loop)
                pump.start(after: 1, repeat: 1) {
                    do throws(UVError) {
                        try connection.write(chunk)
                        accepted += chunk.count
                        highWater = max(highWater, connection.queuedBytes)
                    } catch {
                        refusal = error
                        pump.close()
                        // A producer resumes on drain; here it says goodbye once the queue is empty.
                        connection.onDrain = {
                            drained += 1
                            try? connection.shutdown { _ in connection.close() }
                        }
                        // Now the client reads: everything we accepted must arrive.
                        try? slowClient?.startReading(onData: { delivered += $0.count },
                                                      onEnd: { _ in slowClient?.close() })
                    }
                }
            }
            // After listen: connecting to a bound socket that does not listen yet is refused.
            try UnixClient.connect(loop: loop, path: path) { result in
                if case .success(let pipe) = result { slowClient = pipe }  // connected, not reading
            }
        }
        #expect(refusal?.isQueueFull == true)
        #expect(refusal?.description.contains("limit \(limit)") == true)
        #expect(highWater <= limit)
        // The kernel's socket buffer took some, the queue the rest: bounded, not unbounded.
        #expect(accepted > limit && accepted < 16 * limit)
        #expect(delivered == accepted)
        #expect(drained == 1)
    }

    @Test func tooLongPathIsRejectedWithTheLimit() throws {
        let path = "/tmp/" + String(repeating: "d", count: 120) + ".sock"
        try withLoop { loop in
            let error = #expect(throws: UVError.self) { _ = try UnixServer(loop: loop, path: path) }
            #expect(error?.name == "ENAMETOOLONG")
            #expect(error?.description.contains(path) == true)
            #expect(error?.description.contains("\(path.utf8.count) bytes") == true)
            #expect(error?.description.contains("107") == true)
            let connectError = #expect(throws: UVError.self) {
                try UnixClient.connect(loop: loop, path: path) { _ in Issue.record("must not run") }
            }
            #expect(connectError?.description.contains("connect to \(path)") == true)
        }
        #expect(access(path, F_OK) != 0)
    }

    @Test func peerCredentialsNameOurOwnProcess() throws {
        let folder = makeTempFolder()
        defer { removeTree(folder) }
        let path = "\(folder)/cred.sock"
        var serverSide: PeerCredentials?
        var clientSide: PeerCredentials?
        try withLoop { loop in
            let server = try UnixServer(loop: loop, path: path)
            try server.listen { client in
                serverSide = client.peerCredentials()
                client.close()
                server.close()
            }
            try UnixClient.connect(loop: loop, path: path) { result in
                if case .success(let pipe) = result {
                    clientSide = pipe.peerCredentials()
                    pipe.close()
                }
            }
        }
        let me = PeerCredentials(pid: getpid(), uid: getuid(), gid: getgid())
        #expect(serverSide == me)
        #expect(clientSide == me)
    }

    @Test func connectingWhereNoServerListensFailsWithENOENT() throws {
        let folder = makeTempFolder()
        defer { removeTree(folder) }
        var failure: UVError?
        try withLoop { loop in
            try UnixClient.connect(loop: loop, path: "\(folder)/nobody.sock") { result in
                if case .failure(let error) = result { failure = error }
            }
        }
        #expect(failure?.isNotFound == true)
        #expect(failure?.description.contains("connect to \(folder)/nobody.sock") == true)
    }

    @Test func secondServerOnTheSamePathIsRefusedWithAHint() throws {
        let folder = makeTempFolder()
        defer { removeTree(folder) }
        let path = "\(folder)/busy.sock"
        try withLoop { loop in
            let first = try UnixServer(loop: loop, path: path)
            try first.listen { $0.close() }
            let error = #expect(throws: UVError.self) { _ = try UnixServer(loop: loop, path: path) }
            #expect(error?.name == "EADDRINUSE")
            #expect(error?.description.contains("stale socket") == true)
            first.close()
        }
    }
}
