internal import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// A running child process, reaped by the loop; its handle closes itself at exit (never before,
/// which would leave a zombie). Prefer `Child`, which also waits for the output to be read.
///
///     let process = try Process(loop: loop, command: Command("sleep", ["30"], stdout: .ignore, stderr: .ignore))
///     process.onExit = { status in print(status) }
///     process.stop(grace: 5_000)   // SIGTERM to the group, SIGKILL after 5 s
public final class Process: Handle {
    public let command: Command
    /// The child's pid; with `ownProcessGroup` also its process group and session id.
    public private(set) var pid: Int32 = 0
    /// Pipes for the stdio entries that asked for `.pipe`; owned by the caller from now on.
    public let stdin: Pipe?
    public let stdout: Pipe?
    public let stderr: Pipe?
    /// Set once the child has exited and was reaped.
    public private(set) var exitStatus: TerminationStatus?
    /// Runs once, on the loop, when the child exits.
    public var onExit: ((TerminationStatus) -> Void)?
    private var killTimer: Timer?

    var process: UnsafeMutablePointer<uv_process_t> { raw.assumingMemoryBound(to: uv_process_t.self) }

    /// Spawns `command`. Failing to start (missing executable, bad folder) throws with the
    /// reason; nothing is left running or open then.
    public init(loop: Loop, command: Command, onExit: ((TerminationStatus) -> Void)? = nil) throws(UVError) {
        self.command = command
        self.onExit = onExit
        let what = "spawn \(command.executable)"
        func makePipe(_ mode: Stdio, _ stream: String) throws(UVError) -> Pipe? {
            mode == .pipe ? try Pipe(loop: loop, name: "\(stream) of \(command.executable)") : nil
        }
        var pipes: [Pipe?] = []
        // The child's write ends of its stdout and stderr: kernel pipes, not the socketpair libuv would make.
        // rsync writes a line at a time, and a socket keeps each write as its own buffer to allocate, wake for
        // and copy out; a pipe packs them into pages (mediasync's reads fell from 8.8% to 0.9% of its CPU samples
        // on 20,000 small files, docs/benchmarks.md).
        var writeEnds: [Int32] = [-1, -1, -1]
        defer { for fd in writeEnds where fd >= 0 { Glibc.close(fd) } }
        do throws(UVError) {
            for (fd, (mode, stream)) in [(command.stdin, "stdin"), (command.stdout, "stdout"), (command.stderr, "stderr")].enumerated() {
                let pipe = try makePipe(mode, stream)
                pipes.append(pipe)
                guard let pipe, fd > 0 else { continue }
                var ends: [uv_file] = [-1, -1]   // both close-on-exec (libuv's uv_pipe)
                try UVError.check(uv_pipe(&ends, 0, 0), "make the \(stream) pipe of \(command.executable)")
                writeEnds[fd] = ends[1]
                do throws(UVError) { try pipe.open(fileDescriptor: ends[0]) } catch {
                    Glibc.close(ends[0])
                    throw error
                }
            }
        } catch {
            for pipe in pipes { pipe?.close() }
            throw error
        }
        (stdin, stdout, stderr) = (pipes[0], pipes[1], pipes[2])
        do throws(UVError) {
            try super.init(loop: loop, type: UV_PROCESS, what: what, closeOnFailure: true) { memory in
                Process.spawn(loop: loop, into: memory, command: command, pipes: pipes, writeEnds: writeEnds)
            }
        } catch {
            for pipe in pipes { pipe?.close() }
            throw UVError(error.code, what, detail: Process.explain(error.code, command))
        }
        pid = uv_process_get_pid(process)
    }

    private static func spawn(loop: Loop, into memory: UnsafeMutableRawPointer,
                              command: Command, pipes: [Pipe?], writeEnds: [Int32]) -> Int32 {
        var words = [command.executable] + command.arguments
        if command.diesWithParent, let guardPath = deathSignalGuard {
            // setpriv would report a missing program only by its exit status: look it up first, so a
            // missing rsync still fails the spawn with ENOENT and its explanation.
            guard let resolved = resolve(command.executable, path: command.environment?["PATH"]) else {
                return UV_ENOENT.rawValue
            }
            words = [guardPath, "--pdeathsig", "KILL", "--", resolved] + command.arguments
        }
        let argv = CStringArray(words)
        let env = command.environment.map { CStringArray($0.map { "\($0.key)=\($0.value)" }) }
        let file = strdup(words[0])
        let cwd = command.workingDirectory.map { strdup($0) }
        defer {
            argv.free()
            env?.free()
            free(file)
            if let cwd { free(cwd) }
        }
        var stdio = [uv_stdio_container_t](repeating: uv_stdio_container_t(), count: 3)
        for (fd, mode) in [command.stdin, command.stdout, command.stderr].enumerated() {
            switch mode {
            case .ignore:
                stdio[fd].flags = UV_IGNORE
            case .inherit:
                stdio[fd].flags = UV_INHERIT_FD
                stdio[fd].data.fd = Int32(fd)
            case .pipe where writeEnds[fd] >= 0:
                // stdout and stderr: the write end of a kernel pipe, made above.
                stdio[fd].flags = UV_INHERIT_FD
                stdio[fd].data.fd = writeEnds[fd]
            case .pipe:
                // stdin: a socketpair libuv makes (the child reads it).
                stdio[fd].flags = uv_stdio_flags(UV_CREATE_PIPE.rawValue | UV_READABLE_PIPE.rawValue)
                stdio[fd].data.stream = pipes[fd]!.stream
            }
        }
        var argvPointers = argv.pointers
        var envPointers = env?.pointers
        return stdio.withUnsafeMutableBufferPointer { stdioBuffer in
            argvPointers.withUnsafeMutableBufferPointer { argvBuffer in
                var options = uv_process_options_t()
                options.file = UnsafePointer(file)
                options.args = argvBuffer.baseAddress
                options.cwd = cwd.map { UnsafePointer($0) } ?? nil
                options.flags = command.ownProcessGroup ? UV_PROCESS_DETACHED.rawValue : 0
                options.stdio_count = 3
                options.stdio = stdioBuffer.baseAddress
                options.exit_cb = { handle, status, signal in
                    Handle.owner(UnsafeMutableRawPointer(handle), as: Process.self)?.exited(status, signal)
                }
                let process = memory.assumingMemoryBound(to: uv_process_t.self)
                if envPointers == nil { return uv_spawn(loop.raw, process, &options) }
                return envPointers!.withUnsafeMutableBufferPointer { envBuffer in
                    options.env = envBuffer.baseAddress
                    return uv_spawn(loop.raw, process, &options)
                }
            }
        }
    }

    /// util-linux's setpriv, which sets the parent-death signal and then execs the real program.
    private static let deathSignalGuard: String? = access("/usr/bin/setpriv", X_OK) == 0 ? "/usr/bin/setpriv" : nil

    /// `name` as execvp would find it: itself when it has a slash, else the first executable in `path`
    /// (ours when nil).
    static func resolve(_ name: String, path: String?) -> String? {
        if name.contains("/") { return name }
        let search = path ?? getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in search.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (folder.isEmpty ? "." : String(folder)) + "/" + name
            var info = stat()
            if stat(candidate, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        return nil
    }

    /// Turns a spawn failure into advice naming what is missing.
    private static func explain(_ code: Int32, _ command: Command) -> String? {
        guard code == UV_ENOENT.rawValue || code == UV_EACCES.rawValue else { return nil }
        if let folder = command.workingDirectory, access(folder, X_OK) != 0 {
            return "the working folder \(folder) does not exist or cannot be entered"
        }
        if code == UV_EACCES.rawValue { return "\(command.executable) is not executable (check its permissions)" }
        if command.executable.contains("/") { return "no executable at \(command.executable)" }
        let path = command.environment.map { $0["PATH"] ?? "(unset)" } ?? (getenv("PATH").map { String(cString: $0) } ?? "(unset)")
        return "no executable named \(command.executable) in PATH=\(path); install it or give its full path"
    }

    private func exited(_ status: Int64, _ signal: Int32) {
        let result = TerminationStatus(code: status, signal: signal)
        exitStatus = result
        if let timer = killTimer, !groupExists {
            timer.close()
            killTimer = nil
        }
        // Reaped now, so closing cannot leave a zombie.
        let callback = onExit
        onExit = nil
        super.close()
        callback?(result)
    }

    /// Whether the child's process group still has a live member (grandchildren may outlive the
    /// child). Zombies do not count: in a container whose init never reaps, they would keep the
    /// group "alive" forever.
    public var groupExists: Bool {
        guard pid > 0, command.ownProcessGroup else { return false }
        if kill(-pid, 0) != 0 && errno == ESRCH { return false }
        return ProcessTable.hasLiveMember(ofGroup: pid)
    }

    /// Sends `signum` to the child only. False if it already exited or the signal failed.
    @discardableResult
    public func signal(_ signum: Int32) -> Bool {
        guard state == .open, exitStatus == nil else { return false }
        return uv_process_kill(process, signum) == 0
    }

    /// Sends `signum` to the child's whole process group (the child and everything it started),
    /// even after the child itself exited while the group lives on. Without `ownProcessGroup`
    /// only the child is signalled.
    @discardableResult
    public func signalGroup(_ signum: Int32) -> Bool {
        guard pid > 0 else { return false }  // kill(-0) would hit our own group
        if !command.ownProcessGroup { return signal(signum) }
        return kill(-pid, signum) == 0
    }

    /// Stops the child's tree the way swift-subprocess and neovim do: SIGTERM to the group now,
    /// SIGKILL to the group `grace` ms later unless the group is gone by then. The group is
    /// checked every few ms once the child exited, so a tree that obeys TERM does not keep the
    /// loop waiting out the grace.
    public func stop(grace: UInt64) {
        guard pid > 0, killTimer == nil, exitStatus == nil || groupExists else { return }
        signalGroup(SIGTERM)
        guard let timer = try? Timer(loop: loop) else { signalGroup(SIGKILL); return }
        killTimer = timer
        let deadline = loop.now + grace
        let step = max(1, min(grace, 25))
        // Holding self until the timer closes lets grandchildren be killed after the child's exit.
        timer.start(after: step, repeat: step) { [self, unowned timer] in
            if exitStatus != nil, !groupExists {
                timer.close()
            } else if timer.loop.now >= deadline {
                signalGroup(SIGKILL)
                timer.close()
            }
        }
    }

    /// Before exit, only forgets `onExit`: the handle must stay open until the child is reaped.
    override public func close() {
        if exitStatus == nil, state == .open {
            onExit = nil
        } else {
            super.close()
        }
    }

    /// Teardown kills the child's group so its exit arrives and the handle can close.
    override func teardown() {
        if exitStatus == nil, state == .open { signalGroup(SIGKILL) }
        close()
    }
}
