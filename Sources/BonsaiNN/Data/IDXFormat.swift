/// An n-dimensional array of unsigned bytes read from an IDX file.
public struct IDXArray: Sendable, Equatable {
    /// Dimensions, first = sample count.
    public var dims: [Int]
    /// The elements in row-major order; `data.count == dims.product`.
    public var data: [UInt8]

    public init(dims: [Int], data: [UInt8]) {
        precondition(dims.reduce(1, *) == data.count, "IDXArray: dims \(dims) do not match \(data.count) bytes")
        self.dims = dims
        self.data = data
    }

    /// The number of samples (the first dimension).
    public var count: Int { dims.first ?? 0 }
}

/// The IDX format of the MNIST files (LeCun et al.), unsigned-byte variant.
///
/// Layout (all integers big-endian): `00 00`, a type byte (`0x08` = uint8, the only type accepted
/// here), a rank byte `d`, `d` 32-bit dimension sizes, then `product(dims)` bytes in C order.
/// Everything is validated before any element is touched: the magic, the type, the rank, each
/// dimension against the overflow-checked product and ``DataLimits/maxElements``, and the payload
/// length against the product (short = truncated, long = size mismatch). The payload is already in
/// memory and bounded by the decompression limit, so a hostile header cannot cause an allocation.
public enum IDXFormat {
    /// The IDX type byte for unsigned bytes.
    public static let unsignedByteType: UInt8 = 0x08

    /// Parses an uncompressed IDX file. `expectedRank`, if given, must match the header's rank.
    public static func parse(_ bytes: [UInt8], file: String, expectedRank: Int? = nil,
                             limits: DataLimits = .standard) throws -> IDXArray {
        guard bytes.count >= 4 else {
            throw DataError.truncated(file: file, expectedBytes: 4, actualBytes: bytes.count)
        }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw DataError.badMagic(file: file, reason: "IDX files start with 00 00, found \(hex(bytes[0])) \(hex(bytes[1]))")
        }
        guard bytes[2] == unsignedByteType else {
            throw DataError.badMagic(file: file, reason: "IDX data type \(hex(bytes[2])) is not supported (only 0x08, unsigned byte)")
        }
        let rank = Int(bytes[3])
        guard rank >= 1 else { throw DataError.badMagic(file: file, reason: "IDX rank 0") }
        if let expectedRank, rank != expectedRank {
            throw DataError.badMagic(file: file, reason: "IDX rank \(rank), expected \(expectedRank)")
        }
        let headerBytes = 4 + 4 * rank
        guard bytes.count >= headerBytes else {
            throw DataError.truncated(file: file, expectedBytes: headerBytes, actualBytes: bytes.count)
        }
        var dims: [Int] = []
        var product = 1
        for axis in 0..<rank {
            let at = 4 + 4 * axis
            let size = Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
            if axis > 0 && size == 0 {
                throw DataError.sizeMismatch(file: file, reason: "IDX dimension \(axis) is 0")
            }
            let next = product.multipliedReportingOverflow(by: size)
            guard !next.overflow, next.partialValue <= limits.maxElements else {
                throw DataError.tooLarge(file: file, reason: "IDX dims \(dims + [size]) declare more than \(limits.maxElements) elements")
            }
            product = next.partialValue
            dims.append(size)
        }
        let payload = bytes.count - headerBytes
        guard payload >= product else {
            throw DataError.truncated(file: file, expectedBytes: headerBytes + product, actualBytes: bytes.count)
        }
        guard payload == product else {
            throw DataError.sizeMismatch(file: file, reason: "IDX dims \(dims) need \(product) data bytes, file has \(payload)")
        }
        return IDXArray(dims: dims, data: Array(bytes[headerBytes...]))
    }

    /// Serialises an array as an (uncompressed) IDX file; used for tests and for writing uploads back.
    public static func encode(_ array: IDXArray) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, unsignedByteType, UInt8(array.dims.count)]
        for size in array.dims {
            precondition(size >= 0 && size <= Int(UInt32.max), "IDXFormat.encode: dimension \(size) out of range")
            bytes += [UInt8(truncatingIfNeeded: size >> 24), UInt8(truncatingIfNeeded: size >> 16),
                      UInt8(truncatingIfNeeded: size >> 8), UInt8(truncatingIfNeeded: size)]
        }
        return bytes + array.data
    }

    /// Concatenates parts along the first axis. All parts must share rank and trailing dims.
    public static func concatenate(_ parts: [(file: String, array: IDXArray)], limits: DataLimits = .standard) throws -> IDXArray {
        guard let first = parts.first else { throw DataError.invalidConfiguration("no IDX parts to concatenate") }
        let trailing = Array(first.array.dims.dropFirst())
        var total = 0
        for part in parts {
            guard Array(part.array.dims.dropFirst()) == trailing else {
                throw DataError.sizeMismatch(file: part.file, reason: "part dims \(part.array.dims) differ from \(first.file)'s \(first.array.dims)")
            }
            total += part.array.data.count
            guard total <= limits.maxElements else {
                throw DataError.tooLarge(file: part.file, reason: "parts hold more than \(limits.maxElements) elements in total")
            }
        }
        if parts.count == 1 { return first.array }
        var data: [UInt8] = []
        data.reserveCapacity(total)
        for part in parts { data += part.array.data }
        return IDXArray(dims: [parts.reduce(0) { $0 + $1.array.count }] + trailing, data: data)
    }

    /// Reads the IDX file or multi-part set named `baseName` in `directory` (see ``partFiles(in:baseName:)``).
    public static func load(directory: String, baseName: String, expectedRank: Int,
                            limits: DataLimits = .standard) throws -> IDXArray {
        let files = try partFiles(in: directory, baseName: baseName)
        var parts: [(file: String, array: IDXArray)] = []
        for file in files {
            let bytes = try DataFile.read(file, limits: limits)
            parts.append((file, try parse(bytes, file: file, expectedRank: expectedRank, limits: limits)))
        }
        return try concatenate(parts, limits: limits)
    }

    /// The files that make up `baseName`: `baseName.gz` or `baseName` if present, else the parts
    /// `baseName-00.gz`, `baseName-01.gz`, … (each optionally without `.gz`), which must be numbered
    /// consecutively from 00 with no gaps.
    public static func partFiles(in directory: String, baseName: String) throws -> [String] {
        for single in [baseName + ".gz", baseName] where DataFile.exists(DataFile.join(directory, single)) {
            return [DataFile.join(directory, single)]
        }
        let listed = Set(DataFile.entries(of: directory))
        var files: [String] = []
        for index in 0..<100 {
            let stem = baseName + "-" + (index < 10 ? "0\(index)" : "\(index)")
            if listed.contains(stem + ".gz") {
                files.append(DataFile.join(directory, stem + ".gz"))
            } else if listed.contains(stem) {
                files.append(DataFile.join(directory, stem))
            } else {
                let later = listed.filter { $0.hasPrefix(baseName + "-") && $0 > stem }
                if !later.isEmpty {
                    throw DataError.unreadable(file: DataFile.join(directory, stem + ".gz"),
                                               reason: "part missing while later parts exist (\(later.sorted().joined(separator: ", ")))")
                }
                break
            }
        }
        guard !files.isEmpty else {
            throw DataError.unreadable(file: DataFile.join(directory, baseName + ".gz"), reason: "no such file (nor parts -00.gz, -01.gz, …)")
        }
        return files
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return "0x" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 15)])
    }
}

/// Labels read from a rank-1 IDX file, checked against a class count.
public enum IDXLabels {
    /// Converts a rank-1 IDX array to labels, throwing for any label outside `0..<classCount`.
    public static func labels(_ array: IDXArray, file: String, classCount: Int) throws -> [Int] {
        guard array.dims.count == 1 else {
            throw DataError.badMagic(file: file, reason: "label file has rank \(array.dims.count), expected 1")
        }
        var labels = [Int](repeating: 0, count: array.count)
        for index in 0..<array.count {
            let label = Int(array.data[index])
            guard label < classCount else {
                throw DataError.labelOutOfRange(file: file, sample: index, label: label, classCount: classCount)
            }
            labels[index] = label
        }
        return labels
    }
}
