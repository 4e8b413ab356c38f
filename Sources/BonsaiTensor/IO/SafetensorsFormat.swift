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
enum SafetensorsHeader {
    /// Headers larger than this are refused before being read (the format's reference
    /// implementation uses the same 100 MB bound).
    static let maximumHeaderBytes = 100_000_000

    static func parse(_ json: Data, dataSize: Int, path: String) throws -> (entries: [SafetensorsEntry], metadata: [String: String]) {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: json, options: []) } catch {
            throw SafetensorsError.badHeader(path: path, detail: "header is not valid JSON")
        }
        guard let map = object as? [String: Any] else {
            throw SafetensorsError.badHeader(path: path, detail: "header is not a JSON object")
        }
        var metadata: [String: String] = [:]
        var entries: [SafetensorsEntry] = []
        for (name, value) in map {
            if name == "__metadata__" {
                guard let meta = value as? [String: Any] else {
                    throw SafetensorsError.badHeader(path: path, detail: "__metadata__ is not an object")
                }
                for (key, item) in meta {
                    guard let text = item as? String else {
                        throw SafetensorsError.badHeader(path: path, detail: "__metadata__ value of '\(key)' is not a string")
                    }
                    metadata[key] = text
                }
                continue
            }
            entries.append(try entry(name: name, value: value, dataSize: dataSize, path: path))
        }
        entries.sort { ($0.range.lowerBound, $0.name) < ($1.range.lowerBound, $1.name) }
        for (previous, next) in zip(entries, entries.dropFirst()) where next.range.lowerBound < previous.range.upperBound {
            throw SafetensorsError.badEntry(path: path, name: next.name,
                                            detail: "byte range \(next.range) overlaps tensor '\(previous.name)'")
        }
        return (entries, metadata)
    }

    private static func entry(name: String, value: Any, dataSize: Int, path: String) throws -> SafetensorsEntry {
        guard let fields = value as? [String: Any] else {
            throw SafetensorsError.badEntry(path: path, name: name, detail: "entry is not an object")
        }
        guard let dtypeName = fields["dtype"] as? String else {
            throw SafetensorsError.badEntry(path: path, name: name, detail: "missing dtype")
        }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw SafetensorsError.badEntry(path: path, name: name, detail: "unsupported dtype '\(dtypeName)' (Bonsai reads F32, F64, I64, U8, BOOL)")
        }
        guard let shape = integers(fields["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
            throw SafetensorsError.badEntry(path: path, name: name, detail: "shape is not a list of non-negative integers")
        }
        guard let offsets = integers(fields["data_offsets"]), offsets.count == 2 else {
            throw SafetensorsError.badEntry(path: path, name: name, detail: "data_offsets is not a pair of integers")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin >= 0, end >= begin, end <= dataSize else {
            throw SafetensorsError.badEntry(path: path, name: name, detail: "data_offsets [\(begin), \(end)] outside the data section of \(dataSize) bytes")
        }
        let (elements, overflow) = shape.reduce((1, false)) { acc, d in
            let (p, o) = acc.0.multipliedReportingOverflow(by: d)
            return (p, acc.1 || o)
        }
        let (bytes, overflow2) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, !overflow2, bytes == end - begin else {
            throw SafetensorsError.badEntry(path: path, name: name, detail: "shape \(shape) of \(dtypeName) needs a different byte count than data_offsets [\(begin), \(end)]")
        }
        return SafetensorsEntry(name: name, dtype: dtype, shape: shape, range: begin..<end)
    }

    /// A JSON array of integers (rejecting fractions, booleans and out-of-range numbers).
    private static func integers(_ value: Any?) -> [Int]? {
        guard let array = value as? [Any] else { return nil }
        var result: [Int] = []
        for item in array {
            guard let number = item as? NSNumber, CFGetTypeIDIsNumber(number) else { return nil }
            let double = number.doubleValue
            guard double == double.rounded(), Swift.abs(double) < 9.0e15 else { return nil }
            result.append(number.intValue)
        }
        return result
    }

    /// True for a JSON number (Foundation bridges `true`/`false` to NSNumber too).
    private static func CFGetTypeIDIsNumber(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) != "c" || (number.intValue != 0 && number.intValue != 1)
    }
}
