import Foundation
import MediaSyncCore

/// `mediasync-bench metadata FOLDER`: what reading the ingest's metadata costs per file and per byte, one
/// core: the whole `MediaMetadata.read` against SHA-256 alone over the same bytes (already in memory).
func metadataBenchmark(folder: String) -> Bool {
    guard let enumerator = FileManager.default.enumerator(atPath: folder) else {
        print("metadata: cannot list \(folder)")
        return false
    }
    var paths: [String] = []
    while let name = enumerator.nextObject() as? String {
        let path = folder + "/" + name
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue { paths.append(path) }
    }
    var bytes: Int64 = 0
    let start = Date()
    for path in paths { bytes += MediaMetadata.read(path: Array(path.utf8)).size }
    let whole = Date().timeIntervalSince(start)
    var shaSeconds = 0.0
    for path in paths.prefix(200) {
        guard let data = FileManager.default.contents(atPath: path) else { continue }
        let t = Date()
        _ = SHA256.hash(Array(data))
        shaSeconds += Date().timeIntervalSince(t)
    }
    let sampleBytes = paths.prefix(200).reduce(Int64(0)) { $0 + Int64((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
    print(String(format: "metadata: %d files, %.1f MB in %.2f s: %.0f files/s, %.0f MB/s (SHA-256 alone on the first 200: %.0f MB/s)",
                 paths.count, Double(bytes) / 1e6, whole, Double(paths.count) / whole, Double(bytes) / 1e6 / whole,
                 Double(sampleBytes) / 1e6 / shaSeconds))
    return true
}
