import Foundation
import Testing
@testable import BonsaiNN

private typealias Support = DataTestSupport

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
private func isInvalidText(line: Int) -> (DataError) -> Bool {
    { if case let .invalidText(_, l, _) = $0 { l == line } else { false } }
}

@Suite struct DataTSVTests {
    @Test func parsesLabelsAndTexts() throws {
        let samples = try TSVFormat.parse(bytes("label\ttext\n1\thello world\n0\tsplit\tat first tab\n"), file: "a.tsv", classCount: 2)
        #expect(samples.labels == [1, 0])
        #expect(samples.texts == ["hello world", "split\tat first tab"])
    }

    @Test func toleratesBOMAndCRLFAndTrailingBlankLines() throws {
        let samples = try TSVFormat.parse([0xEF, 0xBB, 0xBF] + bytes("label\ttext\r\n1\tcrème brûlée\r\n\n\n"), file: "b.tsv", classCount: 2)
        #expect(samples.labels == [1])
        #expect(samples.texts == ["crème brûlée"])
    }

    @Test func malformedLinesThrowWithLineNumbers() {
        Support.expectDataError("missing tab", isInvalidText(line: 3)) {
            _ = try TSVFormat.parse(bytes("label\ttext\n0\tok\n1 no tab here\n"), file: "t", classCount: 2)
        }
        Support.expectDataError("bad utf-8", isInvalidText(line: 2)) {
            _ = try TSVFormat.parse(bytes("label\ttext\n") + [0x30, 0x09, 0x61, 0xC3, 0x28, 0x0A], file: "u", classCount: 2)
        }
        Support.expectDataError("overlong utf-8", isInvalidText(line: 2)) {
            _ = try TSVFormat.parse(bytes("label\ttext\n") + [0x30, 0x09, 0xC0, 0xAF, 0x0A], file: "u", classCount: 2)
        }
        Support.expectDataError("label not a number", isInvalidText(line: 2)) {
            _ = try TSVFormat.parse(bytes("label\ttext\nspam\thi\n"), file: "n", classCount: 2)
        }
        Support.expectDataError("negative label", isInvalidText(line: 2)) {
            _ = try TSVFormat.parse(bytes("label\ttext\n-1\thi\n"), file: "n", classCount: 2)
        }
        Support.expectDataError("huge label", isInvalidText(line: 2)) {
            _ = try TSVFormat.parse(bytes("label\ttext\n99999999999999999999\thi\n"), file: "n", classCount: 2)
        }
        Support.expectDataError("label out of range", { $0 == .labelOutOfRange(file: "r", sample: 1, label: 2, classCount: 2) }) {
            _ = try TSVFormat.parse(bytes("label\ttext\n1\ta\n2\tb\n"), file: "r", classCount: 2)
        }
        Support.expectDataError("header", isInvalidText(line: 1)) {
            _ = try TSVFormat.parse(bytes("0\tno header\n"), file: "h", classCount: 2)
        }
        Support.expectDataError("blank line between samples", isInvalidText(line: 3)) {
            _ = try TSVFormat.parse(bytes("label\ttext\n0\ta\n\n1\tb\n"), file: "b", classCount: 2)
        }
        Support.expectDataError("stray CR", isInvalidText(line: 2)) {
            _ = try TSVFormat.parse(bytes("label\ttext\n0\ta\rb\n"), file: "c", classCount: 2)
        }
        Support.expectDataError("header only", { $0 == .empty(file: "e") }) {
            _ = try TSVFormat.parse(bytes("label\ttext\n"), file: "e", classCount: 2)
        }
        Support.expectDataError("empty", { $0 == .empty(file: "e") }) { _ = try TSVFormat.parse([], file: "e", classCount: 2) }
    }

    @Test func classesFile() throws {
        #expect(try TSVFormat.parseClasses(bytes("ham\nspam\n"), file: "c") == ["ham", "spam"])
        #expect(try TSVFormat.parseClasses(bytes("a\r\nb"), file: "c") == ["a", "b"])
        Support.expectDataError("duplicate", isInvalidText(line: 3)) { _ = try TSVFormat.parseClasses(bytes("a\nb\na\n"), file: "c") }
        Support.expectDataError("empty name", isInvalidText(line: 2)) { _ = try TSVFormat.parseClasses(bytes("a\n \nb\n"), file: "c") }
        Support.expectDataError("one class", isInvalidText(line: 2)) { _ = try TSVFormat.parseClasses(bytes("a\n"), file: "c") }
        Support.expectDataError("bad utf-8", isInvalidText(line: 1)) { _ = try TSVFormat.parseClasses([0xFF, 0x0A, 0x61], file: "c") }
    }
}

@Suite struct DataTokenizerTests {
    @Test func splitsOnWhitespaceAndPunctuation() {
        let tokenizer = WordTokenizer()
        #expect(tokenizer.tokens("Hello, World!  It's  re-imagining (1930s)") ==
                ["hello", ",", "world", "!", "it's", "re", "-", "imagining", "(", "1930s", ")"])
        #expect(tokenizer.tokens("wo n't 's -lrb- ''") == ["wo", "n't", "'s", "-", "lrb", "-", "'", "'"])
        #expect(tokenizer.tokens("sister\u{F0}city &lt;3 €5") == ["sisterðcity", "&", "lt", ";", "3", "€", "5"])
        #expect(tokenizer.tokens("   \t ") == [])
        #expect(WordTokenizer(lowercase: false).tokens("How FAR?") == ["How", "FAR", "?"])
    }

    @Test func vocabularyOrderAndSpecialTokens() throws {
        let texts = ["the cat sat", "the dog sat", "the cat ran", "a bird"]
        let vocabulary = try Vocabulary.build(from: texts, options: VocabularyOptions(minFrequency: 2, maxSize: 100))
        #expect(vocabulary.tokens == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat"])
        #expect(vocabulary.id(of: "[PAD]") == 0 && vocabulary.id(of: "[UNK]") == 1 && vocabulary.id(of: "[MASK]") == 4)
        #expect(vocabulary.id(of: "dog") == Vocabulary.unknownID)
        let capped = try Vocabulary.build(from: texts, options: VocabularyOptions(minFrequency: 1, maxSize: 7))
        #expect(capped.tokens == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat"])
        // Same data, same ids, whatever the dictionary's iteration order.
        #expect(try Vocabulary.build(from: texts, options: VocabularyOptions(minFrequency: 1)) ==
                Vocabulary.build(from: texts, options: VocabularyOptions(minFrequency: 1)))
    }

    @Test func encodePadsTruncatesAndMasks() throws {
        let vocabulary = try Vocabulary.build(from: ["a b c d"], options: VocabularyOptions(minFrequency: 1))
        let short = vocabulary.encode("A b zebra", length: 8)
        let (a, b) = (vocabulary.id(of: "a"), vocabulary.id(of: "b"))
        #expect(short.ids == [2, a, b, 1, 3, 0, 0, 0])
        #expect(short.attentionMask == [1, 1, 1, 1, 1, 0, 0, 0])
        let long = vocabulary.encode("a b c d a b", length: 4)
        #expect(long.ids == [2, a, b, 3])
        #expect(long.attentionMask == [1, 1, 1, 1])
        #expect(vocabulary.encode("", length: 3).ids == [2, 3, 0])
    }

    @Test func roundTripThroughIDs() throws {
        let texts = ["the quick brown fox jumps over the lazy dog ."]
        let vocabulary = try Vocabulary.build(from: texts, options: VocabularyOptions(minFrequency: 1))
        let encoded = vocabulary.encode("The lazy fox, quick!", length: 12)
        #expect(vocabulary.decode(encoded.ids) == ["[CLS]", "the", "lazy", "fox", "[UNK]", "quick", "[UNK]", "[SEP]"])
        let known = vocabulary.encode(texts[0], length: 16)
        #expect(Array(vocabulary.decode(known.ids).dropFirst().dropLast()) == WordTokenizer().tokens(texts[0]))
    }

    @Test func saveAndLoad() throws {
        let folder = try Support.temporaryFolder()
        defer { Support.cleanUp(folder) }
        let vocabulary = try Vocabulary.build(from: ["Ünïcode wörds and \"quotes\"", "and more"],
                                              options: VocabularyOptions(minFrequency: 1, lowercase: false))
        let path = folder + "/vocab.json"
        try vocabulary.save(to: path)
        let loaded = try Vocabulary.load(from: path)
        #expect(loaded == vocabulary)
        #expect(loaded.tokenizer.lowercase == false)
        #expect(loaded.encode("and Ünïcode", length: 6) == vocabulary.encode("and Ünïcode", length: 6))
    }

    @Test func malformedVocabularyThrows() {
        let isInvalid: (DataError) -> Bool = { if case .invalidVocabulary = $0 { true } else { false } }
        func load(_ json: String) throws { _ = try Vocabulary(jsonData: Data(json.utf8), file: "v.json") }
        Support.expectDataError("not json", isInvalid) { try load("[1, 2") }
        Support.expectDataError("wrong format", isInvalid) {
            try load(#"{"format":"other","version":1,"lowercase":true,"tokens":["[PAD]","[UNK]","[CLS]","[SEP]","[MASK]"]}"#)
        }
        Support.expectDataError("wrong version", isInvalid) {
            try load(#"{"format":"bonsai-word-vocabulary","version":99,"lowercase":true,"tokens":["[PAD]","[UNK]","[CLS]","[SEP]","[MASK]"]}"#)
        }
        Support.expectDataError("specials missing", isInvalid) {
            try load(#"{"format":"bonsai-word-vocabulary","version":1,"lowercase":true,"tokens":["[UNK]","[PAD]","[CLS]","[SEP]","[MASK]"]}"#)
        }
        Support.expectDataError("duplicate", isInvalid) {
            try load(#"{"format":"bonsai-word-vocabulary","version":1,"lowercase":true,"tokens":["[PAD]","[UNK]","[CLS]","[SEP]","[MASK]","a","a"]}"#)
        }
        Support.expectDataError("empty token", isInvalid) {
            try load(#"{"format":"bonsai-word-vocabulary","version":1,"lowercase":true,"tokens":["[PAD]","[UNK]","[CLS]","[SEP]","[MASK]",""]}"#)
        }
        Support.expectDataError("bad options", { if case .invalidConfiguration = $0 { true } else { false } }) {
            _ = try Vocabulary.build(from: ["a"], options: VocabularyOptions(minFrequency: 0))
        }
    }
}
