import Foundation

/// A JSON text Bonsai wrote itself (a job's stored spec, result or latest metrics), spliced into a
/// response as it is instead of being parsed and written again.
struct RawJSON: Sendable {
    let text: String
}

/// Writes the API's JSON bodies: objects with keys in a stable order, UTF-8, no whitespace.
///
/// Why not `JSONSerialization`: on Linux its `.sortedKeys` compares keys with ICU collation and it
/// bridges every dictionary to `NSDictionary`; profiling a status poll showed 43 % of the server's
/// CPU inside it (a poll cost ~1.2 ms instead of ~0.1 ms). Keys here are ordered by their Unicode
/// scalars (`String <`), which for the API's ASCII keys is the same order.
///
/// Values: `String`, `Bool`, `Int`/`Int64`/`Int32`/`UInt8`, `Double`/`Float` (non-finite → `null`, as
/// JSON has no NaN), `NSNull`, `NSNumber` (from `JSONSerialization` parses), `[Any]`, `[String: Any]`,
/// `RawJSON`, and optionals of these (nil → `null`). Anything else is a programming error reported as
/// ``Unsupported`` rather than written wrongly.
enum JSONWriter {
    struct Unsupported: Error, CustomStringConvertible {
        let type: String
        var description: String { "JSONWriter cannot encode a value of type \(type)" }
    }

    static func bytes(_ value: Any) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        try write(value, into: &out)
        return out
    }

    static func write(_ value: Any, into out: inout [UInt8]) throws {
        switch value {
        case let v as String: writeString(v, into: &out)
        case let v as Bool: out.append(contentsOf: v ? Array("true".utf8) : Array("false".utf8))
        case let v as Int: out.append(contentsOf: String(v).utf8)
        case let v as Int64: out.append(contentsOf: String(v).utf8)
        case let v as Int32: out.append(contentsOf: String(v).utf8)
        case let v as UInt8: out.append(contentsOf: String(v).utf8)
        case let v as Double: writeDouble(v, into: &out)
        case let v as Float: writeDouble(Double(v), into: &out)
        case is NSNull: out.append(contentsOf: "null".utf8)
        case let v as RawJSON: out.append(contentsOf: v.text.utf8)
        case let v as [String: Any]: try writeObject(v, into: &out)
        case let v as [Any]:
            out.append(UInt8(ascii: "["))
            for (i, element) in v.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                try write(element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case let v as NSNumber: writeNumber(v, into: &out)
        case let v as NSString: writeString(v as String, into: &out)
        default:
            // Optionals arrive boxed in `Any`; unwrap one level.
            let mirror = Mirror(reflecting: value)
            if mirror.displayStyle == .optional {
                if let wrapped = mirror.children.first?.value { try write(wrapped, into: &out) } else { out.append(contentsOf: "null".utf8) }
                return
            }
            throw Unsupported(type: String(describing: type(of: value)))
        }
    }

    static func writeObject(_ object: [String: Any], into out: inout [UInt8]) throws {
        out.append(UInt8(ascii: "{"))
        for (i, key) in object.keys.sorted().enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            writeString(key, into: &out)
            out.append(UInt8(ascii: ":"))
            try write(object[key]!, into: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// RFC 8259 string escaping: quote, backslash and control characters; everything else as UTF-8.
    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                        hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Shortest round-trip form (`0.1`, `1e-05`, `2.0`: all valid JSON numbers); NaN and ±∞ → null.
    static func writeDouble(_ v: Double, into out: inout [UInt8]) {
        guard v.isFinite else { out.append(contentsOf: "null".utf8); return }
        out.append(contentsOf: v.description.utf8)
    }

    /// `NSNumber` from `JSONSerialization`: booleans are `__NSCFBoolean`, integers print exactly.
    static func writeNumber(_ n: NSNumber, into out: inout [UInt8]) {
        if String(describing: type(of: n)).contains("Boolean") {
            out.append(contentsOf: (n.boolValue ? "true" : "false").utf8)
            return
        }
        switch String(cString: n.objCType) {
        case "f", "d": writeDouble(n.doubleValue, into: &out)
        case "Q", "L", "I", "S", "C": out.append(contentsOf: String(n.uint64Value).utf8)
        default: out.append(contentsOf: String(n.int64Value).utf8)
        }
    }
}
