import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A safetensors file opened for reading. Only the header is read on open; each tensor's bytes
/// are read on request with `pread` straight into the new tensor's storage, so a large file is
/// never held in memory twice (nor all at once).
public final class SafetensorsFile: @unchecked Sendable {
    public let path: String
    public let metadata: [String: String]
    /// Entries in file order.
    public let entries: [SafetensorsEntry]
    private let byName: [String: SafetensorsEntry]
    private let descriptor: Int32
    private let dataStart: Int

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SafetensorsError.io(path: path, detail: "cannot open: \(String(cString: strerror(errno)))") }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw SafetensorsError.io(path: path, detail: "cannot stat: \(reason)")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw SafetensorsError.io(path: path, detail: "not a regular file")
        }
        let fileSize = Int(info.st_size)
        do {
            guard fileSize >= 8 else { throw SafetensorsError.truncated(path: path, detail: "\(fileSize) bytes, less than the 8-byte header length") }
            var lengthBytes = [UInt8](repeating: 0, count: 8)
            try SafetensorsFile.readFully(fd, into: &lengthBytes, at: 0, path: path)
            let headerLength = lengthBytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            guard headerLength <= UInt64(SafetensorsHeader.maximumHeaderBytes) else {
                throw SafetensorsError.badHeader(path: path, detail: "header length \(headerLength) exceeds the \(SafetensorsHeader.maximumHeaderBytes)-byte limit")
            }
            guard Int(headerLength) <= fileSize - 8 else {
                throw SafetensorsError.truncated(path: path, detail: "header length \(headerLength) but only \(fileSize - 8) bytes follow")
            }
            var header = [UInt8](repeating: 0, count: Int(headerLength))
            try SafetensorsFile.readFully(fd, into: &header, at: 8, path: path)
            let dataStart = 8 + Int(headerLength)
            let parsed = try SafetensorsHeader.parse(header, dataSize: fileSize - dataStart, path: path)
            self.entries = parsed.entries
            self.metadata = parsed.metadata
            self.byName = Dictionary(parsed.entries.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            self.dataStart = dataStart
            self.descriptor = fd
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(descriptor) }

    public var names: [String] { entries.map(\.name) }

    public func entry(_ name: String) throws -> SafetensorsEntry {
        guard let entry = byName[name] else { throw SafetensorsError.missingTensor(path: path, name: name) }
        return entry
    }

    /// A float entry (F32 or F64) as a tensor of that dtype.
    public func tensor(_ name: String) throws -> Tensor {
        let entry = try entry(name)
        guard let dtype = entry.dtype.tensorDType else {
            throw SafetensorsError.wrongKind(path: path, name: name, detail: "\(entry.dtype.rawValue) is not a float dtype; read it with integers(_:)")
        }
        var tensor = Tensor.empty(entry.shape, dtype: dtype)
        try tensor.withMutableRawBytes { pointer in
            try SafetensorsFile.readFully(descriptor, into: pointer, count: entry.range.count,
                                          at: dataStart + entry.range.lowerBound, path: path)
        }
        return tensor
    }

    /// An integer or boolean entry (I64, U8, BOOL) — or a float entry whose values are all integers
    /// (finite, integral, within `Int`) — as Ints. Any other float value throws ``SafetensorsError/wrongKind(path:name:detail:)``.
    public func integers(_ name: String) throws -> [Int] {
        let entry = try entry(name)
        var bytes = [UInt8](repeating: 0, count: entry.range.count)
        try SafetensorsFile.readFully(descriptor, into: &bytes, at: dataStart + entry.range.lowerBound, path: path)
        let count = entry.elementCount
        return try bytes.withUnsafeBytes { raw -> [Int] in
            switch entry.dtype {
            case .int64:
                return (0..<count).map { Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) }
            case .uint8, .bool:
                return raw.map { Int($0) }
            case .float32:
                return try (0..<count).map { try integral(Double(raw.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self)), name) }
            case .float64:
                return try (0..<count).map { try integral(raw.loadUnaligned(fromByteOffset: 8 * $0, as: Double.self), name) }
            }
        }
    }

    /// `value` as an Int when it is one exactly (NaN, ±∞, fractions and out-of-range values throw).
    private func integral(_ value: Double, _ name: String) throws -> Int {
        guard let exact = Int(exactly: value) else {
            throw SafetensorsError.wrongKind(path: path, name: name, detail: "float value \(value) is not an integer")
        }
        return exact
    }

    /// Every float entry as a tensor, by name.
    public func floatTensors() throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for entry in entries where entry.dtype.tensorDType != nil { result[entry.name] = try tensor(entry.name) }
        return result
    }

    private static func readFully(_ fd: Int32, into buffer: inout [UInt8], at offset: Int, path: String) throws {
        let count = buffer.count
        try buffer.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            try readFully(fd, into: base, count: count, at: offset, path: path)
        }
    }

    private static func readFully(_ fd: Int32, into pointer: UnsafeMutableRawPointer, count: Int, at offset: Int, path: String) throws {
        var done = 0
        while done < count {
            let n = pread(fd, pointer + done, count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw SafetensorsError.io(path: path, detail: "read of \(count) bytes at \(offset) failed: \(String(cString: strerror(errno)))")
            }
            guard n > 0 else {
                throw SafetensorsError.truncated(path: path, detail: "read of \(count) bytes at \(offset) ended after \(done) (file shrank?)")
            }
            done += n
        }
    }
}
