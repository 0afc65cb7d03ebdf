import MediaSyncCore
import Testing

/// What a user reads when a job attempt fails, and whether mediasync tries again: a wrong call either
/// hammers a source that cannot work (a missing folder, a full disk) or gives up on one that would.
@Suite("job failure")
struct JobFailureTests {
    func attempt(_ what: String = "transfer", code: Int32, signal: Int32 = 0, messages: [RsyncMessage] = [],
                 stop: JobFailure.Stop? = nil, pending: Int = 0) -> JobFailure {
        JobFailure.classify(JobFailure.Attempt(
            job: "gpu1/outputs", what: what, code: code, signal: signal,
            status: signal != 0 ? "killed by signal \(signal) (Killed)" : "exited with status \(code)",
            messages: messages, stop: stop, pendingFiles: pending, stallTimeout: .seconds(120), library: "/srv/media",
            sourceFolder: "/app/outputs", transport: "ssh root@gpu1:22"))
    }

    func remote(_ text: String) -> RsyncMessage { RsyncMessage(severity: .error, origin: .remote, text: text) }

    @Test("a full library disk and a missing folder are final, each with the fix")
    func finalOnes() {
        let full = attempt(code: 11, messages: [RsyncMessage(severity: .error, origin: .rsync,
                                                             text: "rsync: write failed on \"x\": No space left on device (28)")])
        #expect(!full.retryable)
        #expect(full.line == "gpu1/outputs: the library disk is full (/srv/media): No space left on device")
        let missing = attempt("listing", code: 3)
        #expect(!missing.retryable)
        #expect(missing.line.contains("root of /app/outputs does not exist on the source (ssh root@gpu1:22)"))
        #expect(missing.line.contains("check `root:`"))
        let blocked = attempt("listing", code: 5, messages: [remote("sh: 10: cd: can't cd to outputs")])
        #expect(!blocked.retryable)
        #expect(blocked.line == "gpu1/outputs: /app/outputs exists on the source (ssh root@gpu1:22) but cannot be entered (not a folder, or no permission): sh: 10: cd: can't cd to outputs")
        let noRsync = attempt(code: 127, messages: [remote("bash: line 1: rsync: command not found")])
        #expect(!noRsync.retryable && noRsync.line.contains("install it there"))
    }

    @Test("files that arrived but that the library refused are named with the call and the file system, not 'did not arrive'")
    func libraryRefused() {
        let refused = attempt(code: 0, messages: [RsyncMessage(severity: .error, origin: .rsync,
            text: JobFailure.libraryPrefix + "link into library (link) (the library is on fuseblk on /dev/sdb1): /mnt/usb/a.png: Operation not permitted")],
            pending: 20)
        #expect(refused.line == "gpu1/outputs: 20 files arrived but could not be moved into the library: link into library (link) (the library is on fuseblk on /dev/sdb1): /mnt/usb/a.png: Operation not permitted")
        #expect(!refused.retryable)
        let missing = attempt(code: 0, pending: 2)
        #expect(missing.line.contains("2 planned files did not arrive in staging") && missing.retryable)
    }

    @Test("a stall, a dropped connection and a stopped container are tried again")
    func retried() {
        let stalled = attempt(code: 20, signal: 15, stop: .stalled)
        #expect(stalled.retryable)
        #expect(stalled.line == "gpu1/outputs: no progress for 2m; transfer was stopped")
        #expect(attempt(code: 12).retryable)
        #expect(attempt(code: 255, messages: [RsyncMessage(severity: .error, origin: .ssh,
                                                            text: "ssh: connect to host gpu1 port 22: Connection refused")]).retryable)
        let stopped = attempt(code: 1, messages: [remote("Error response from daemon: container abc is not running")])
        #expect(stopped.retryable, "docker's exit 1 for a stopped container is worth another try")
        #expect(attempt(code: 1).retryable == false, "rsync's own exit 1 is a syntax error: final")
    }

    @Test("rsync exiting 0 with planned files missing is retried and says how many")
    func missingFiles() {
        let short = attempt(code: 0, pending: 3)
        #expect(short.retryable)
        #expect(short.line == "gpu1/outputs: rsync finished but 3 planned files did not arrive in staging")
    }

    @Test("a cancel is never retried; a killed child names the signal")
    func cancelAndSignal() {
        let cancelled = attempt(code: 20, signal: 15, stop: .cancelled)
        #expect(!cancelled.retryable && cancelled.line == "gpu1/outputs: cancelled")
        #expect(attempt(code: 20, signal: 9).line == "gpu1/outputs: transfer was killed by signal 9 (Killed)")
    }
}
