/// Decodes the data of one tEXt, zTXt or iTXt chunk (PNG spec 11.3.4) into a `PNGTextEntry`.
enum PNGTextDecoder {
    /// What was wrong with a text chunk's data.
    struct Problem: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func decode(_ type: String, _ data: [UInt8], inflateLimit: Int) -> Result<PNGTextEntry, Problem> {
        guard let nul = data.firstIndex(of: 0) else { return .failure(Problem("no NUL after the keyword")) }
        guard nul > 0 else { return .failure(Problem("empty keyword")) }
        // Keywords are Latin-1 in all three chunk types.
        let keyword = latin1(data[0..<nul])
        let rest = data[(nul + 1)...]
        switch type {
        case "tEXt":
            return .success(PNGTextEntry(keyword: keyword, value: latin1(rest), chunk: .tEXt))
        case "zTXt":
            guard let method = rest.first else { return .failure(Problem("\(keyword): compression method missing")) }
            guard method == 0 else { return .failure(Problem("\(keyword): unknown compression method \(method)")) }
            return inflate(rest.dropFirst(), keyword: keyword, limit: inflateLimit).map {
                PNGTextEntry(keyword: keyword, value: latin1($0[...]), chunk: .zTXt)
            }
        case "iTXt":
            guard rest.count >= 2 else { return .failure(Problem("\(keyword): compression flag missing")) }
            let flag = rest[rest.startIndex], method = rest[rest.startIndex + 1]
            let afterFlags = rest.dropFirst(2)
            guard let langEnd = afterFlags.firstIndex(of: 0) else {
                return .failure(Problem("\(keyword): no NUL after the language tag"))
            }
            let language = String(decoding: afterFlags[..<langEnd], as: UTF8.self)
            let afterLang = afterFlags[(langEnd + 1)...]
            guard let translatedEnd = afterLang.firstIndex(of: 0) else {
                return .failure(Problem("\(keyword): no NUL after the translated keyword"))
            }
            let translated = String(decoding: afterLang[..<translatedEnd], as: UTF8.self)
            let text = afterLang[(translatedEnd + 1)...]
            let bytes: [UInt8]
            switch flag {
            case 0:
                bytes = Array(text)
            case 1:
                guard method == 0 else { return .failure(Problem("\(keyword): unknown compression method \(method)")) }
                switch inflate(text, keyword: keyword, limit: inflateLimit) {
                case let .success(inflated): bytes = inflated
                case let .failure(problem): return .failure(problem)
                }
            default:
                return .failure(Problem("\(keyword): compression flag is \(flag), not 0 or 1"))
            }
            return .success(PNGTextEntry(keyword: keyword, value: String(decoding: bytes, as: UTF8.self), chunk: .iTXt,
                                         language: language, translatedKeyword: translated))
        default:
            return .failure(Problem("not a text chunk"))
        }
    }

    private static func inflate(_ bytes: ArraySlice<UInt8>, keyword: String, limit: Int) -> Result<[UInt8], Problem> {
        Zlib.inflate(Array(bytes), limit: limit).mapError { Problem("\(keyword): \($0.description)") }
    }

    static func latin1(_ bytes: ArraySlice<UInt8>) -> String {
        // ASCII (nearly every prompt and workflow) is the same in Latin-1 and UTF-8: decode it in one go.
        if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
        var scalars = String.UnicodeScalarView()
        scalars.reserveCapacity(bytes.count)
        for b in bytes { scalars.append(Unicode.Scalar(b)) }
        return String(scalars)
    }
}
