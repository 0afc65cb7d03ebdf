import Testing
import UV
#if canImport(Glibc)
import Glibc
#endif

@Suite struct ChildTests {
    @Test func outputHeldOpenByAnEscapedGrandchildIsCutAfterTheGrace() throws {
        let box = Captured()
        var took: UInt64 = 0
        var grandchild: Int32 = 0
        var grandchildAliveAtFinish = false
        try withLoop { loop in
            let start = loop.now
            // setsid puts the grandchild outside our group: only the grace ends our wait for EOF. It holds
            // stdout open for 60 s, far past any loaded machine's delay, and prints its pid first.
            _ = try Child(loop: loop, command: sh("echo before; setsid sleep 60 & echo \"pid $!\"; echo after"),
                          onStdout: { box.stdout += $0 }, outputGraceAfterExit: 200) { status, _ in
                box.status = status
                box.finishedCount += 1
                took = loop.now - start
                let line = box.stdoutText.split(separator: "\n").first { $0.hasPrefix("pid ") }
                grandchild = line.flatMap { Int32($0.dropFirst(4)) } ?? 0
                grandchildAliveAtFinish = grandchild > 0 && !isDead(grandchild)
            }
        }
        if grandchild > 0 { kill(grandchild, SIGKILL) }
        #expect(box.stdoutText.hasPrefix("before\n") && box.stdoutText.hasSuffix("after\n"), "\(box.stdoutText)")
        #expect(box.status?.succeeded == true)
        #expect(box.finishedCount == 1)
        // Finished while the grandchild still held the pipe: the grace cut the wait, not the grandchild's end.
        #expect(grandchildAliveAtFinish, "the grandchild \(grandchild) was gone when the child finished")
        // Not before the grace (loop time only runs late on a loaded machine, never early).
        #expect(took >= 200, "finished \(took) ms after start, before the 200 ms grace")
    }

    @Test func writingToAChildThatAlreadyExitedFailsWithoutKillingUs() throws {
        var writeError: UVError?
        let box = Captured()
        try withLoop { loop in
            // The child closes its stdin, says so, and lives on: we write only after it said so, so the write
            // hits a dead pipe however late either side runs. It lives until the write has failed (ended
            // then), so its exit cannot close our stdin first and cancel the write instead (seen under load).
            var child: Child?
            child = try Child(loop: loop, command: sh("exec 0<&-; echo closed; exec sleep 60", stdin: .pipe),
                              onStdout: { bytes in
                                  box.stdout += bytes
                                  guard box.stdoutText.contains("closed"), let target = child else { return }
                                  child = nil
                                  // SIGPIPE is ignored (Loop.prepareProcess), so this is an EPIPE, not our death.
                                  try? target.write(Array(repeating: 1, count: 300_000)) { error in
                                      writeError = error
                                      target.closeStdin()
                                      target.stop(grace: 5_000)
                                  }
                              }) { status, _ in
                box.status = status
                box.finishedCount += 1
            }
        }
        #expect(writeError?.name == "EPIPE", "\(String(describing: writeError))")
        #expect(box.status?.signal == SIGTERM, "ended by our stop after the failed write: \(String(describing: box.status))")
        #expect(box.finishedCount == 1)
    }

    @Test func stderrWrittenAfterStdoutClosedIsStillCaptured() throws {
        let box = Captured()
        try withLoop { loop in
            // stdout hits EOF first; finishing must still wait for stderr's EOF and the exit.
            try capture(loop, sh("echo out; exec 1>&-; sleep 0.2; echo late-err >&2; exit 4"), into: box)
        }
        #expect(box.stdoutText == "out\n")
        #expect(box.stderrText == "late-err\n")
        #expect(box.status == TerminationStatus(code: 4, signal: 0))
        #expect(box.finishedCount == 1)
    }

    @Test func childWithoutPipesFinishesAtExit() throws {
        var status: TerminationStatus?
        try withLoop { loop in
            _ = try Child(loop: loop, command: Command("/bin/sh", ["-c", "exit 7"], stdout: .ignore, stderr: .ignore)) { s, _ in
                status = s
            }
        }
        #expect(status == TerminationStatus(code: 7, signal: 0))
    }

    @Test func writingWithoutAStdinPipeNamesTheFix() throws {
        try withLoop { loop in
            let child = try Child(loop: loop, command: sh("true")) { _, _ in }
            let error = #expect(throws: UVError.self) { try child.write([1]) }
            #expect(error?.description.contains("stdin: .pipe") == true)
        }
    }
}

/// A file list far larger than a pipe's write queue reaches the child whole (issue: 60,000 names hung a cycle).
@Suite struct ChildStdinFeedTests {
    @Test func aListTenTimesTheQueueLimitReachesTheChildWhole() throws {
        let box = Captured()
        var fed: UVError?? = .none
        let size = 10 * (1 << 20) + 7
        try withLoop { loop in
            let child = try capture(loop, sh("wc -c", stdin: .pipe), into: box)
            #expect(size > (child.stdin?.writeQueueLimit ?? 0))
            child.feedStdin(Array(repeating: 0x61, count: size)) { fed = .some($0) }
        }
        #expect(fed == .some(nil))
        #expect(box.stdoutText.filter { !$0.isWhitespace } == String(size))
        #expect(box.status?.succeeded == true)
    }

    @Test func aChildThatStopsReadingEndsTheFeedWithAnErrorNotAHang() throws {
        let box = Captured()
        var fed: UVError?? = .none
        try withLoop { loop in
            // Reads 1 KiB, then exits: the rest of an 8 MiB list cannot go anywhere.
            let child = try capture(loop, sh("head -c 1024 >/dev/null", stdin: .pipe), into: box)
            child.feedStdin(Array(repeating: 0x61, count: 8 << 20)) { fed = .some($0) }
        }
        #expect(box.status?.succeeded == true)
        let error = try #require(fed ?? nil, "the feed must end with an error")
        #expect(error.name == "EPIPE" || error.name == "ECANCELED")
    }
}
