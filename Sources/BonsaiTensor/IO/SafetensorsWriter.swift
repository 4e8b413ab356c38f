import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A value to store in a safetensors file: a float tensor (F32/F64 as its dtype) or integer data.
public enum SafetensorsValue: Sendable {
    case tensor(Tensor)
    case int64([Int], shape: [Int])
    case uint8([UInt8], shape: [Int])
    case bool([Bool], shape: [Int])

    var dtype: SafetensorsDType {
        switch self {
        case let .tensor(t): return t.dtype == .float32 ? .float32 : .float64
        case .int64: return .int64
        case .uint8: return .uint8
        case .bool: return .bool
        }
    }

    var shape: [Int] {
        switch self {
        case let .tensor(t): return t.shape
        case let .int64(_, s), let .uint8(_, s), let .bool(_, s): return s
        }
    }

    /// Calls `body` with the value's bytes in little-endian order.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch self {
        case let .tensor(t):
            return try t.withRawBytes { try body(UnsafeRawBufferPointer(start: $0, count: t.count * t.dtype.byteSize)) }
        case let .int64(values, _):
            return try values.map { Int64($0).littleEndian }.withUnsafeBytes(body)
        case let .uint8(values, _):
            return try values.withUnsafeBytes(body)
        case let .bool(values, _):
            return try values.map { $0 ? UInt8(1) : 0 }.withUnsafeBytes(body)
        }
    }
}

/// Writes safetensors files. Names are sorted (the format's convention), the header is padded
/// with spaces to a multiple of 8 bytes so the data section is aligned, and the file is written to a
/// temporary name in the same directory, flushed, renamed over the target and the directory flushed,
/// so a reader sees either the old file or the complete new one, never a half-written file.
public enum SafetensorsWriter {
    public static func write(_ values: [String: SafetensorsValue], metadata: [String: String] = [:], to path: String) throws {
        for (name, value) in values {
            try validate(name: name, value: value, path: path)
        }
        let names = values.keys.sorted()
        let header = self.header(values, names: names, metadata: metadata)

        let temporary = temporaryPath(for: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SafetensorsError.io(path: path, detail: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        do {
            var length = UInt64(header.count).littleEndian
            try withUnsafeBytes(of: &length) { try writeFully(fd, $0, path: path) }
            try header.withUnsafeBytes { try writeFully(fd, $0, path: path) }
            for name in names { try values[name]!.withBytes { try writeFully(fd, $0, path: path) } }
            guard fsync(fd) == 0 else { throw SafetensorsError.io(path: path, detail: "fsync failed: \(String(cString: strerror(errno)))") }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        guard close(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw SafetensorsError.io(path: path, detail: "close failed: \(reason)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw SafetensorsError.io(path: path, detail: "rename failed: \(reason)")
        }
        syncDirectory(of: path)
    }

    /// Convenience: float tensors only.
    public static func write(tensors: [String: Tensor], metadata: [String: String] = [:], to path: String) throws {
        try write(tensors.mapValues { .tensor($0) }, metadata: metadata, to: path)
    }

    private static func validate(name: String, value: SafetensorsValue, path: String) throws {
        guard !name.isEmpty, name != "__metadata__" else {
            throw SafetensorsError.badEntry(path: path, name: name, detail: "cannot write: empty or reserved name")
        }
        var elements = 1, overflow = false
        for d in value.shape where !overflow {
            guard d >= 0 else { throw SafetensorsError.badEntry(path: path, name: name, detail: "cannot write: negative dimension in \(value.shape)") }
            (elements, overflow) = elements.multipliedReportingOverflow(by: d)
        }
        guard !overflow else { throw SafetensorsError.badEntry(path: path, name: name, detail: "cannot write: shape \(value.shape) overflows") }
        let actual: Int
        switch value {
        case let .tensor(t): actual = t.count
        case let .int64(v, _): actual = v.count
        case let .uint8(v, _): actual = v.count
        case let .bool(v, _): actual = v.count
        }
        guard elements == actual else {
            throw SafetensorsError.badEntry(path: path, name: name, detail: "cannot write: \(actual) values for shape \(value.shape)")
        }
    }

    /// The header JSON (metadata first, then entries in `names` order), padded with spaces so that
    /// `8 + header.count` — the start of the data section — is a multiple of 8.
    static func header(_ values: [String: SafetensorsValue], names: [String], metadata: [String: String]) -> [UInt8] {
        var parts: [String] = []
        if !metadata.isEmpty {
            let items = metadata.keys.sorted().map { "\(HeaderJSON.quoted($0)):\(HeaderJSON.quoted(metadata[$0]!))" }
            parts.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        var offset = 0
        for name in names {
            let value = values[name]!
            let bytes = value.shape.elementCount * value.dtype.byteSize
            let shape = value.shape.map(String.init).joined(separator: ",")
            parts.append("\(HeaderJSON.quoted(name)):{\"dtype\":\"\(value.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        var json = Array("{\(parts.joined(separator: ","))}".utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        return json
    }

    /// A name next to `path` that no other writer (thread or process) uses at the same time.
    private static func temporaryPath(for path: String) -> String {
        var rng = SystemRandomNumberGenerator()
        let token = String(rng.next() & 0xFFFF_FFFF_FFFF, radix: 36)
        return path + ".tmp-\(getpid())-\(token)"
    }

    /// Flushes the directory entry of a rename (best effort: some file systems refuse fsync on a directory).
    private static func syncDirectory(of path: String) {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) }.map { $0.isEmpty ? "/" : $0 } ?? "."
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    private static func writeFully(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, path: String) throws {
        guard let base = buffer.baseAddress else { return }
        var done = 0
        while done < buffer.count {
            let n = Glibc.write(fd, base + done, buffer.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw SafetensorsError.io(path: path, detail: "write failed: \(String(cString: strerror(errno)))") }
            done += n
        }
    }
}
