import CCrypto

/// SHA-256 that hashes a file while it is read once: `update` with each chunk, then `finalize`.
///
/// ```swift
/// var h = SHA256()
/// h.update(Array("abc".utf8))
/// h.finalize().hex  // "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// ```
/// OpenSSL's libcrypto does the work (Debian's libssl-dev): its context is a plain C struct held inline, so
/// this stays a value type, and it uses the CPU's SHA instructions where there are some.
public struct SHA256: Sendable {
    /// A finished digest: 32 bytes.
    public struct Digest: Sendable, Equatable, Hashable, CustomStringConvertible {
        public let bytes: [UInt8]
        /// Lower-case hex, 64 characters, as `sha256sum` prints it.
        public var hex: String {
            let digits = Array("0123456789abcdef".utf8)
            var out: [UInt8] = []
            out.reserveCapacity(64)
            for b in bytes {
                out.append(digits[Int(b >> 4)])
                out.append(digits[Int(b & 0xf)])
            }
            return String(decoding: out, as: UTF8.self)
        }
        public var description: String { hex }
    }

    private var context = SHA256_CTX()

    public init() { SHA256_Init(&context) }

    /// The digest of `bytes` in one call.
    public static func hash(_ bytes: [UInt8]) -> Digest {
        var h = SHA256()
        h.update(bytes)
        return h.finalize()
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { update($0) }
    }

    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        update(buffer.bindMemory(to: UInt8.self))
    }

    public mutating func update(_ buffer: UnsafeBufferPointer<UInt8>) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        SHA256_Update(&context, base, buffer.count)
    }

    /// The digest of everything given to `update`. The hasher must not be used afterwards.
    public mutating func finalize() -> Digest {
        var digest = [UInt8](repeating: 0, count: 32)
        SHA256_Final(&digest, &context)
        return Digest(bytes: digest)
    }
}
