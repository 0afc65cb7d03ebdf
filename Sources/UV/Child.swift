#if canImport(Glibc)
import Glibc
#endif

/// A child process together with its pipes, reported finished only once it has exited AND all
/// of its output has been read to EOF (libuv delivers these in no fixed order; neovim's proc.c
/// waits for both the same way). The engine runs rsync through this.
///
///     let child = try Child(loop: loop, command: Command("rsync", args),
///                           onStdout: { bytes in parser.feed(bytes) },
///                           onFinished: { status, child in job.exited(status) })
///     child.stop(grace: 5_000)
public final class Child {
    public let process: Process
    /// The child's pid (and process group).
    public var pid: Int32 { process.pid }
    /// Set when the child has exited, possibly before its output is fully read.
    public var exitStatus: TerminationStatus? { process.exitStatus }
    /// True once `onFinished` has run.
    public private(set) var isFinished = false
    /// Read errors other than EOF, in the order they happened (rare: the output is cut short).
    public private(set) var readErrors: [UVError] = []

    private var onStdout: ((UnsafeRawBufferPointer) -> Void)?
    private var onStderr: ((UnsafeRawBufferPointer) -> Void)?
    private var onFinished: ((TerminationStatus, Child) -> Void)?
    private var openOutputs = 0
    private var drainTimer: Timer?
    private let outputGraceAfterExit: UInt64?

    /// Spawns `command` and starts reading its piped stdout and stderr right away.
    /// `outputGraceAfterExit` (ms): once the child exited, how long to wait for EOF on its output
    /// before closing the pipes anyway (a grandchild that escaped the group may hold them open
    /// forever); nil waits for EOF however long it takes.
    public init(loop: Loop, command: Command,
                onStdout: ((UnsafeRawBufferPointer) -> Void)? = nil,
                onStderr: ((UnsafeRawBufferPointer) -> Void)? = nil,
                outputGraceAfterExit: UInt64? = nil,
                onFinished: @escaping (TerminationStatus, Child) -> Void) throws(UVError) {
        process = try Process(loop: loop, command: command)
        self.onStdout = onStdout
        self.onStderr = onStderr
        self.onFinished = onFinished
        self.outputGraceAfterExit = outputGraceAfterExit
        process.onExit = { [self] _ in exited() }
        for (pipe, isStdout) in [(process.stdout, true), (process.stderr, false)] {
            guard let pipe else { continue }
            do throws(UVError) {
                try pipe.startReading(
                    onData: { [self] bytes in (isStdout ? self.onStdout : self.onStderr)?(bytes) },
                    onEnd: { [self, unowned pipe] error in
                        if let error { readErrors.append(error) }
                        pipe.close()
                        outputEnded()
                    })
                openOutputs += 1
            } catch {
                readErrors.append(error)
                pipe.close()
            }
        }
    }

    /// The child's stdin when the command asked for `.pipe`: write, then `closeStdin()`.
    public var stdin: Pipe? { process.stdin }

    /// Writes to the child's stdin; see `Stream.write` for the bounded queue.
    public func write(_ bytes: [UInt8], completion: ((UVError?) -> Void)? = nil) throws(UVError) {
        guard let stdin = process.stdin else {
            throw UVError(-EBADF, "write to stdin of \(process.command.executable)",
                          detail: "the command was not started with stdin: .pipe")
        }
        try stdin.write(bytes, completion: completion)
    }

    /// Writes `bytes` to the child's stdin at the pace the child reads it, then sends EOF: a file list
    /// of any size goes through without holding more than one chunk in the write queue. `completion`
    /// runs once on the loop: nil when all was written, else the error (EPIPE: the child closed its
    /// stdin or exited before reading everything; stdin is closed then too).
    public func feedStdin(_ bytes: [UInt8], completion: ((UVError?) -> Void)? = nil) {
        guard let stdin = process.stdin, stdin.state == .open else {
            completion?(UVError.closed("write to stdin of \(process.command.executable)"))
            return
        }
        stdin.writeAll(bytes) { [weak self] error in
            if error == nil { self?.closeStdin() } else { stdin.close() }
            completion?(error)
        }
    }

    /// Sends EOF to the child once everything written so far has gone out.
    public func closeStdin() {
        guard let stdin = process.stdin, stdin.state == .open else { return }
        do throws(UVError) {
            try stdin.shutdown { [unowned stdin] _ in stdin.close() }
        } catch {
            stdin.close()
        }
    }

    /// SIGTERM to the child's group now, SIGKILL after `grace` ms (see `Process.stop`).
    public func stop(grace: UInt64) { process.stop(grace: grace) }

    /// Sends `signum` to the child's whole process group.
    @discardableResult
    public func signalGroup(_ signum: Int32) -> Bool { process.signalGroup(signum) }

    private func exited() {
        if openOutputs > 0, let grace = outputGraceAfterExit, let timer = try? Timer(loop: process.loop) {
            drainTimer = timer
            timer.start(after: grace) { [self] in
                // Whatever arrived is delivered; stop waiting for an EOF that will not come.
                for pipe in [process.stdout, process.stderr] { pipe?.close() }
                openOutputs = 0
                finishIfDone()
            }
        }
        finishIfDone()
    }

    private func outputEnded() {
        openOutputs -= 1
        finishIfDone()
    }

    private func finishIfDone() {
        guard !isFinished, openOutputs <= 0, let status = process.exitStatus else { return }
        isFinished = true
        drainTimer?.close()
        drainTimer = nil
        process.stdin?.close()
        let callback = onFinished
        onFinished = nil
        onStdout = nil
        onStderr = nil
        callback?(status, self)
    }
}
