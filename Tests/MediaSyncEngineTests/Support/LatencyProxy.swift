import Foundation

/// A far link on loopback for tests: bin/bench.d/latency-proxy.c (the benchmark's), built with the C compiler
/// at hand (the Swift toolchain brings clang), in front of a port. Every byte is held `delayMs` each way.
final class LatencyProxy {
    let port: Int
    private let pid: pid_t

    init(target: Int, delayMs: Int, in folder: String) throws {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("bin/bench.d/latency-proxy.c").path
        let binary = folder + "/latency-proxy"
        var built = false
        var said = ""
        for compiler in ["cc", "clang"] {
            guard let result = try? Tool.run([compiler, "-O2", "-o", binary, source]) else { continue }
            if result.status == 0 { built = true; break }
            said += result.errorText
        }
        guard built else { throw Tool.Failure(description: "cannot build \(source) with cc or clang: \(said)") }
        for _ in 0..<20 {
            let port = Int.random(in: 20_000...60_000)
            let pid = try Tool.spawn([binary, String(port), String(target), String(delayMs)], stdoutTo: folder + "/latency-proxy.log")
            if TestSSHD.waitForListen(port: port, pid: pid) {
                self.port = port
                self.pid = pid
                return
            }
            kill(pid, SIGKILL)
            Tool.reap(pid)
        }
        throw Tool.Failure(description: "the latency proxy did not start: \((try? String(contentsOfFile: folder + "/latency-proxy.log", encoding: .utf8)) ?? "")")
    }

    deinit {
        kill(pid, SIGKILL)
        Tool.reap(pid)
    }
}
