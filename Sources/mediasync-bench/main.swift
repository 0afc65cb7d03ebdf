// Benchmarks for mediasync, run by bin/bench in release mode: `mediasync-bench <name>...`.
// Each benchmark prints one result line; later issues add sync benchmarks next to `parser`.
import Foundation
import MediaSyncCore

/// Progress records parsed per second on one core: a realistic progress2 stream (in-flight
/// records, file-finishing records with growing then final totals, and, in the second pass, the
/// --out-format line rsync prints per file), fed in 64 KiB chunks, best of several runs.
func parserBenchmark() -> Bool {
    parserPass(label: "progress2 records only", withFileLines: false)
        && parserPass(label: "with an --out-format line per file", withFileLines: true)
}

func parserPass(label: String, withFileLines: Bool) -> Bool {
    var stream: [UInt8] = []
    var progressLines = 0
    var bytes: Int64 = 0
    let files = 400_000
    stream.reserveCapacity(files * 190)
    for i in 1...files {
        let size = Int64(200_000 + (i * 7919) % 1_800_000)
        let name = "txt2img-images/2026-11-\(10 + i % 20)/\(String(format: "%05d", i % 100_000))-\(i * 31337).png"
        if withFileLines { stream += Array("mediasync|>f+++++++++|\(size)|\(name)\n".utf8) }
        let rate = String(format: "%.2fMB/s", 80 + Double(i % 700) / 10)
        // One in-flight record half way through the file, then the record that finishes it.
        let inFlight = bytes + size / 2
        stream += Array("\r\(pad(grouped(inFlight), 15)) \(pad("\(i * 100 / files)", 3))%  \(pad(rate, 10))    0:00:0\(i % 10)  ".utf8)
        bytes += size
        let check = i < files / 2 ? "ir-chk=\(files / 2 - i)/\(files / 2 + i)" : "to-chk=\(files - i)/\(files)"
        stream += Array("\r\(pad(grouped(bytes), 15)) \(pad("\(i * 100 / files)", 3))%  \(pad(rate, 10))    0:00:00 (xfr#\(i), \(check))\n".utf8)
        progressLines += 2
    }

    var best = Double.infinity
    var counted = 0
    for _ in 0..<7 {
        var parser = RsyncOutputParser(stream: .stdout)
        var progress = 0
        var lastBytes: Int64 = 0
        let start = DispatchTime.now().uptimeNanoseconds
        stream.withUnsafeBytes { all in
            var offset = 0
            while offset < all.count {
                let end = min(all.count, offset + 65536)
                parser.feed(UnsafeRawBufferPointer(rebasing: all[offset..<end])) { record in
                    if case .progress(let p) = record { progress += 1; lastBytes = p.bytes }
                }
                offset = end
            }
        }
        parser.finish { _ in }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        best = min(best, seconds)
        counted = progress
        guard progress == progressLines, lastBytes == bytes else {
            print("parser: FAILED: parsed \(progress) of \(progressLines) progress records, last bytes \(lastBytes) != \(bytes)")
            return false
        }
    }
    let mib = Double(stream.count) / 1_048_576
    print(String(format: "parser (%@): %.0f progress records/s (%d records%@, %.1f MiB in 64 KiB chunks, best of 7: %.3f s, %.0f MiB/s)",
                 label, Double(counted) / best, counted, withFileLines ? " + \(files) file lines" : "", mib, best, mib / best))
    return true
}

func grouped(_ n: Int64) -> String {
    let digits = Array(String(n))
    var out = ""
    for (k, d) in digits.enumerated() {
        if k > 0 && (digits.count - k) % 3 == 0 { out.append(",") }
        out.append(d)
    }
    return out
}

func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
}

var benchmarks: [String: () -> Bool] = ["parser": parserBenchmark]
var asked = Array(CommandLine.arguments.dropFirst())
if asked.first == "metadata", asked.count == 2 {
    let folder = asked[1]
    benchmarks["metadata"] = { metadataBenchmark(folder: folder) }
    asked = ["metadata"]
}
let names = asked.isEmpty ? benchmarks.keys.sorted() : Array(asked)
var ok = true
for name in names {
    guard let run = benchmarks[name] else {
        print("unknown benchmark \(name); known: \(benchmarks.keys.sorted().joined(separator: " "))")
        exit(2)
    }
    ok = run() && ok
}
exit(ok ? 0 : 1)
