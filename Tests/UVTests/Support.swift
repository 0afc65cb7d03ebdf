import Testing
import UV
#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` on a fresh loop, runs the loop to completion and asserts it closes cleanly
/// (uv_loop_close == 0): every test leaves no handle behind. The run has a limit: a handle that never
/// closes fails the test (naming what was still open) instead of hanging the whole suite.
func withLoop(limitSeconds: UInt64 = 120, _ body: (Loop) throws -> Void) throws {
    Loop.prepareProcess()
    let loop = try Loop()
    try body(loop)
    // Unreferenced: it never keeps the loop alive by itself, so a test that ends normally never sees it fire.
    let watchdog = try Timer(loop: loop)
    watchdog.isReferenced = false
    watchdog.start(after: limitSeconds * 1000) {
        Issue.record("the loop still ran after \(limitSeconds) s with \(loop.openHandleKinds) open; closing them")
        loop.closeAll()
    }
    loop.run()
    watchdog.close()
    loop.run()
    #expect(loop.openHandleKinds == [])
    try loop.close()
}

/// A fresh folder under /tmp (short enough for socket paths), removed by the caller's defer.
func makeTempFolder() -> String {
    var template = Array("/tmp/uvt-XXXXXX".utf8CString)
    let path = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    return String(cString: path!)
}

func removeTree(_ path: String) {
    _ = path.withCString { _ in system("rm -rf '\(path)'") }
}

/// Runs a shell snippet as a child and collects its output byte-exact.
final class Captured {
    var stdout: [UInt8] = []
    var stderr: [UInt8] = []
    var status: TerminationStatus?
    var finishedCount = 0
    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

@discardableResult
func capture(_ loop: Loop, _ command: Command, into box: Captured,
             then: ((Child) -> Void)? = nil) throws -> Child {
    let child = try Child(loop: loop, command: command,
                          onStdout: { box.stdout.append(contentsOf: $0) },
                          onStderr: { box.stderr.append(contentsOf: $0) },
                          onFinished: { status, child in
                              box.status = status
                              box.finishedCount += 1
                              then?(child)
                          })
    return child
}

func sh(_ script: String, stdin: Stdio = .ignore) -> Command {
    Command("/bin/sh", ["-c", script], stdin: stdin)
}

/// Whether `pid` is dead (`isDead`) within `seconds`: a process killed by a signal has closed its files (its
/// pipe's end) a moment before the kernel marks it a zombie, and on a loaded machine that moment can be seen.
func diesSoon(_ pid: Int32, within seconds: Double = 5) -> Bool {
    for _ in 0..<Int(seconds * 100) {
        if isDead(pid) { return true }
        usleep(10_000)
    }
    return isDead(pid)
}

/// Whether `pid` is gone or only a zombie waiting for someone else (init) to reap it.
func isDead(_ pid: Int32) -> Bool {
    guard let file = fopen("/proc/\(pid)/stat", "r") else { return true }
    defer { fclose(file) }
    var buffer = [UInt8](repeating: 0, count: 512)
    let count = fread(&buffer, 1, 511, file)
    let line = String(decoding: buffer[..<count], as: UTF8.self)
    guard let close = line.lastIndex(of: ")") else { return true }
    let state = line[line.index(close, offsetBy: 2)]
    return state == "Z" || state == "X"
}
