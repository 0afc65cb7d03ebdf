import Foundation
import TestChildren

/// Runs a helper program (python3, sh, rsync) for the core tests (`TestChildren`: posix_spawn and files, every run
/// with a limit: past it the child is killed and the run throws, naming the program).
enum TestProcess {
    struct Output {
        let status: Int32
        let stdout: [UInt8]
        let stderr: String
    }

    static func run(_ argv: [String], stdin: [UInt8] = [], environment: [String: String]? = nil,
                    timeout: Double = 120) throws -> Output {
        let out = try TestChildren.run(argv, input: stdin, environment: environment, timeout: timeout)
        return Output(status: out.status, stdout: out.stdout, stderr: out.errorText)
    }
}
