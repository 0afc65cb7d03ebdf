/// The EBML (Matroska, WebM) element IDs `EBMLReader` knows, and the variable-length integers of the
/// element headers.
enum EBML {
    static let header: UInt32 = 0x1a45_dfa3
    static let docType: UInt32 = 0x4282
    static let segment: UInt32 = 0x1853_8067
    static let seekHead: UInt32 = 0x114d_9b74
    static let info: UInt32 = 0x1549_a966
    static let timestampScale: UInt32 = 0x2a_d7b1
    static let duration: UInt32 = 0x4489
    static let title: UInt32 = 0x7ba9
    static let tracks: UInt32 = 0x1654_ae6b
    static let trackEntry: UInt32 = 0xae
    static let trackType: UInt32 = 0x83
    static let video: UInt32 = 0xe0
    static let pixelWidth: UInt32 = 0xb0
    static let pixelHeight: UInt32 = 0xba
    static let cluster: UInt32 = 0x1f43_b675
    static let cues: UInt32 = 0x1c53_bb6b
    static let chapters: UInt32 = 0x1043_a770
    static let attachments: UInt32 = 0x1941_a469
    static let tags: UInt32 = 0x1254_c367
    static let tag: UInt32 = 0x7373
    static let targets: UInt32 = 0x63c0
    static let tagTrackUID: UInt32 = 0x63c5
    static let tagEditionUID: UInt32 = 0x63c9
    static let tagChapterUID: UInt32 = 0x63c4
    static let tagAttachmentUID: UInt32 = 0x63c6
    static let simpleTag: UInt32 = 0x67c8
    static let tagName: UInt32 = 0x45a3
    static let tagString: UInt32 = 0x4487

    /// Elements walked into (a Cluster only when its size is unknown).
    static let masters: Set<UInt32> = [header, segment, info, tracks, trackEntry, video, tags, tag, targets, simpleTag]
    /// The Segment's children: where an unknown-size Cluster ends.
    static let segmentChildren: Set<UInt32> = [seekHead, info, tracks, cluster, cues, chapters, attachments, tags]

    static let names: [UInt32: String] = [
        header: "EBML header", docType: "DocType", segment: "Segment", seekHead: "SeekHead", info: "Info",
        timestampScale: "TimestampScale", duration: "Duration", title: "Title", tracks: "Tracks", trackEntry: "TrackEntry",
        trackType: "TrackType", video: "Video", pixelWidth: "PixelWidth", pixelHeight: "PixelHeight",
        cluster: "Cluster", cues: "Cues", chapters: "Chapters", attachments: "Attachments", tags: "Tags", tag: "Tag",
        targets: "Targets", simpleTag: "SimpleTag", tagName: "TagName", tagString: "TagString",
    ]

    static func name(_ id: UInt32) -> String { names[id] ?? "element 0x" + String(id, radix: 16, uppercase: true) }

    /// Whether `child` can be inside an unknown-size `parent` (else it closes the parent).
    static func mayContain(_ parent: UInt32, _ child: UInt32) -> Bool {
        if child == header || child == segment { return false }
        return parent == segment || !segmentChildren.contains(child)
    }

    /// The length of a variable-length integer from its first byte (1 to 8; 9 for a zero byte, invalid).
    static func length(_ first: UInt8) -> Int { first == 0 ? 9 : first.leadingZeroBitCount + 1 }

    /// A size from its first byte and the rest; nil when all its value bits are ones (unknown size).
    static func size(_ first: UInt8, _ rest: [UInt8]) -> Int64? {
        let length = rest.count + 1
        var value = UInt64(first) & (UInt64(0xff) >> length)
        var allOnes = value == UInt64(0xff) >> length
        for b in rest {
            value = value << 8 | UInt64(b)
            allOnes = allOnes && b == 0xff
        }
        return allOnes ? nil : Int64(value)
    }
}
