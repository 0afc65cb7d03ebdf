/// What kind of media a file is, judged by its extension (case-insensitive): images and videos go to
/// the media database, the rest is carried over but not announced as media.
public enum MediaKind: String, Sendable, CaseIterable {
    case image, video, other

    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "webp", "gif", "bmp", "tif", "tiff",
                                                "avif", "heic", "jxl"]
    static let videoExtensions: Set<String> = ["mp4", "webm", "mov", "mkv", "avi", "m4v", "gifv"]

    /// The kind of a path given as raw bytes (only the last component's extension counts).
    public init(path: [UInt8]) {
        let name = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).last ?? []
        guard let dot = name.lastIndex(of: UInt8(ascii: ".")), dot > name.startIndex else {
            self = .other
            return
        }
        let ext = String(decoding: name[(dot + 1)...], as: UTF8.self).lowercased()
        if Self.imageExtensions.contains(ext) {
            self = .image
        } else if Self.videoExtensions.contains(ext) {
            self = .video
        } else {
            self = .other
        }
    }
}
