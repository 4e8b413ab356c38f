import Foundation

/// Token ids and attention mask of one text, padded to a fixed length.
public struct EncodedText: Sendable, Equatable {
    /// `length` ids: `[CLS] w1 … wk [SEP] [PAD] …`.
    public var ids: [Int32]
    /// 1 for real tokens (including `[CLS]`/`[SEP]`), 0 for padding.
    public var attentionMask: [UInt8]
}

/// Options for building a vocabulary from a training split.
public struct VocabularyOptions: Sendable, Equatable, Codable {
    /// Words seen fewer times than this are left out (they encode as `[UNK]`).
    public var minFrequency: Int
    /// Maximum number of entries including the special tokens.
    public var maxSize: Int
    public var lowercase: Bool

    public init(minFrequency: Int = 2, maxSize: Int = 30_000, lowercase: Bool = true) {
        self.minFrequency = minFrequency
        self.maxSize = maxSize
        self.lowercase = lowercase
    }

    public func validate() throws {
        guard minFrequency >= 1 else { throw DataError.invalidConfiguration("vocabulary minFrequency \(minFrequency) must be ≥ 1") }
        guard maxSize > Vocabulary.specialTokens.count, maxSize <= Vocabulary.maxEntries else {
            throw DataError.invalidConfiguration("vocabulary maxSize \(maxSize) must be in \(Vocabulary.specialTokens.count + 1)...\(Vocabulary.maxEntries)")
        }
    }
}

/// A word-level vocabulary: token ↔ id, with fixed special tokens, saved as JSON next to a model.
///
/// Ids 0…4 are the special tokens `[PAD]`=0, `[UNK]`=1, `[CLS]`=2, `[SEP]`=3, `[MASK]`=4 (the last
/// for masked-language-model pre-training). Words follow in order of decreasing frequency in the
/// training split, ties broken by the word's Unicode scalar order so the same data always gives the
/// same ids. Build it from the *training* split only, so validation and test words the model
/// never saw are `[UNK]` as they would be in deployment.
public struct Vocabulary: Sendable, Equatable {
    public static let pad = "[PAD]", unknown = "[UNK]", classification = "[CLS]", separator = "[SEP]", mask = "[MASK]"
    public static let specialTokens = [pad, unknown, classification, separator, mask]
    public static let padID: Int32 = 0, unknownID: Int32 = 1, classificationID: Int32 = 2, separatorID: Int32 = 3, maskID: Int32 = 4
    /// Upper bound on entries accepted from a file (a guard against hostile uploads).
    public static let maxEntries = 1_000_000

    /// Tokens in id order; the first five are ``specialTokens``.
    public let tokens: [String]
    public let tokenizer: WordTokenizer
    private let ids: [String: Int32]

    /// A vocabulary from its token list (validated: specials first, tokens unique and non-empty).
    public init(tokens: [String], tokenizer: WordTokenizer = WordTokenizer(), file: String = "<vocabulary>") throws {
        guard tokens.count >= Vocabulary.specialTokens.count, Array(tokens.prefix(5)) == Vocabulary.specialTokens else {
            throw DataError.invalidVocabulary(file: file, reason: "must start with \(Vocabulary.specialTokens.joined(separator: ", "))")
        }
        guard tokens.count <= Vocabulary.maxEntries else {
            throw DataError.invalidVocabulary(file: file, reason: "\(tokens.count) entries, limit \(Vocabulary.maxEntries)")
        }
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() {
            guard !token.isEmpty else { throw DataError.invalidVocabulary(file: file, reason: "empty token at id \(id)") }
            guard ids.updateValue(Int32(id), forKey: token) == nil else {
                throw DataError.invalidVocabulary(file: file, reason: "token '\(token)' appears twice")
            }
        }
        self.tokens = tokens
        self.tokenizer = tokenizer
        self.ids = ids
    }

    /// Builds a vocabulary from training texts.
    public static func build(from texts: [String], options: VocabularyOptions = VocabularyOptions()) throws -> Vocabulary {
        try options.validate()
        let tokenizer = WordTokenizer(lowercase: options.lowercase)
        var counts: [String: Int] = [:]
        for text in texts {
            for token in tokenizer.tokens(text) { counts[token, default: 0] += 1 }
        }
        let specials = Set(specialTokens)
        let kept = counts.filter { $0.value >= options.minFrequency && !specials.contains($0.key) }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) }
            .prefix(options.maxSize - specialTokens.count)
        return try Vocabulary(tokens: specialTokens + kept.map(\.key), tokenizer: tokenizer)
    }

    public var count: Int { tokens.count }

    /// The id of `token`, or `[UNK]`'s.
    public func id(of token: String) -> Int32 { ids[token] ?? Vocabulary.unknownID }

    /// The token of `id`, or `[UNK]` for an id outside the vocabulary.
    public func token(of id: Int32) -> String {
        id >= 0 && Int(id) < tokens.count ? tokens[Int(id)] : Vocabulary.unknown
    }

    /// `[CLS] w1 … wk [SEP]` padded with `[PAD]` to `length`; long texts keep their first
    /// `length − 2` words. Requires `length ≥ 2`.
    public func encode(_ text: String, length: Int) -> EncodedText {
        precondition(length >= 2, "Vocabulary.encode: length \(length) must be ≥ 2")
        let words = tokenizer.tokens(text)
        var ids = [Int32](repeating: Vocabulary.padID, count: length)
        var mask = [UInt8](repeating: 0, count: length)
        ids[0] = Vocabulary.classificationID
        let kept = Swift.min(words.count, length - 2)
        for index in 0..<kept { ids[index + 1] = id(of: words[index]) }
        ids[kept + 1] = Vocabulary.separatorID
        for index in 0..<(kept + 2) { mask[index] = 1 }
        return EncodedText(ids: ids, attentionMask: mask)
    }

    /// The tokens of `ids` with padding dropped (the inverse of ``encode(_:length:)`` up to `[UNK]`
    /// and truncation).
    public func decode(_ ids: [Int32]) -> [String] {
        ids.filter { $0 != Vocabulary.padID }.map { token(of: $0) }
    }

    // MARK: Saving

    /// The JSON file layout: `{"format": "bonsai-word-vocabulary", "version": 1, "lowercase": true, "tokens": […]}`.
    struct FileLayout: Codable {
        var format: String
        var version: Int
        var lowercase: Bool
        var tokens: [String]
    }

    static let formatName = "bonsai-word-vocabulary"

    /// The vocabulary as JSON.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(FileLayout(format: Vocabulary.formatName, version: WordTokenizer.rulesVersion,
                                             lowercase: tokenizer.lowercase, tokens: tokens))
    }

    /// Reads a vocabulary from JSON, validating format, version and the token list.
    public init(jsonData data: Data, file: String = "<vocabulary>") throws {
        let layout: FileLayout
        do {
            layout = try JSONDecoder().decode(FileLayout.self, from: data)
        } catch {
            throw DataError.invalidVocabulary(file: file, reason: "not a vocabulary JSON object (\(error))")
        }
        guard layout.format == Vocabulary.formatName else {
            throw DataError.invalidVocabulary(file: file, reason: "format '\(layout.format)', expected '\(Vocabulary.formatName)'")
        }
        guard layout.version == WordTokenizer.rulesVersion else {
            throw DataError.invalidVocabulary(file: file, reason: "tokeniser version \(layout.version), this build has \(WordTokenizer.rulesVersion)")
        }
        try self.init(tokens: layout.tokens, tokenizer: WordTokenizer(lowercase: layout.lowercase), file: file)
    }

    public func save(to path: String) throws {
        do {
            try jsonData().write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw DataError.unreadable(file: path, reason: "cannot write vocabulary: \(error)")
        }
    }

    public static func load(from path: String, limits: DataLimits = .standard) throws -> Vocabulary {
        try Vocabulary(jsonData: Data(DataFile.readRaw(path, limits: limits)), file: path)
    }
}
