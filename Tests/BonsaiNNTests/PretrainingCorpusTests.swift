import Foundation
import Testing
@testable import BonsaiNN

private typealias Support = DataTestSupport

/// The masked-LM corpus of the shipped text sets: training parts only, in order, encodable.
@Suite struct PretrainingCorpusTests {
    @Test func readsEveryShippedTrainingPartAndNoTestPart() throws {
        let directory = try Support.directory()
        let corpus = try PretrainingCorpus.shipped(from: directory)
        #expect(corpus.sources == [.init(name: "sst2", sentences: 6_920), .init(name: "trec", sentences: 5_452),
                                   .init(name: "sms-spam", sentences: 4_460)])
        #expect(corpus.count == 16_832)
        // Each source's training part, in file order, and nothing of SST-2's test or dev files that
        // is not also a training sentence.
        let sst2 = try DatasetRegistry.rawTextSplits(BuiltinDatasets.sst2, from: directory,
                                                     options: DatasetOptions(preferOfficialValidation: true))
        #expect(Array(corpus.texts.prefix(6_920)) == sst2.train.texts)
        let training = Set(sst2.train.texts), inCorpus = Set(corpus.texts)
        let leaked = (sst2.test.texts + (sst2.official?.texts ?? [])).filter { inCorpus.contains($0) && !training.contains($0) }
        #expect(leaked.isEmpty, "held-out SST-2 sentences in the corpus: \(leaked.prefix(3))")
    }

    @Test func jointVocabularyCoversEverySourceAndEncodesAsOneClass() throws {
        let corpus = try PretrainingCorpus.shipped(from: try Support.directory())
        let vocabulary = try corpus.vocabulary()
        let sst2Only = try Vocabulary.build(from: Array(corpus.texts.prefix(6_920)))
        #expect(vocabulary.count > sst2Only.count)
        // A TREC word and an SMS word that SST-2's training sentences never use.
        for word in ["abbreviation", "txt"] { #expect(vocabulary.id(of: word) != Vocabulary.unknownID, "\(word) missing") }
        let encoded = try corpus.encoded(with: vocabulary, sequenceLength: 16)
        #expect(encoded.count == corpus.count && encoded.classNames == ["sentence"])
        #expect(Set(encoded.labels) == [0])
        #expect(encoded.ids(of: 0).first == Vocabulary.classificationID)
    }

    @Test func imageSetsAndEmptyListsAreRefused() throws {
        let directory = try Support.directory()
        #expect(throws: DataError.self) { try PretrainingCorpus.shipped(["mnist"], from: directory) }
        #expect(throws: DataError.self) { try PretrainingCorpus.shipped([], from: directory) }
        #expect(throws: DataError.self) { try PretrainingCorpus.shipped(["wikipedia"], from: directory) }
    }
}
