// mediasync-fuzz: the libFuzzer targets of docs/fuzzing.md in one binary.
//
// `bin/fuzz` builds it with `--sanitize fuzzer --sanitize address -DFUZZING`: libFuzzer brings main, and
// `mediasync-fuzz NAME [libFuzzer options] [CORPUS...]` fuzzes target NAME (FuzzerEntry.swift). The plain
// build (`swift build`, no sanitizer) compiles the same harnesses into this replayer:
// `mediasync-fuzz NAME FILE|DIR...` runs each input once, so the harnesses never rot and a saved crash can
// be rerun under a debugger. (No main.swift: SwiftPM compiles a fuzzer's files as a library, which refuses
// top-level code even inside an inactive #if.)
#if !FUZZING
#if canImport(Glibc)
import Glibc
#endif

@main
struct Replayer {
    static func main() {
        let target = FuzzTargets.select(CommandLine.arguments)
        var inputs = 0
        for path in CommandLine.arguments.dropFirst(2) {
            for file in FileHandleOutput.inputFiles(path) {
                guard let bytes = FileHandleOutput.read(file) else {
                    FileHandleOutput.stderr("mediasync-fuzz: cannot read \(file)\n")
                    exit(1)
                }
                bytes.withUnsafeBytes { target.run($0) }
                inputs += 1
            }
        }
        print("\(target.name): \(inputs) inputs ran without a failure")
    }
}
#endif
