extension PNGWriter {
    /// A text chunk to write: tEXt (Latin-1), zTXt (Latin-1, deflated) or iTXt (UTF-8, optionally deflated,
    /// with a language tag and translated keyword), as Forge, ComfyUI and Pillow write them.
    public enum TextChunk: Sendable {
        case tEXt(String, String)
        case zTXt(String, String)
        case iTXt(String, String, compressed: Bool = false, language: String = "", translatedKeyword: String = "")

        var chunkType: String {
            switch self {
            case .tEXt: "tEXt"
            case .zTXt: "zTXt"
            case .iTXt: "iTXt"
            }
        }

        func data() throws -> [UInt8] {
            switch self {
            case let .tEXt(keyword, value):
                return try latin1(keyword: keyword) + [0] + latin1(value, what: "value of \(keyword)")
            case let .zTXt(keyword, value):
                return try latin1(keyword: keyword) + [0, 0] + Zlib.deflate(latin1(value, what: "value of \(keyword)"))
            case let .iTXt(keyword, value, compressed, language, translated):
                let text = Array(value.utf8)
                return try latin1(keyword: keyword) + [0, compressed ? 1 : 0, 0] + Array(language.utf8) + [0]
                    + Array(translated.utf8) + [0] + (compressed ? Zlib.deflate(text) : text)
            }
        }
    }

    /// Like `encode(width:height:colorType:pixels:text:)`, with text chunks of any of the three types,
    /// written in order right after IHDR (where Forge and ComfyUI put them).
    public static func encode(width: Int, height: Int, colorType: ColorType = .rgb, pixels: [UInt8],
                              chunks: [TextChunk]) throws -> [UInt8] {
        let plain = try encode(width: width, height: height, colorType: colorType, pixels: pixels)
        let afterIHDR = signature.count + 12 + 13
        var png = Array(plain[0..<afterIHDR])
        for chunk in chunks { appendChunk(chunk.chunkType, try chunk.data(), to: &png) }
        return png + plain[afterIHDR...]
    }

    /// A small ComfyUI-style API prompt graph (JSON), the way ComfyUI stores it in the `prompt` chunk.
    public static func comfyUIPrompt(text: String, seed: Int) -> String {
        #"{"3":{"inputs":{"seed":\#(seed),"steps":20,"cfg":8,"sampler_name":"euler","scheduler":"normal","#
            + #""denoise":1,"model":["4",0],"positive":["6",0],"negative":["7",0],"latent_image":["5",0]},"#
            + #""class_type":"KSampler"},"6":{"inputs":{"text":"\#(text)","clip":["4",1]},"class_type":"CLIPTextEncode"}}"#
    }

    /// A small ComfyUI editor workflow (JSON), as stored in the `workflow` chunk.
    public static func comfyUIWorkflow(seed: Int) -> String {
        #"{"last_node_id":9,"last_link_id":9,"nodes":[{"id":3,"type":"KSampler","widgets_values":[\#(seed),"#
            + #""randomize",20,8,"euler","normal",1]}],"links":[],"version":0.4}"#
    }
}
