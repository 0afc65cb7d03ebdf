import Testing
@testable import UV
#if canImport(Glibc)
import Glibc
#endif

/// Every process test runs both ways a child can be started: posix_spawn with a pidfd (`forks: false`, what
/// runs) and libuv's uv_spawn (`forks: true`, what a kernel without pidfd_open gets). Serialized: a fork
/// makes every page of this process copy-on-write, which the no-fork test counts.
@Suite(.serialized) struct ProcessTests {
    @Test(arguments: [false, true]) func stdoutAndStderrCapturedByteExactWithExitStatus(forks: Bool) throws {
        let box = Captured()
        try withLoop { loop in
            try capture(loop, sh("printf 'out\\0line\\n'; printf 'err\\377' >&2; exit 3").started(forking: forks), into: box)
        }
        #expect(box.stdout == Array("out\0line\n".utf8))
        #expect(box.stderr == [0x65, 0x72, 0x72, 0xFF])
        #expect(box.status == TerminationStatus(code: 3, signal: 0))
        #expect(box.finishedCount == 1)
    }

    @Test func largeOutputArrivesComplete() throws {
        let box = Captured()
        try withLoop { loop in
            // 3 MB of a known pattern: every byte must arrive, in order.
            try capture(loop, sh("head -c 3000000 /dev/zero | tr '\\0' 'x'; echo end"), into: box)
        }
        #expect(box.stdout.count == 3_000_004)
        #expect(box.stdout.prefix(3_000_000).allSatisfy { $0 == UInt8(ascii: "x") })
        #expect(box.stdoutText.hasSuffix("end\n"))
        #expect(box.status?.succeeded == true)
    }

    /// rsync writes a line or two per small file: 64 KiB held about 600 files' worth, and a loop busy for a moment
    /// stopped every child at a full pipe (0.5-0.8 s of blocked writes in one local sync of 20,000 small files).
    /// A child's stdout now holds 512 KiB: 200 KiB are written, and the child gone, before anyone reads.
    @Test(arguments: [false, true]) func aChildWrites200KiBWhileNobodyReads(forks: Bool) throws {
        var unreadAtExit = false
        var read = 0
        try withLoop { loop in
            let process = try Process(loop: loop, command: Command("/bin/sh", ["-c", "head -c 204800 /dev/zero"],
                                                                    stderr: .ignore).started(forking: forks))
            let giveUp = try Timer(loop: loop)
            var draining = false
            func drain() {
                guard !draining else { return }
                draining = true
                giveUp.close()
                try? process.stdout?.startReading(onData: { read += $0.count }, onEnd: { _ in
                    process.stdout?.close()
                    process.close()
                })
            }
            process.onExit = { _ in
                unreadAtExit = read == 0
                drain()
            }
            // Blocked at a full pipe, the child never exits on its own: read then, so the test ends (and fails).
            giveUp.start(after: 15_000) { drain() }
        }
        #expect(unreadAtExit)
        #expect(read == 204_800)
    }

    @Test func outputWrittenByAGrandchildAfterTheChildExitedIsStillRead() throws {
        let box = Captured()
        var exitedBeforeLateOutput = false
        try withLoop { loop in
            // The grandchild writes only once the shell is gone and reaped (kill -0 fails then),
            // so "late" is read after the exit callback: finishing must wait for its EOF.
            let script = "(while kill -0 $$ 2>/dev/null; do sleep 0.02; done; echo late) & echo early"
            var child: Child?
            child = try Child(loop: loop, command: sh(script), onStdout: { bytes in
                if String(decoding: bytes, as: UTF8.self).contains("late") {
                    exitedBeforeLateOutput = child?.exitStatus != nil
                }
                box.stdout += bytes
            }) { status, _ in
                box.status = status
                box.finishedCount += 1
                child = nil
            }
        }
        #expect(exitedBeforeLateOutput)
        #expect(box.stdoutText == "early\nlate\n")
        #expect(box.status?.succeeded == true)
        #expect(box.finishedCount == 1)
    }

    @Test(arguments: [false, true]) func childKilledBySignalReportsTheSignal(forks: Bool) throws {
        let box = Captured()
        try withLoop { loop in
            try capture(loop, sh("kill -9 $$").started(forking: forks), into: box)
        }
        #expect(box.status == TerminationStatus(code: 0, signal: SIGKILL))
        #expect(box.status?.description.contains("killed by signal 9") == true)
    }

    @Test(arguments: [false, true]) func stdinWrittenIsEchoedBackByCat(forks: Bool) throws {
        let box = Captured()
        var payload: [UInt8] = []
        for i in 0..<200_000 { payload.append(UInt8(truncatingIfNeeded: i &* 31)) }
        var writeResult: UVError?? = .none
        try withLoop { loop in
            let child = try capture(loop, Command("cat", stdin: .pipe).started(forking: forks), into: box)
            child.stdin?.writeQueueLimit = 1 << 20
            try child.write(payload) { writeResult = .some($0) }
            child.closeStdin()
        }
        #expect(box.stdout == payload)
        #expect(writeResult == .some(nil))
        #expect(box.status?.succeeded == true)
    }

    @Test(arguments: [false, true]) func childIgnoringTermIsKilledWithItsGrandchildrenAfterGrace(forks: Bool) throws {
        let box = Captured()
        var pid: Int32 = 0
        var start: UInt64 = 0
        var finishedAfter: UInt64 = 0
        try withLoop { loop in
            // Both the shell and its `sleep` ignore TERM; only the group KILL ends them. The stop
            // starts once the grandchild's pid is printed, i.e. after the trap is in place.
            var child: Child?
            child = try Child(loop: loop, command: sh("trap '' TERM; sleep 30 & echo $!; wait; wait").started(forking: forks),
                              onStdout: { bytes in
                                  box.stdout += bytes
                                  if start == 0 {
                                      start = loop.now
                                      child?.stop(grace: 300)
                                  }
                              }) { status, _ in
                box.status = status
                finishedAfter = loop.now - start
                child = nil
            }
            pid = child!.pid
        }
        let grandchild = Int32(box.stdoutText.split(separator: "\n").first ?? "") ?? 0
        #expect(grandchild > 0)
        #expect(box.status?.signal == SIGKILL)
        #expect(finishedAfter >= 300 && finishedAfter < 5_000)
        // Killed with the group; its pipe's end closed, so it is dying (a `sleep 30` left alive would not be).
        #expect(diesSoon(grandchild))
        // Reaped by the loop: no zombie of ours left.
        #expect(waitpid(pid, nil, WNOHANG) == -1 && errno == ECHILD)
        #expect(isDead(pid))
    }

    @Test func childThatHonoursTermEndsWithoutWaitingForTheGrace() throws {
        let box = Captured()
        var took: UInt64 = 0
        let clock = ContinuousClock()
        let began = clock.now
        try withLoop { loop in
            var start: UInt64 = 0
            let child = try capture(loop, sh("sleep 30"), into: box) { _ in took = loop.now - start }
            let stopper = try Timer(loop: loop)
            stopper.start(after: 50) {
                start = loop.now
                child.stop(grace: 120_000)
                stopper.close()
            }
        }
        #expect(box.status?.signal == SIGTERM)
        // A grace of two minutes against bounds of 30 s: a loaded machine cannot blur the two.
        #expect(took < 30_000, "the child ended \(took) ms after SIGTERM")
        // The kill timer was dropped once the group was gone: the loop did not wait out the grace.
        #expect(clock.now - began < .seconds(30))
    }

    @Test(arguments: [false, true]) func missingExecutableGivesClearError(forks: Bool) throws {
        try withLoop { loop in
            let error = #expect(throws: UVError.self) {
                _ = try Child(loop: loop, command: Command("mediasync-no-such-tool", ["x"]).started(forking: forks)) { _, _ in }
            }
            #expect(error?.isNotFound == true)
            #expect(error?.description.contains("spawn mediasync-no-such-tool: ENOENT") == true)
            #expect(error?.description.contains("PATH=") == true)
        }
    }

    @Test(arguments: [false, true]) func missingWorkingFolderIsNamed(forks: Bool) throws {
        try withLoop { loop in
            let error = #expect(throws: UVError.self) {
                _ = try Process(loop: loop, command: Command("/bin/true", workingDirectory: "/nonexistent/uv-folder").started(forking: forks))
            }
            #expect(error?.description.contains("/nonexistent/uv-folder") == true)
        }
    }

    @Test(arguments: [false, true]) func environmentAndWorkingFolderAreGiven(forks: Bool) throws {
        let box = Captured()
        let folder = makeTempFolder()
        defer { removeTree(folder) }
        try withLoop { loop in
            try capture(loop, Command("/bin/sh", ["-c", "echo \"$GREETING\"; pwd; echo \"${HOME:-nohome}\""],
                                      environment: ["GREETING": "hello world", "PATH": "/usr/bin:/bin"],
                                      workingDirectory: folder).started(forking: forks), into: box)
        }
        #expect(box.stdoutText == "hello world\n\(folder)\nnohome\n")
    }

    @Test(arguments: [false, true]) func childLeadsItsOwnProcessGroupAndSession(forks: Bool) throws {
        let box = Captured()
        var pid: Int32 = 0
        try withLoop { loop in
            pid = try capture(loop, sh("ps -o pgid=,sid= -p $$ 2>/dev/null || cut -d' ' -f5,6 /proc/$$/stat").started(forking: forks), into: box).pid
        }
        let ids = box.stdoutText.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int32($0) }
        #expect(ids == [pid, pid])
    }

    @Test(arguments: [false, true]) func closeAllKillsARunningChildSoTheLoopCanClose(forks: Bool) throws {
        Loop.prepareProcess()
        let loop = try Loop()
        var status: TerminationStatus?
        let process = try Process(loop: loop, command: Command("sleep", ["30"], stdout: .ignore, stderr: .ignore).started(forking: forks))
        process.onExit = { status = $0 }
        let pid = process.pid
        loop.runOnce(nowait: true)
        loop.closeAll()
        try loop.close()
        #expect(status == nil)  // teardown drops the callback
        #expect(waitpid(pid, nil, WNOHANG) == -1 && errno == ECHILD)
    }

    @Test("a child is started without copying this process: writing 64 MB after a spawn takes no copy-on-write fault")
    func startedWithoutFork() throws {
        // After a fork every page of the parent is copy-on-write until written once more: each write then
        // faults (and on a multi-threaded daemon flushes the other CPUs' TLBs). posix_spawn shares the memory
        // with the child until its exec and leaves the pages alone. Counted on this thread (RUSAGE_THREAD).
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let size = 64 << 20
        let memory = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: pageSize)
        defer { memory.deallocate() }
        func writeEveryPage(_ value: UInt8) {
            for offset in stride(from: 0, to: size, by: pageSize) { memory.storeBytes(of: value, toByteOffset: offset, as: UInt8.self) }
        }
        func faults() -> Int {
            var usage = rusage()
            getrusage(__rusage_who_t(1), &usage)   // RUSAGE_THREAD
            return usage.ru_minflt
        }
        writeEveryPage(1)   // every page is ours and mapped before the count
        var counted: [Bool: Int] = [:]
        for forks in [false, true] {
            try withLoop { loop in
                let process = try Process(loop: loop, command: Command("/bin/true", stdout: .ignore, stderr: .ignore).started(forking: forks))
                let before = faults()
                writeEveryPage(forks ? 3 : 2)
                counted[forks] = faults() - before
                _ = process
            }
        }
        let pages = size / pageSize
        #expect(counted[false]! < pages / 16, "posix_spawn: \(counted[false]!) faults writing \(pages) pages")
        #expect(counted[true]! > pages / 2, "uv_spawn's fork: \(counted[true]!) faults writing \(pages) pages (the check can fail)")
    }
}

extension Command {
    /// This command started with libuv's fork (`forking`) or posix_spawn.
    func started(forking: Bool) -> Command {
        var command = self
        command.forks = forking
        return command
    }
}
