import Foundation
import Testing
import UV

/// Engine files often import Foundation too, which has its own Timer, Process, Pipe and Stream.
/// Qualifying with the module name must keep working (so no type here may be named `UV`).
@Suite struct FoundationNamesTests {
    @Test func moduleQualifiedNamesPickTheLibuvTypes() throws {
        var fired = 0
        try withLoop { loop in
            let timer = try UV.Timer(loop: loop)
            let pipe = try UV.Pipe(loop: loop, name: "spare")
            let process: UV.Process? = nil
            let stream: UV.Stream = pipe
            timer.start(after: 1) {
                fired += 1
                timer.close()
                stream.close()
            }
            #expect(process == nil)
        }
        #expect(fired == 1)
    }
}
