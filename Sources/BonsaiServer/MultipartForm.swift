import Foundation

/// A parsed `multipart/form-data` body (RFC 7578): named fields, each with its bytes.
///
/// Parsing is strict and bounded because the body is untrusted: the boundary must come from the
/// `Content-Type` header (1–70 characters, RFC 2046), every part needs a `Content-Disposition:
/// form-data; name="…"` header, header blocks are at most 8 KiB, names are unique, and the part
/// count is capped. Errors are ``MultipartError`` values that name what is wrong.
struct MultipartForm {
    /// Field name → content, in the order sent.
    private(set) var fields: [(name: String, filename: String?, data: Data)] = []

    static let maxParts = 32
    static let maxHeaderBytes = 8 << 10

    subscript(name: String) -> Data? { fields.first { $0.name == name }?.data }

    /// A text field's value (UTF-8, surrounding whitespace trimmed).
    func text(_ name: String) throws -> String? {
        guard let data = self[name] else { return nil }
        guard let string = String(data: data, encoding: .utf8) else { throw MultipartError.invalid("field '\(name)' is not UTF-8 text") }
        return string.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The boundary of a `multipart/form-data` content type, or nil for another type.
    static func boundary(contentType: String?) throws -> String {
        guard let contentType else { throw MultipartError.invalid("missing Content-Type: expected multipart/form-data") }
        let items = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard items.first?.lowercased() == "multipart/form-data" else {
            throw MultipartError.invalid("Content-Type must be multipart/form-data, got '\(items.first ?? "")'")
        }
        for item in items.dropFirst() where item.lowercased().hasPrefix("boundary=") {
            var value = String(item.dropFirst("boundary=".count))
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            guard (1...70).contains(value.utf8.count), value.allSatisfy({ $0.isASCII && !$0.isNewline }) else {
                throw MultipartError.invalid("the multipart boundary must be 1–70 ASCII characters")
            }
            return value
        }
        throw MultipartError.invalid("Content-Type multipart/form-data needs a boundary parameter")
    }

    /// Parses `body` delimited by `boundary`.
    init(body: Data, boundary: String) throws {
        let bytes = [UInt8](body)
        let delimiter = Array("--\(boundary)".utf8)
        guard var position = Self.find(delimiter, in: bytes, from: 0) else {
            throw MultipartError.invalid("the body contains no part delimited by the boundary")
        }
        position += delimiter.count
        while true {
            // After a delimiter: "--" closes the body, CRLF starts a part.
            if Self.hasPrefix(bytes, at: position, Array("--".utf8)) { break }
            guard Self.hasPrefix(bytes, at: position, [13, 10]) else { throw MultipartError.invalid("malformed delimiter line") }
            position += 2
            guard let headerEnd = Self.find([13, 10, 13, 10], in: bytes, from: position, limit: Self.maxHeaderBytes) else {
                throw MultipartError.invalid("a part's headers do not end within \(Self.maxHeaderBytes) bytes")
            }
            let headers = String(decoding: bytes[position..<headerEnd], as: UTF8.self)
            let (name, filename) = try Self.disposition(headers)
            let contentStart = headerEnd + 4
            guard let next = Self.find([13, 10] + delimiter, in: bytes, from: contentStart) else {
                throw MultipartError.invalid("part '\(name)' is not terminated by the boundary (truncated body?)")
            }
            guard !fields.contains(where: { $0.name == name }) else { throw MultipartError.invalid("field '\(name)' appears twice") }
            guard fields.count < Self.maxParts else { throw MultipartError.invalid("more than \(Self.maxParts) parts") }
            fields.append((name, filename, Data(bytes[contentStart..<next])))
            position = next + 2 + delimiter.count
        }
    }

    /// The `name` and `filename` of a part's `Content-Disposition: form-data` header.
    private static func disposition(_ headers: String) throws -> (String, String?) {
        for line in headers.components(separatedBy: "\r\n") {
            let pieces = line.split(separator: ":", maxSplits: 1)
            guard pieces.count == 2, pieces[0].trimmingCharacters(in: .whitespaces).lowercased() == "content-disposition" else { continue }
            let params = pieces[1].split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard params.first?.lowercased() == "form-data" else { throw MultipartError.invalid("Content-Disposition must be form-data") }
            var name: String?, filename: String?
            for param in params.dropFirst() {
                let kv = param.split(separator: "=", maxSplits: 1)
                guard kv.count == 2 else { continue }
                var value = String(kv[1])
                if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
                switch kv[0].lowercased() {
                case "name": name = value
                case "filename": filename = value
                default: break
                }
            }
            guard let name, !name.isEmpty, name.count <= 100 else { throw MultipartError.invalid("a part has no usable name") }
            return (name, filename)
        }
        throw MultipartError.invalid("a part has no Content-Disposition header")
    }

    private static func hasPrefix(_ bytes: [UInt8], at index: Int, _ prefix: [UInt8]) -> Bool {
        index + prefix.count <= bytes.count && Array(bytes[index..<index + prefix.count]) == prefix
    }

    /// First index of `needle` in `bytes` at or after `from` (and, with `limit`, starting within
    /// `limit` bytes of it). A first-byte scan keeps this linear on real data.
    private static func find(_ needle: [UInt8], in bytes: [UInt8], from: Int, limit: Int? = nil) -> Int? {
        guard let first = needle.first, needle.count <= bytes.count else { return nil }
        let last = min(bytes.count - needle.count, limit.map { from + $0 } ?? Int.max)
        guard from <= last else { return nil }
        return bytes.withUnsafeBufferPointer { b in
            needle.withUnsafeBufferPointer { n in
                var i = from
                while i <= last {
                    if b[i] == first {
                        var j = 1
                        while j < n.count && b[i + j] == n[j] { j += 1 }
                        if j == n.count { return i }
                    }
                    i += 1
                }
                return nil
            }
        }
    }
}

/// A body that is not acceptable `multipart/form-data`.
enum MultipartError: Error, CustomStringConvertible {
    case invalid(String)
    var description: String {
        switch self { case let .invalid(detail): detail }
    }
}
