internal import CLibUV
#if canImport(Glibc)
import Glibc
#endif

/// A running child process, reaped by the loop; its handle closes itself at exit (never before,
/// which would leave a zombie). Prefer `Child`, which also waits for the output to be read.
///
/// Started without fork: `posix_spawn` (glibc clones with CLONE_VM | CLONE_VFORK), its exit watched through
/// a pidfd on the loop (a `uv_poll` handle). libuv's `uv_spawn` forks: the kernel copies the page tables of
/// the whole daemon for each child and makes every page copy-on-write, and the loop thread then pays a fault
/// and a TLB flush for each page it writes next (`bin/bench spawn`: 2.2 ms of the parent's CPU a child at a
/// 64 MB heap, 18 ms when it then writes that heap once; 0.05 and 0.26 ms with posix_spawn). A kernel without
/// pidfd_open (before 5.3) gets `uv_spawn`.
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
    /// The pidfd watched for the exit (-1 when libuv's `uv_spawn` started the child); closed with the handle.
    private var pidfd: Int32 = -1

    /// Whether children are started with posix_spawn and watched through a pidfd (the kernel has pidfd_open).
    static let spawnsWithoutFork: Bool = {
        let fd = mediasync_pidfd_open(getpid())
        guard fd >= 0 else { return false }
        Glibc.close(fd)
        return true
    }()

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
        // The descriptors the child gets as its stdio (-1: none made here), all close-on-exec in this process and
        // closed here once the child has its copies. stdout and stderr are kernel pipes: rsync writes a line at a
        // time, and a socket keeps each write as its own buffer to allocate, wake for and copy out; a pipe packs
        // them into pages (mediasync's reads fell from 8.8% to 0.9% of its CPU samples on 20,000 small files,
        // docs/benchmarks.md). stdin is a socketpair, as libuv makes it.
        var childEnds: [Int32] = [-1, -1, -1]
        defer { for fd in childEnds where fd >= 0 { Glibc.close(fd) } }
        do throws(UVError) {
            for (fd, (mode, stream)) in [(command.stdin, "stdin"), (command.stdout, "stdout"), (command.stderr, "stderr")].enumerated() {
                let pipe = try makePipe(mode, stream)
                pipes.append(pipe)
                guard let pipe else { continue }
                var ends: [uv_file] = [-1, -1]   // both close-on-exec; ours is [0] (a pipe's read end), the child's [1]
                if fd == 0 {
                    try UVError.check(uv_socketpair(Int32(SOCK_STREAM.rawValue), 0, &ends, 0, 0), "make the \(stream) pipe of \(command.executable)")
                } else {
                    try UVError.check(uv_pipe(&ends, 0, 0), "make the \(stream) pipe of \(command.executable)")
                    if fd == 1 { Self.widen(pipe: ends[0]) }
                }
                childEnds[fd] = ends[1]
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
        var started: (pid: Int32, pidfd: Int32) = (0, -1)
        do throws(UVError) {
            if command.forks || !Self.spawnsWithoutFork {
                try super.init(loop: loop, type: UV_PROCESS, what: what, closeOnFailure: true) { memory in
                    Process.spawnByFork(loop: loop, into: memory, command: command, childEnds: childEnds)
                }
                started.pid = uv_process_get_pid(raw.assumingMemoryBound(to: uv_process_t.self))
            } else {
                try super.init(loop: loop, type: UV_POLL, what: what) { memory in
                    Process.spawn(loop: loop, into: memory, command: command, childEnds: childEnds, started: &started)
                }
            }
        } catch {
            for pipe in pipes { pipe?.close() }
            throw UVError(error.code, what, detail: Process.explain(error.code, command))
        }
        (pid, pidfd) = started
        if pidfd >= 0 {
            do throws(UVError) { try watchExit() } catch {
                for pipe in pipes { pipe?.close() }
                throw error
            }
        }
    }

    /// Room for 512 KiB of a child's stdout instead of 64 KiB: rsync writes a line or two per file, about 600
    /// small files' worth fit in 64 KiB, and when the loop is busy for a while (a job's last flush, a manifest
    /// transaction, a burst of clients) the child would stop at a full pipe; 512 KiB is most of a second of one
    /// rsync's lines on small files. Not more: Linux counts a pipe's size against its user's
    /// `pipe-user-pages-soft` (64 MiB), past which every new pipe of that user's other programs gets 8 KiB;
    /// 64 children (`concurrency`'s most) take half of it. Best effort: where the kernel refuses, 64 KiB stay.
    private static func widen(pipe fd: Int32) {
        let setPipeSize: Int32 = 1031  // F_SETPIPE_SZ, which Swift's Glibc does not expose
        _ = fcntl(fd, setPipeSize, Int32(512 << 10))
    }

    /// The words to run: the command's, behind setpriv's parent-death signal when it asks for it; nil when its
    /// program is not found.
    private static func words(_ command: Command) -> [String]? {
        guard command.diesWithParent, let guardPath = deathSignalGuard else { return [command.executable] + command.arguments }
        // setpriv would report a missing program only by its exit status: look it up first, so a missing rsync
        // still fails the spawn with ENOENT and its explanation.
        guard let resolved = resolve(command.executable, path: command.environment?["PATH"]) else { return nil }
        return [guardPath, "--pdeathsig", "KILL", "--", resolved] + command.arguments
    }

    /// What each stdio descriptor of the child is for `mediasync_spawn`: a made pipe's end, -1 for /dev/null,
    /// or the descriptor itself (inherited).
    private static func stdioDescriptors(_ command: Command, _ childEnds: [Int32]) -> [Int32] {
        [command.stdin, command.stdout, command.stderr].enumerated().map { fd, mode in
            switch mode {
            case .ignore: -1
            case .inherit: Int32(fd)
            case .pipe: childEnds[fd]
            }
        }
    }

    /// posix_spawn, then a poll on the child's pidfd; the handle memory becomes a `uv_poll_t`.
    private static func spawn(loop: Loop, into memory: UnsafeMutableRawPointer, command: Command,
                              childEnds: [Int32], started: inout (pid: Int32, pidfd: Int32)) -> Int32 {
        guard let words = words(command) else { return UV_ENOENT.rawValue }
        // posix_spawn takes a path: look the program up in the child's PATH, as execvp would (argv[0] stays as given).
        guard let path = resolve(words[0], path: command.environment?["PATH"]) else { return UV_ENOENT.rawValue }
        let argv = CStringArray(words)
        let env = command.environment.map { CStringArray($0.map { "\($0.key)=\($0.value)" }) }
        defer {
            argv.free()
            env?.free()
        }
        var pid: pid_t = 0
        let stdio = stdioDescriptors(command, childEnds)
        let code = stdio.withUnsafeBufferPointer { stdio in
            argv.pointers.withUnsafeBufferPointer { argv in
                (env?.pointers ?? [nil]).withUnsafeBufferPointer { envp in
                    mediasync_spawn(&pid, path, argv.baseAddress, env == nil ? nil : envp.baseAddress,
                                    command.workingDirectory, stdio.baseAddress, command.ownProcessGroup ? 1 : 0)
                }
            }
        }
        guard code == 0 else { return -code }
        let pidfd = mediasync_pidfd_open(pid)
        let rc = pidfd >= 0 ? uv_poll_init(loop.raw, memory.assumingMemoryBound(to: uv_poll_t.self), pidfd) : -errno
        guard rc == 0 else {
            // Started but not watchable: stop it and reap it here rather than leave a zombie.
            Self.killAndReap(pid)
            if pidfd >= 0 { Glibc.close(pidfd) }
            return rc
        }
        started = (pid, pidfd)
        return 0
    }

    /// Watches the pidfd; the handle is ours now, so a failure closes it the usual way.
    private func watchExit() throws(UVError) {
        let rc = uv_poll_start(raw.assumingMemoryBound(to: uv_poll_t.self), Int32(UV_READABLE.rawValue)) { handle, _, _ in
            Handle.owner(UnsafeMutableRawPointer(handle), as: Process.self)?.reap()
        }
        guard rc == 0 else {
            Self.killAndReap(pid)
            exitStatus = TerminationStatus(code: 0, signal: SIGKILL)
            onExit = nil
            super.close()
            throw UVError(rc, "watch the exit of \(command.executable)")
        }
    }

    private static func killAndReap(_ pid: pid_t) {
        kill(pid, SIGKILL)
        while waitpid(pid, nil, 0) < 0 && errno == EINTR {}
    }

    /// libuv's uv_spawn (fork and exec); the handle memory becomes a `uv_process_t`.
    private static func spawnByFork(loop: Loop, into memory: UnsafeMutableRawPointer,
                                    command: Command, childEnds: [Int32]) -> Int32 {
        guard let words = words(command) else { return UV_ENOENT.rawValue }
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
        for (fd, descriptor) in stdioDescriptors(command, childEnds).enumerated() {
            if descriptor < 0 {
                stdio[fd].flags = UV_IGNORE
            } else {
                stdio[fd].flags = UV_INHERIT_FD
                stdio[fd].data.fd = descriptor
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

    /// The pidfd is readable: the child has exited. Reaps it (`WNOHANG`: a spurious wake-up leaves it be).
    private func reap() {
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, WNOHANG)
        if reaped == 0 || (reaped < 0 && errno == EINTR) { return }
        uv_poll_stop(raw.assumingMemoryBound(to: uv_poll_t.self))
        if reaped < 0 {
            // Someone else reaped it (SIGCHLD ignored, or a waitpid(-1) elsewhere): its status is lost.
            exited(-1, 0)
        } else if status & 0x7f == 0 {
            exited(Int64((status >> 8) & 0xff), 0)
        } else {
            exited(0, status & 0x7f)
        }
    }

    override func didClose() {
        if pidfd >= 0 { Glibc.close(pidfd) }
        pidfd = -1
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
        return kill(pid, signum) == 0   // not reaped yet, so the pid is still this child's
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
