/// Labelled texts read from a TSV file.
public struct TextSamples: Sendable, Equatable {
    public var texts: [String]
    public var labels: [Int]
    public var count: Int { labels.count }

    public init(texts: [String], labels: [Int]) {
        precondition(texts.count == labels.count, "TextSamples: \(texts.count) texts, \(labels.count) labels")
        self.texts = texts
        self.labels = labels
    }

    /// The samples at `indices`, in that order.
    public func subset(_ indices: [Int]) -> TextSamples {
        TextSamples(texts: indices.map { texts[$0] }, labels: indices.map { labels[$0] })
    }
}

/// The `label<TAB>text` TSV format of the text sets, and `classes.txt`.
///
/// UTF-8, one sample per line, first line `label<TAB>text`; each following line is a decimal label,
/// one TAB, and the text (which holds no TAB, CR or LF, so the line is split at its first TAB).
/// For uploads made on other systems a UTF-8 byte-order mark, CRLF line ends and blank lines at the
/// end of the file are tolerated; everything else that deviates throws ``DataError/invalidText``
/// with the 1-based line number: invalid UTF-8, a missing TAB, a label that is not a decimal number,
/// a wrong header, a blank line between samples. Labels outside `0..<classCount` throw
/// ``DataError/labelOutOfRange``.
public enum TSVFormat {
    public static let header = "label\ttext"

    /// Parses TSV bytes.
    public static func parse(_ bytes: [UInt8], file: String, classCount: Int) throws -> TextSamples {
        let lines = try decodeLines(bytes, file: file)
        guard let first = lines.first else { throw DataError.empty(file: file) }
        guard first == header else {
            throw DataError.invalidText(file: file, line: 1, reason: "header must be 'label<TAB>text', found '\(first.prefix(40))'")
        }
        var texts: [String] = []
        var labels: [Int] = []
        texts.reserveCapacity(lines.count - 1)
        labels.reserveCapacity(lines.count - 1)
        for (offset, line) in lines.dropFirst().enumerated() {
            let lineNumber = offset + 2
            guard let tab = line.firstIndex(of: "\t") else {
                throw DataError.invalidText(file: file, line: lineNumber, reason: line.isEmpty ? "blank line" : "no TAB between label and text")
            }
            let field = line[..<tab]
            guard !field.isEmpty, field.count <= 9, field.allSatisfy({ $0.isASCII && $0.isNumber }), let label = Int(field) else {
                throw DataError.invalidText(file: file, line: lineNumber, reason: "label '\(field.prefix(20))' is not a non-negative integer")
            }
            guard label < classCount else {
                throw DataError.labelOutOfRange(file: file, sample: labels.count, label: label, classCount: classCount)
            }
            labels.append(label)
            texts.append(String(line[line.index(after: tab)...]))
        }
        guard !labels.isEmpty else { throw DataError.empty(file: file) }
        return TextSamples(texts: texts, labels: labels)
    }

    /// Reads a TSV file (gzip'd or not).
    public static func load(_ path: String, classCount: Int, limits: DataLimits = .standard) throws -> TextSamples {
        try parse(DataFile.read(path, limits: limits), file: path, classCount: classCount)
    }

    /// Parses `classes.txt`: one class name per line, in label order. Names must be non-empty and
    /// distinct, and there must be at least two.
    public static func parseClasses(_ bytes: [UInt8], file: String) throws -> [String] {
        let names = try decodeLines(bytes, file: file)
        for (index, name) in names.enumerated() {
            guard !name.trimmingSpaces.isEmpty else {
                throw DataError.invalidText(file: file, line: index + 1, reason: "empty class name")
            }
            if let earlier = names[..<index].firstIndex(of: name) {
                throw DataError.invalidText(file: file, line: index + 1, reason: "class '\(name)' repeats line \(earlier + 1)")
            }
        }
        guard names.count >= 2 else {
            throw DataError.invalidText(file: file, line: names.count + 1, reason: "need at least 2 class names, found \(names.count)")
        }
        return names
    }

    /// Reads `classes.txt` (or `batches.meta.txt`) from disk.
    public static func loadClasses(_ path: String, limits: DataLimits = .standard) throws -> [String] {
        try parseClasses(DataFile.read(path, limits: limits), file: path)
    }

    /// Splits at LF, validating each line as UTF-8; drops a leading BOM, a CR before each LF and
    /// blank lines at the end.
    static func decodeLines(_ bytes: [UInt8], file: String) throws -> [String] {
        var lines: [String] = []
        try bytes.withUnsafeBufferPointer { buffer in
            var start = 0
            if buffer.count >= 3, buffer[0] == 0xEF, buffer[1] == 0xBB, buffer[2] == 0xBF { start = 3 }
            while start < buffer.count {
                var end = start
                while end < buffer.count && buffer[end] != 0x0A { end += 1 }
                var stop = end
                if stop > start && buffer[stop - 1] == 0x0D { stop -= 1 }
                let slice = UnsafeBufferPointer(rebasing: buffer[start..<stop])
                guard let line = String(validating: slice, as: UTF8.self) else {
                    throw DataError.invalidText(file: file, line: lines.count + 1, reason: "invalid UTF-8")
                }
                if line.contains("\r") {
                    throw DataError.invalidText(file: file, line: lines.count + 1, reason: "stray carriage return")
                }
                lines.append(line)
                start = end + 1
            }
        }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        return lines
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    var trimmingSpaces: Substring {
        var slice = self[...]
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return slice
    }
}
