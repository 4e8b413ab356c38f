/// Images and labels read from CIFAR-10 binary records.
public struct CIFARRecords: Sendable, Equatable {
    /// `count · 3 · 32 · 32` pixel bytes, each image CHW (red plane, green plane, blue plane, each
    /// row by row).
    public var pixels: [UInt8]
    public var labels: [Int]
    public var count: Int { labels.count }
}

/// The CIFAR-10 binary format (`data_batch_1.bin`, `test_batch.bin`): a headerless sequence of
/// 3073-byte records, `1 label byte (0..9)` + `1024 red` + `1024 green` + `1024 blue` bytes.
///
/// The record count is `size / 3073`, so the only structural checks possible are a size that is a
/// positive multiple of 3073 and every label below the class count.
public enum CIFARFormat {
    public static let channels = 3
    public static let height = 32
    public static let width = 32
    public static let imageBytes = channels * height * width
    public static let recordBytes = 1 + imageBytes

    /// Parses uncompressed records.
    public static func parse(_ bytes: [UInt8], file: String, classCount: Int = 10) throws -> CIFARRecords {
        guard !bytes.isEmpty else { throw DataError.empty(file: file) }
        guard bytes.count % recordBytes == 0 else {
            let whole = bytes.count / recordBytes
            throw DataError.truncated(file: file, expectedBytes: (whole + 1) * recordBytes, actualBytes: bytes.count)
        }
        let count = bytes.count / recordBytes
        var labels = [Int](repeating: 0, count: count)
        var pixels = [UInt8](repeating: 0, count: count * imageBytes)
        try bytes.withUnsafeBufferPointer { source in
            try pixels.withUnsafeMutableBufferPointer { target in
                for record in 0..<count {
                    let label = Int(source[record * recordBytes])
                    guard label < classCount else {
                        throw DataError.labelOutOfRange(file: file, sample: record, label: label, classCount: classCount)
                    }
                    labels[record] = label
                    let from = source.baseAddress! + record * recordBytes + 1
                    (target.baseAddress! + record * imageBytes).update(from: from, count: imageBytes)
                }
            }
        }
        return CIFARRecords(pixels: pixels, labels: labels)
    }

    /// Reads a records file (gzip'd or not) from disk.
    public static func load(_ path: String, classCount: Int = 10, limits: DataLimits = .standard) throws -> CIFARRecords {
        try parse(DataFile.read(path, limits: limits), file: path, classCount: classCount)
    }

    /// Reads several record files and concatenates them in order (e.g. `data_batch_1` … `_5`).
    public static func load(_ paths: [String], classCount: Int = 10, limits: DataLimits = .standard) throws -> CIFARRecords {
        var all = CIFARRecords(pixels: [], labels: [])
        for path in paths {
            let part = try load(path, classCount: classCount, limits: limits)
            all.pixels += part.pixels
            all.labels += part.labels
        }
        return all
    }
}
