import Foundation

/// The element types of the safetensors format that Bonsai reads and writes.
public enum SafetensorsDType: String, Sendable, CaseIterable, Codable {
    case float32 = "F32"
    case float64 = "F64"
    case int64 = "I64"
    case uint8 = "U8"
    case bool = "BOOL"

    public var byteSize: Int {
        switch self {
        case .float32: return 4
        case .float64, .int64: return 8
        case .uint8, .bool: return 1
        }
    }

    /// The tensor dtype a float entry loads as (nil for integer and boolean entries).
    public var tensorDType: DType? {
        switch self {
        case .float32: return .float32
        case .float64: return .float64
        default: return nil
        }
    }
}

/// One entry of a safetensors header: dtype, shape and byte range inside the data section.
public struct SafetensorsEntry: Sendable, Equatable {
    public let name: String
    public let dtype: SafetensorsDType
    public let shape: [Int]
    /// Byte range relative to the start of the data section.
    public let range: Range<Int>

    public var elementCount: Int { shape.elementCount }
}

/// Why a safetensors file was rejected. Every case names the file and, where there is one, the entry.
public enum SafetensorsError: Error, Equatable, CustomStringConvertible, Sendable {
    case io(path: String, detail: String)
    case truncated(path: String, detail: String)
    case badHeader(path: String, detail: String)
    case badEntry(path: String, name: String, detail: String)
    case missingTensor(path: String, name: String)
    case wrongKind(path: String, name: String, detail: String)

    public var description: String {
        switch self {
        case let .io(path, detail): return "safetensors \(path): \(detail)"
        case let .truncated(path, detail): return "safetensors \(path): truncated file: \(detail)"
        case let .badHeader(path, detail): return "safetensors \(path): malformed header: \(detail)"
        case let .badEntry(path, name, detail): return "safetensors \(path): tensor '\(name)': \(detail)"
        case let .missingTensor(path, name): return "safetensors \(path): no tensor named '\(name)'"
        case let .wrongKind(path, name, detail): return "safetensors \(path): tensor '\(name)': \(detail)"
        }
    }
}

/// Parsing and validation of the header, shared by the file reader and by in-memory uploads.
///
/// Layout: an unsigned 64-bit little-endian header length `N`, then `N` bytes of UTF-8 JSON mapping
/// each tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` plus an optional
/// `"__metadata__"` map of strings, then the data section. Offsets are relative to the data
/// section; ranges must lie inside it, match `∏shape × dtype size`, and not overlap.
///
/// Validation is strict where leniency could mislead (a float or boolean shape entry, a duplicate
/// key, a header that is not UTF-8 or does not start with `{` as the format requires) and lenient
/// where the reference reader is too (unknown keys in an entry are ignored, gaps between tensors
/// are allowed). Every rejection is a ``SafetensorsError``; nothing a file contains can trap.
enum SafetensorsHeader {
    /// Headers larger than this are refused before being read (the format's reference
    /// implementation uses the same 100 MB bound).
    static let maximumHeaderBytes = 100_000_000

    static func parse(_ json: Data, dataSize: Int, path: String) throws -> (entries: [SafetensorsEntry], metadata: [String: String]) {
        try json.withUnsafeBytes { try parse($0, dataSize: dataSize, path: path) }
    }

    static func parse(_ json: [UInt8], dataSize: Int, path: String) throws -> (entries: [SafetensorsEntry], metadata: [String: String]) {
        try json.withUnsafeBytes { try parse($0, dataSize: dataSize, path: path) }
    }

    static func parse(_ json: UnsafeRawBufferPointer, dataSize: Int, path: String) throws -> (entries: [SafetensorsEntry], metadata: [String: String]) {
        guard json.first == UInt8(ascii: "{") else {
            throw SafetensorsError.badHeader(path: path, detail: "header does not start with '{'")
        }
        let root: HeaderJSON
        do { root = try HeaderJSON.parse(json) } catch {
            throw SafetensorsError.badHeader(path: path, detail: "\(error)")
        }
        guard case let .object(members) = root else {
            throw SafetensorsError.badHeader(path: path, detail: "header is not a JSON object")
        }
        var metadata: [String: String] = [:]
        var entries: [SafetensorsEntry] = []
        for (name, value) in members {
            if name == "__metadata__" {
                guard case let .object(items) = value else {
                    throw SafetensorsError.badHeader(path: path, detail: "__metadata__ is not an object")
                }
                for (key, item) in items {
                    guard case let .string(text) = item else {
                        throw SafetensorsError.badHeader(path: path, detail: "__metadata__ value of '\(key)' is not a string")
                    }
                    metadata[key] = text
                }
                continue
            }
            entries.append(try entry(name: name, value: value, dataSize: dataSize, path: path))
        }
        entries.sort { ($0.range.lowerBound, $0.range.upperBound, $0.name) < ($1.range.lowerBound, $1.range.upperBound, $1.name) }
        // Sorted by start, ranges are disjoint iff each starts at or after the previous one ends.
        // Empty ranges (zero-element tensors) occupy no bytes and cannot overlap anything.
        var previous: SafetensorsEntry?
        for next in entries where !next.range.isEmpty {
            if let previous, next.range.lowerBound < previous.range.upperBound {
                throw SafetensorsError.badEntry(path: path, name: next.name,
                                                detail: "byte range \(next.range) overlaps tensor '\(previous.name)'")
            }
            previous = next
        }
        return (entries, metadata)
    }

    private static func entry(name: String, value: HeaderJSON, dataSize: Int, path: String) throws -> SafetensorsEntry {
        func fail(_ detail: String) -> SafetensorsError { .badEntry(path: path, name: name, detail: detail) }
        guard case let .object(members) = value else { throw fail("entry is not an object") }
        let fields = Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        guard let dtypeField = fields["dtype"] else { throw fail("missing dtype") }
        guard case let .string(dtypeName) = dtypeField else { throw fail("dtype is not a string") }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw fail("unsupported dtype '\(dtypeName)' (Bonsai reads F32, F64, I64, U8, BOOL)")
        }
        guard let shape = integers(fields["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
            throw fail("shape is not a list of non-negative integers")
        }
        guard let offsets = integers(fields["data_offsets"]), offsets.count == 2 else {
            throw fail("data_offsets is not a pair of integers")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin >= 0, end >= begin, end <= dataSize else {
            throw fail("data_offsets [\(begin), \(end)] outside the data section of \(dataSize) bytes")
        }
        var elements = 1, overflow = false
        for d in shape where !overflow {
            (elements, overflow) = elements.multipliedReportingOverflow(by: d)
        }
        let (bytes, overflow2) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, !overflow2 else { throw fail("shape \(shape) has more elements than can be addressed") }
        guard bytes == end - begin else {
            throw fail("shape \(shape) of \(dtypeName) needs \(bytes) bytes but data_offsets [\(begin), \(end)] hold \(end - begin)")
        }
        return SafetensorsEntry(name: name, dtype: dtype, shape: shape, range: begin..<end)
    }

    /// A JSON array of integer tokens (fractions, exponents, booleans, strings and numbers outside
    /// `Int` are all refused).
    private static func integers(_ value: HeaderJSON?) -> [Int]? {
        guard case let .array(items) = value else { return nil }
        var result: [Int] = []
        result.reserveCapacity(items.count)
        for item in items {
            guard case let .integer(number) = item else { return nil }
            result.append(number)
        }
        return result
    }
}
