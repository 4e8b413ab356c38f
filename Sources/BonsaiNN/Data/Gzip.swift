import CZlib

/// Gzip decompression through zlib, with a hard cap on the output size.
///
/// `inflateInit2(…, 15 + 16)` makes zlib expect a gzip wrapper (RFC 1952) around the deflate
/// stream and check its CRC-32 and length trailer. Several gzip members in a row (what `cat a.gz
/// b.gz` produces) are decompressed one after another, as `gunzip` does; any other trailing bytes
/// are an error. Bytes that do not start with the gzip magic `1f 8b` are returned unchanged, so
/// every reader accepts compressed and uncompressed files alike.
public enum Gzip {
    /// True when `bytes` starts with the gzip magic `1f 8b`.
    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    /// The decompressed bytes of `bytes` if it is gzip'd, else `bytes` itself.
    public static func decompressIfNeeded(_ bytes: [UInt8], file: String,
                                          limits: DataLimits = .standard) throws -> [UInt8] {
        guard isGzip(bytes) else {
            guard bytes.count <= limits.maxDecompressedBytes else {
                throw DataError.tooLarge(file: file, reason: "\(bytes.count) bytes, limit \(limits.maxDecompressedBytes)")
            }
            return bytes
        }
        return try decompress(bytes, file: file, limit: limits.maxDecompressedBytes)
    }

    /// Decompresses all gzip members in `bytes`; throws once the output would exceed `limit` bytes.
    public static func decompress(_ bytes: [UInt8], file: String, limit: Int) throws -> [UInt8] {
        guard isGzip(bytes) else { throw DataError.badMagic(file: file, reason: "no gzip magic 1f 8b") }
        var output = [UInt8](repeating: 0, count: initialCapacity(for: bytes, limit: limit))
        var produced = 0
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError.decompression(file: file, reason: "inflateInit2 failed")
        }
        defer { inflateEnd(&stream) }
        try bytes.withUnsafeBufferPointer { input in
            var consumed = 0
            while true {
                // One gzip member per pass of this loop.
                var status = Z_OK
                repeat {
                    if produced == output.count {
                        guard output.count < limit + 1 else {
                            throw DataError.tooLarge(file: file, reason: "decompresses to more than \(limit) bytes")
                        }
                        let grown = Swift.min(Swift.max(output.count * 2, 1 << 16), limit + 1)
                        output.append(contentsOf: repeatElement(0, count: grown - output.count))
                    }
                    let remainingIn = input.count - consumed
                    let chunkIn = Swift.min(remainingIn, Int(UInt32.max))
                    let chunkOut = Swift.min(output.count - produced, Int(UInt32.max))
                    stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress! + consumed)
                    stream.avail_in = uInt(chunkIn)
                    status = output.withUnsafeMutableBufferPointer { out in
                        stream.next_out = out.baseAddress! + produced
                        stream.avail_out = uInt(chunkOut)
                        return inflate(&stream, Z_NO_FLUSH)
                    }
                    consumed += chunkIn - Int(stream.avail_in)
                    produced += chunkOut - Int(stream.avail_out)
                    switch status {
                    case Z_OK, Z_STREAM_END:
                        break
                    case Z_BUF_ERROR where produced == output.count:
                        status = Z_OK  // output full: grow and retry
                    case Z_BUF_ERROR:
                        throw DataError.decompression(file: file, reason: "unexpected end of compressed data")
                    default:
                        throw DataError.decompression(file: file, reason: message(stream, status))
                    }
                    if status == Z_OK && consumed == input.count && stream.avail_out > 0 {
                        throw DataError.decompression(file: file, reason: "unexpected end of compressed data")
                    }
                } while status != Z_STREAM_END
                guard produced <= limit else {
                    throw DataError.tooLarge(file: file, reason: "decompresses to more than \(limit) bytes")
                }
                if consumed == input.count { break }
                guard input.count - consumed >= 2, input[consumed] == 0x1f, input[consumed + 1] == 0x8b else {
                    throw DataError.decompression(file: file, reason: "\(input.count - consumed) trailing bytes after the gzip stream")
                }
                guard inflateReset(&stream) == Z_OK else {
                    throw DataError.decompression(file: file, reason: "inflateReset failed")
                }
            }
        }
        output.removeSubrange(produced...)
        return output
    }

    /// `bytes` as one gzip member (no file name, mtime 0), e.g. to store an upload compressed.
    public static func compress(_ bytes: [UInt8], level: Int32 = 6) throws -> [UInt8] {
        var stream = z_stream()
        guard deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                            zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError.decompression(file: "<memory>", reason: "deflateInit2 failed")
        }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(bytes.count))) + 64
        var output = [UInt8](repeating: 0, count: bound)
        var input = bytes
        let status = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = uInt(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = uInt(target.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else {
            throw DataError.decompression(file: "<memory>", reason: "deflate returned \(status)")
        }
        output.removeSubrange(Int(stream.total_out)...)
        return output
    }

    /// A first output size: the gzip trailer's ISIZE (length mod 2^32 of the last member), bounded
    /// by deflate's maximum ratio (about 1032:1) and the limit, so a lying trailer costs at most
    /// what the input could legitimately expand to.
    private static func initialCapacity(for bytes: [UInt8], limit: Int) -> Int {
        let n = bytes.count
        guard n >= 18 else { return 1 << 12 }
        let hint = Int(bytes[n - 4]) | Int(bytes[n - 3]) << 8 | Int(bytes[n - 2]) << 16 | Int(bytes[n - 1]) << 24
        let plausible = n.multipliedReportingOverflow(by: 1032)
        let ceiling = plausible.overflow ? limit : Swift.min(plausible.partialValue, limit)
        return Swift.max(1 << 12, Swift.min(hint + 1, ceiling))
    }

    private static func message(_ stream: z_stream, _ status: Int32) -> String {
        if let text = stream.msg { return String(cString: text) }
        return "zlib status \(status)"
    }
}
