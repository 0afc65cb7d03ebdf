import Testing
import UV
#if canImport(Glibc)
import Glibc
#endif

@Suite struct SignalTests {
    // SIGUSR1 is used by this test only: a parallel test raising it without a watcher would kill us.
    @Test func realSignalReachesTheWatcherOnce() throws {
        var received: [Int32] = []
        try withLoop { loop in
            let watcher = try Signal(loop: loop)
            try watcher.start(SIGUSR1) { signum in
                received.append(signum)
                watcher.close()
            }
            let sender = try Timer(loop: loop)
            sender.start(after: 5) {
                kill(getpid(), SIGUSR1)
                sender.close()
            }
        }
        #expect(received == [SIGUSR1])
    }

    // The test threads may block signals sent with raise(); kill(getpid()) reaches any thread.
    @Test func oneShotWatcherFiresForTheFirstSignalOnly() throws {
        var received = 0
        try withLoop { loop in
            let watcher = try Signal(loop: loop)
            try watcher.start(SIGUSR2, once: true) { _ in received += 1 }
            // A second watcher keeps SIGUSR2 handled so the second raise cannot kill the process.
            var guardSeen = 0
            let keeper = try Signal(loop: loop)
            try keeper.start(SIGUSR2) { _ in
                guardSeen += 1
                if guardSeen == 2 {
                    keeper.close()
                    watcher.close()
                }
            }
            let sender = try Timer(loop: loop)
            sender.start(after: 5, repeat: 10) {
                kill(getpid(), SIGUSR2)
                if guardSeen >= 1 { sender.close() ; kill(getpid(), SIGUSR2) }
            }
        }
        #expect(received == 1)
    }
}
