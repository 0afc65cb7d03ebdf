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
        var keeperSeen = 0
        try withLoop { loop in
            let watcher = try Signal(loop: loop)
            try watcher.start(SIGUSR2, once: true) { _ in received += 1 }
            // A second, lasting watcher keeps SIGUSR2 handled so the second signal cannot kill
            // the test process; it sends that second signal only after seeing the first.
            let keeper = try Signal(loop: loop)
            try keeper.start(SIGUSR2) { _ in
                keeperSeen += 1
                if keeperSeen == 1 {
                    kill(getpid(), SIGUSR2)
                } else {
                    keeper.close()
                    watcher.close()
                }
            }
            let sender = try Timer(loop: loop)
            sender.start(after: 5) {
                kill(getpid(), SIGUSR2)
                sender.close()
            }
        }
        #expect(received == 1)
        #expect(keeperSeen == 2)
    }
}
