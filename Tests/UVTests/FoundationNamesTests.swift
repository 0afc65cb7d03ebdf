import Foundation
import Testing
import UV

/// Engine files often import Foundation too, which has its own Timer, Process, Pipe and Stream.
/// Qualifying with the module name must keep working (so no type here may be named `UV`): this file
/// compiles only if `UV.Timer`, `UV.Pipe`, `UV.Process` and `UV.Stream` name the libuv types, and each is
/// then used for real, so the run checks they are the libuv ones too.
@Suite struct FoundationNamesTests {
    @Test func moduleQualifiedNamesPickTheLibuvTypes() throws {
        var fired = 0
        var exit: TerminationStatus?
        try withLoop { loop in
            let timer = try UV.Timer(loop: loop)
            let pipe = try UV.Pipe(loop: loop, name: "spare")
            let stream: UV.Stream = pipe
            let process = try UV.Process(loop: loop, command: Command("/bin/sh", ["-c", "exit 5"], stdout: .ignore, stderr: .ignore)) {
                exit = $0
            }
            #expect(process.pid > 0)
            timer.start(after: 1) {
                fired += 1
                timer.close()
                stream.close()
            }
        }
        #expect(fired == 1)
        #expect(exit == TerminationStatus(code: 5, signal: 0), "UV.Process ran /bin/sh and reported its exit")
    }
}
