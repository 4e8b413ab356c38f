/// Errors thrown while reading data set files or configuring data sets and loaders.
///
/// Data files can come from user uploads, so every reader validates what it reads (magic bytes,
/// dimensions, sizes, label ranges, text encoding) and throws one of these, never traps. Each case
/// names the file (the path or, for in-memory parsing, the name the caller gave) and says what is
/// wrong, so the server can show the message to the user as is.
public enum DataError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file does not exist or cannot be read.
    case unreadable(file: String, reason: String)
    /// The gzip/deflate stream is corrupt or ends early.
    case decompression(file: String, reason: String)
    /// The file does not start with the expected magic bytes.
    case badMagic(file: String, reason: String)
    /// The file ends before the data its header (or record size) promises.
    case truncated(file: String, expectedBytes: Int, actualBytes: Int)
    /// The declared dimensions do not fit the data, or parts / images and labels disagree.
    case sizeMismatch(file: String, reason: String)
    /// A declared or decompressed size is above the configured limit (a hostile or broken header).
    case tooLarge(file: String, reason: String)
    /// A label is outside `0..<classCount`.
    case labelOutOfRange(file: String, sample: Int, label: Int, classCount: Int)
    /// A text file line that is not valid (bad UTF-8, missing TAB, bad label, bad header).
    case invalidText(file: String, line: Int, reason: String)
    /// The file holds no samples.
    case empty(file: String)
    /// A vocabulary file that is not a valid Bonsai vocabulary.
    case invalidVocabulary(file: String, reason: String)
    /// No built-in data set has this name.
    case unknownDataset(name: String, known: [String])
    /// The data directory could not be found.
    case dataDirectoryNotFound(searched: [String])
    /// A configuration value (loader, split, tokenizer options) is out of range.
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason):
            return "\(file): cannot read: \(reason)"
        case let .decompression(file, reason):
            return "\(file): gzip decompression failed: \(reason)"
        case let .badMagic(file, reason):
            return "\(file): not a valid file of this format: \(reason)"
        case let .truncated(file, expected, actual):
            return "\(file): truncated: expected \(expected) bytes, found \(actual)"
        case let .sizeMismatch(file, reason):
            return "\(file): size mismatch: \(reason)"
        case let .tooLarge(file, reason):
            return "\(file): too large: \(reason)"
        case let .labelOutOfRange(file, sample, label, classCount):
            return "\(file): sample \(sample) has label \(label), outside 0..<\(classCount)"
        case let .invalidText(file, line, reason):
            return "\(file):\(line): \(reason)"
        case let .empty(file):
            return "\(file): holds no samples"
        case let .invalidVocabulary(file, reason):
            return "\(file): invalid vocabulary: \(reason)"
        case let .unknownDataset(name, known):
            return "unknown data set '\(name)'; known: \(known.joined(separator: ", "))"
        case let .dataDirectoryNotFound(searched):
            return "data directory not found; looked in: \(searched.joined(separator: ", "))"
        case let .invalidConfiguration(detail):
            return "invalid data configuration: \(detail)"
        }
    }
}

/// Size limits applied while reading data files, so a hostile header or a gzip bomb cannot make
/// the process allocate absurd amounts of memory.
///
/// The defaults admit the complete MNIST / Fashion-MNIST training files (47 MB uncompressed each)
/// and the full CIFAR-10 batches (30 MB each) with room to spare.
public struct DataLimits: Sendable, Equatable, Codable {
    /// Largest file read from disk (compressed size), in bytes.
    public var maxFileBytes: Int
    /// Largest decompressed payload of one file, in bytes.
    public var maxDecompressedBytes: Int
    /// Largest element count an IDX header may declare.
    public var maxElements: Int

    public init(maxFileBytes: Int = 256 << 20, maxDecompressedBytes: Int = 256 << 20, maxElements: Int = 256 << 20) {
        self.maxFileBytes = maxFileBytes
        self.maxDecompressedBytes = maxDecompressedBytes
        self.maxElements = maxElements
    }

    public static let standard = DataLimits()
}
