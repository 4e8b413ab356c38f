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
/// temporary name, flushed and renamed, so a reader never sees a half-written file.
public enum SafetensorsWriter {
    public static func write(_ values: [String: SafetensorsValue], metadata: [String: String] = [:], to path: String) throws {
        for (name, value) in values {
            let expected = value.shape.elementCount
            let actual: Int
            switch value {
            case let .tensor(t): actual = t.count
            case let .int64(v, _): actual = v.count
            case let .uint8(v, _): actual = v.count
            case let .bool(v, _): actual = v.count
            }
            guard expected == actual, !name.isEmpty, name != "__metadata__" else {
                throw SafetensorsError.badEntry(path: path, name: name, detail: "cannot write: \(actual) values for shape \(value.shape), or a reserved name")
            }
        }
        let names = values.keys.sorted()
        var header: [String: Any] = [:]
        var offset = 0
        for name in names {
            let value = values[name]!
            let bytes = value.shape.elementCount * value.dtype.byteSize
            header[name] = ["dtype": value.dtype.rawValue, "shape": value.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }

        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SafetensorsError.io(path: path, detail: "cannot create: \(String(cString: strerror(errno)))") }
        do {
            var length = UInt64(json.count).littleEndian
            try withUnsafeBytes(of: &length) { try writeFully(fd, $0, path: path) }
            try json.withUnsafeBytes { try writeFully(fd, $0, path: path) }
            for name in names { try values[name]!.withBytes { try writeFully(fd, $0, path: path) } }
            guard fsync(fd) == 0 else { throw SafetensorsError.io(path: path, detail: "fsync failed: \(String(cString: strerror(errno)))") }
            close(fd)
            guard rename(temporary, path) == 0 else { throw SafetensorsError.io(path: path, detail: "rename failed: \(String(cString: strerror(errno)))") }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
    }

    /// Convenience: float tensors only.
    public static func write(tensors: [String: Tensor], metadata: [String: String] = [:], to path: String) throws {
        try write(tensors.mapValues { .tensor($0) }, metadata: metadata, to: path)
    }

    private static func writeFully(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < buffer.count {
            let n = Glibc.write(fd, buffer.baseAddress! + done, buffer.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw SafetensorsError.io(path: path, detail: "write failed: \(String(cString: strerror(errno)))") }
            done += n
        }
    }
}
