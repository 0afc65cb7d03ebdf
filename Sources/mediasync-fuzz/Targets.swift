#if canImport(Glibc)
import Glibc
#endif

/// One fuzz target: a name for `bin/fuzz NAME` and the function libFuzzer calls with each input.
struct FuzzTarget: Sendable {
    var name: String
    var summary: String
    var run: @Sendable (UnsafeRawBufferPointer) -> Void
}

enum FuzzTargets {
    /// The target this process runs; set once by main before the first input.
    nonisolated(unsafe) static var selected: (UnsafeRawBufferPointer) -> Void = { _ in }

    /// The target named by `arguments[1]`; `list` prints them all and exits.
    static func select(_ arguments: [String]) -> FuzzTarget {
        guard arguments.count >= 2 else {
            FileHandleOutput.stderr("usage: mediasync-fuzz list | NAME [libFuzzer options] [CORPUS...]\n")
            exit(2)
        }
        if arguments[1] == "list" {
            for target in all { print("\(target.name)\t\(target.summary)") }
            exit(0)
        }
        guard let target = all.first(where: { $0.name == arguments[1] }) else {
            FileHandleOutput.stderr("mediasync-fuzz: no target \"\(arguments[1])\"; known: \(all.map(\.name).joined(separator: ", "))\n")
            exit(2)
        }
        return target
    }

    static let all: [FuzzTarget] = [
        FuzzTarget(name: "rsync-output", summary: "RsyncOutputParser on stdout and stderr, whole and in random chunks",
                   run: RsyncOutputFuzz.run),
        FuzzTarget(name: "listing", summary: "RemoteListingParser (find -printf, rsync --list-only) and RemotePurgeOutput",
                   run: ListingFuzz.run),
        FuzzTarget(name: "config", summary: "Config.parse (YAML through Yams) and its error messages",
                   run: ConfigFuzz.run),
        FuzzTarget(name: "control", summary: "control socket request lines: RequestLineDecoder and ControlRequest.parse",
                   run: ControlFuzz.run),
        FuzzTarget(name: "ingest-reply", summary: "IngestReply.parse of the ingest child's lines",
                   run: IngestReplyFuzz.run),
        FuzzTarget(name: "media", summary: "MediaMetadataReader (PNG chunks, zTXt/iTXt inflate) in random chunks",
                   run: MediaFuzz.run),
        FuzzTarget(name: "event-json", summary: "events and ingest lines from random fields: strict JSON, exact path bytes",
                   run: EventJSONFuzz.run),
    ]
}

/// A failed property: printed, then abort() so libFuzzer saves the input as a crash.
func fuzzCheck(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
               file: StaticString = #fileID, line: UInt = #line) {
    guard !condition() else { return }
    FileHandleOutput.stderr("fuzz check failed at \(file):\(line): \(message())\n")
    abort()
}
