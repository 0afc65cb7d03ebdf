#if canImport(Glibc)
import Glibc
#endif

/// How one of a child's stdin, stdout or stderr is connected.
public enum Stdio: Sendable, Equatable {
    /// /dev/null.
    case ignore
    /// Shares ours (a CLI child writing straight to the terminal).
    case inherit
    /// A new `Pipe` we read from (stdout, stderr) or write to (stdin).
    case pipe
}

/// What to run as a child process: executable, arguments, environment, folder and stdio.
///
///     var rsync = Command("rsync", ["-a", "--info=progress2", src, dst])
///     rsync.environment = Command.currentEnvironment().merging(["LC_ALL": "C.UTF-8"]) { $1 }
public struct Command: Sendable, Equatable, CustomStringConvertible {
    /// A path, or a bare name looked up in the child's PATH.
    public var executable: String
    /// Arguments after argv[0] (which is `executable`).
    public var arguments: [String]
    /// The child's whole environment; nil passes ours on unchanged.
    public var environment: [String: String]?
    /// The child's working folder; nil keeps ours.
    public var workingDirectory: String?
    public var stdin: Stdio
    public var stdout: Stdio
    public var stderr: Stdio
    /// Puts the child in its own session and process group (`setsid`), so the whole
    /// tree it starts can be signalled with `Process.signalGroup` and a terminal's Ctrl-C does
    /// not reach it behind our back.
    public var ownProcessGroup: Bool
    /// The kernel kills the child (SIGKILL) when we die, even by SIGKILL, so that no rsync of a killed
    /// run goes on copying or deleting behind the next run's back. Done with util-linux's `setpriv
    /// --pdeathsig KILL` in front of the executable (neither posix_spawn nor libuv has a hook before exec for
    /// `prctl(PR_SET_PDEATHSIG)`); where `setpriv` is missing the child is started as it is.
    public var diesWithParent: Bool = false
    /// Start it with libuv's uv_spawn (fork), as on a kernel without pidfd_open; for the tests of that path.
    var forks = false

    public init(_ executable: String, _ arguments: [String] = [],
                environment: [String: String]? = nil, workingDirectory: String? = nil,
                stdin: Stdio = .ignore, stdout: Stdio = .pipe, stderr: Stdio = .pipe,
                ownProcessGroup: Bool = true) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.ownProcessGroup = ownProcessGroup
    }

    /// The executable and arguments as a user would type them (for messages, not for a shell).
    public var description: String { ([executable] + arguments).joined(separator: " ") }

    /// Our own environment as a dictionary, to extend for a child.
    public static func currentEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let pair = String(cString: pointer)
            if let equals = pair.firstIndex(of: "=") {
                result[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            entry += 1
        }
        return result
    }
}

/// How a child process ended: its exit code, or the signal that killed it.
public struct TerminationStatus: Sendable, Equatable, CustomStringConvertible {
    /// The exit code; 0 when a signal ended the process.
    public let code: Int64
    /// The terminating signal, 0 when the process exited by itself.
    public let signal: Int32

    public init(code: Int64, signal: Int32) {
        self.code = code
        self.signal = signal
    }

    /// Exited by itself with code 0.
    public var succeeded: Bool { code == 0 && signal == 0 }

    public var description: String {
        if signal != 0 {
            let name = strsignal(signal).map { String(cString: $0) } ?? "signal \(signal)"
            return "killed by signal \(signal) (\(name))"
        }
        return "exited with status \(code)"
    }
}

/// NUL-terminated C string arrays built with strdup; `free()` must run once the spawn returned.
struct CStringArray {
    private(set) var pointers: [UnsafeMutablePointer<CChar>?]

    init(_ strings: [String]) {
        pointers = strings.map { strdup($0) } + [nil]
    }

    func free() {
        for pointer in pointers { Glibc.free(pointer) }
    }
}
