import CZlib

/// The system zlib, for PNG text chunks: inflate with a cap on the output (zip bombs), deflate for tests
/// and the demo, and zlib's fast CRC-32 for checking chunks.
public enum Zlib {
    /// Why a zlib stream could not be inflated.
    public enum InflateError: Error, Equatable, CustomStringConvertible {
        /// The stream inflates to more than the cap; inflating stopped there.
        case tooLarge(limit: Int)
        /// zlib rejected the data (its message, e.g. "incorrect header check").
        case corrupt(String)
        /// The data ended before the stream did.
        case truncated

        public var description: String {
            switch self {
            case let .tooLarge(limit): "inflates to more than \(limit) bytes"
            case let .corrupt(message): "bad zlib stream (\(message))"
            case .truncated: "zlib stream cut short"
            }
        }
    }

    /// Inflates one complete zlib stream (RFC 1950), refusing to produce more than `limit` bytes.
    public static func inflate(_ input: [UInt8], limit: Int) -> Result<[UInt8], InflateError> {
        var stream = z_stream()
        guard inflateInit_(&stream, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            return .failure(.corrupt("inflateInit failed"))
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        // Grow the output as needed: typical texts are a few KB, the limit is megabytes.
        var chunk = [UInt8](repeating: 0, count: min(max(input.count * 4, 4_096), 1 << 20))
        return input.withUnsafeBufferPointer { source -> Result<[UInt8], InflateError> in
            stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
            stream.avail_in = UInt32(source.count)
            while true {
                let (status, produced) = chunk.withUnsafeMutableBufferPointer { out -> (Int32, Int) in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(out.count)
                    let status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return (status, out.count - Int(stream.avail_out))
                }
                if output.count + produced > limit { return .failure(.tooLarge(limit: limit)) }
                output.append(contentsOf: chunk[0..<produced])
                switch status {
                case Z_STREAM_END:
                    return .success(output)
                case Z_OK:
                    continue
                case Z_BUF_ERROR:
                    // No progress possible: all input used and the stream is not finished.
                    return .failure(.truncated)
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                    return .failure(.corrupt(message))
                }
            }
        }
    }

    /// Deflates `input` into a zlib stream (level 6, zlib's default).
    public static func deflate(_ input: [UInt8], level: Int32 = 6) -> [UInt8] {
        var size = compressBound(uLong(input.count))
        var output = [UInt8](repeating: 0, count: Int(size))
        let status = output.withUnsafeMutableBufferPointer { out in
            input.withUnsafeBufferPointer { source in
                compress2(out.baseAddress, &size, source.baseAddress, uLong(source.count), level)
            }
        }
        // compress2 can only fail on bad arguments or memory exhaustion: both are programming errors here.
        precondition(status == Z_OK, "compress2 failed with \(status)")
        return Array(output.prefix(Int(size)))
    }

    /// Continues a CRC-32 (as in PNG) over `buffer`; start with 0.
    @inline(__always)
    public static func crc32(_ crc: UInt32, _ buffer: UnsafeBufferPointer<UInt8>) -> UInt32 {
        guard buffer.count > 0 else { return crc }
        return UInt32(truncatingIfNeeded: CZlib.crc32(uLong(crc), buffer.baseAddress, uInt(buffer.count)))
    }
}
