import Testing
import UV
#if canImport(Glibc)
import Glibc
#endif

@Suite struct LoopTests {
    @Test func handleStatesGoOpenClosingClosed() throws {
        var states: [Handle.State] = []
        try withLoop { loop in
            let timer = try Timer(loop: loop)
            states.append(timer.state)
            timer.close()
            states.append(timer.state)
            loop.run()
            states.append(timer.state)
            // Everything refuses politely once closed.
            timer.start(after: 1) { Issue.record("a closed timer fired") }
            #expect(timer.isActive == false)
        }
        #expect(states == [.open, .closing, .closed])
    }

    @Test func closeAllTearsDownEveryKindOfHandle() throws {
        Loop.prepareProcess()
        let folder = makeTempFolder()
        defer { removeTree(folder) }
        let loop = try Loop()
        let timer = try Timer(loop: loop)
        timer.start(after: 60_000) { Issue.record("timer outlived teardown") }
        let signal = try Signal(loop: loop)
        try signal.start(SIGWINCH) { _ in }
        let async = try Async(loop: loop) {}
        let server = try UnixServer(loop: loop, path: "\(folder)/t.sock")
        try server.listen { $0.close() }
        let child = try Child(loop: loop, command: Command("sleep", ["60"])) { _, _ in }
        loop.runOnce(nowait: true)
        // A child is watched through its pidfd: a "poll" handle.
        #expect(Set(loop.openHandleKinds).isSuperset(of: ["timer", "signal", "async", "pipe", "poll"]))
        loop.closeAll()
        #expect(loop.openHandleKinds == [])
        try loop.close()
        #expect(timer.state == .closed && signal.state == .closed && async.state == .closed)
        #expect(server.isListening == false)
        #expect(child.process.state == .closed)
        #expect(waitpid(child.pid, nil, WNOHANG) == -1 && errno == ECHILD)
        #expect(async.sender.send() == false)
    }

    @Test func nowAdvancesWithTheLoopClock() throws {
        var seen: UInt64 = 0
        var start: UInt64 = 0
        try withLoop { loop in
            start = loop.now
            let timer = try Timer(loop: loop)
            timer.start(after: 30) {
                seen = loop.now
                timer.close()
            }
        }
        #expect(seen - start >= 30)
    }

    @Test func stopMakesRunReturnWithWorkLeft() throws {
        let loop = try Loop()
        let forever = try Timer(loop: loop)
        forever.start(after: 1, repeat: 1) { loop.stop() }
        #expect(loop.run() == true)  // returned early: the repeating timer still runs
        forever.close()
        #expect(loop.run() == false)
        try loop.close()
    }

    @Test func unreferencedHandleLetsRunReturn() throws {
        let loop = try Loop()
        let housekeeping = try Timer(loop: loop)
        housekeeping.start(after: 60_000) {}
        housekeeping.isReferenced = false
        #expect(loop.run() == false)
        housekeeping.close()
        loop.run()
        try loop.close()
    }
}
