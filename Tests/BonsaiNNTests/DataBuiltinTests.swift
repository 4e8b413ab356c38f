import Foundation
import Testing
@testable import BonsaiNN

private typealias Support = DataTestSupport

/// The shipped data sets load with the counts, label distributions and first values listed in
/// data/README.md. Loaded without a validation split unless a test is about splits.
@Suite(.serialized) struct DataBuiltinTests {
    let whole = DatasetOptions(validationFraction: 0)

    @Test func mnist() throws {
        let splits = try DatasetRegistry.images("mnist", from: try Support.directory(), options: whole)
        #expect(splits.train.count == 60_000 && splits.test.count == 10_000)
        #expect(splits.train.images.shape == [60_000, 1, 28, 28])
        #expect(splits.train.labelCounts == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
        #expect(splits.test.labelCounts == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
        #expect(Array(splits.train.labels.prefix(10)) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
        #expect(Array(splits.test.labels.prefix(10)) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9])
        let firstImageSum = splits.train.images.sliced(axis: 0, start: 0, length: 1).sum().item * 255
        #expect(abs(firstImageSum - 27525) < 0.05)
        // The recorded constants are the formula applied to the training images.
        let measured = Normalization.measure(splits.train.images)
        #expect(abs(measured.mean[0] - 0.1307) < 5e-5 && abs(measured.std[0] - 0.3081) < 5e-5)
        expectConstants(measured, BuiltinDatasets.mnist.normalization!, "mnist")
    }

    @Test func fashionMNIST() throws {
        let splits = try DatasetRegistry.images("fashion-mnist", from: try Support.directory(), options: whole)
        #expect(splits.train.count == 20_000 && splits.test.count == 10_000)
        #expect(splits.train.labelCounts == [1935, 2025, 1982, 2011, 1967, 2010, 2068, 2003, 1971, 2028])
        #expect(splits.test.labelCounts == Array(repeating: 1000, count: 10))
        #expect(Array(splits.train.labels.prefix(10)) == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5])
        #expect(Array(splits.test.labels.prefix(10)) == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7])
        #expect(splits.train.classNames[9] == "Ankle boot")
        expectConstants(Normalization.measure(splits.train.images), BuiltinDatasets.fashionMNIST.normalization!, "fashion-mnist")
    }

    @Test func digits() throws {
        let raw = try DatasetRegistry.rawImageSplits(BuiltinDatasets.digits, from: try Support.directory(), limits: .standard)
        #expect(raw.test == nil)
        #expect(raw.train.count == 1797 && raw.train.images.shape == [1797, 1, 8, 8])
        #expect(raw.train.labelCounts == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
        #expect(abs(raw.train.images.sum().item * 16 - 561_718) < 0.5)
        #expect(raw.train.images.floats.prefix(4).map { $0 * 16 } == [0, 0, 5, 13])

        let splits = try DatasetRegistry.images("digits", from: try Support.directory(), options: whole)
        #expect(splits.train.count + splits.test.count == 1797)
        #expect(splits.test.count == 359)
        // Stratified: every class keeps ~20% in the test split.
        for (test, all) in zip(splits.test.labelCounts, raw.train.labelCounts) {
            #expect(test == Int((Double(all) * 0.2).rounded()))
        }
        // Deterministic: loading again gives the same split.
        let again = try DatasetRegistry.images("digits", from: try Support.directory(), options: whole)
        #expect(again.test.labels == splits.test.labels && again.test.images.floats == splits.test.images.floats)
        expectConstants(Normalization.measure(splits.train.images), BuiltinDatasets.digits.normalization!, "digits")
    }

    @Test func cifar10() throws {
        let splits = try DatasetRegistry.images("cifar10", from: try Support.directory(), options: whole)
        #expect(splits.train.count == 1000 && splits.test.count == 1000)
        #expect(splits.train.images.shape == [1000, 3, 32, 32])
        #expect(Array(splits.train.labels.prefix(10)) == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3])
        #expect(Array(splits.test.labels.prefix(10)) == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1])
        #expect(splits.train.labelCounts == [102, 112, 99, 92, 99, 85, 107, 102, 99, 103])
        #expect(splits.test.labelCounts == [103, 89, 100, 103, 90, 86, 112, 102, 106, 109])
        let red = splits.train.images.floats.prefix(9).map { Int(($0 * 255).rounded()) }
        #expect(red == [59, 43, 50, 68, 98, 119, 139, 145, 149])
        #expect(splits.test.images.floats.prefix(3).map { Int(($0 * 255).rounded()) } == [158, 159, 165])
        #expect(splits.train.classNames == BuiltinDatasets.cifar10.classNames)
        expectConstants(Normalization.measure(splits.train.images), BuiltinDatasets.cifar10.normalization!, "cifar10")
    }

    @Test func sst2() throws {
        let splits = try DatasetRegistry.text("sst2", from: try Support.directory(), options: whole)
        #expect(splits.train.count == 6920 && splits.test.count == 1821 && splits.validation == nil)
        #expect(splits.train.labelCounts == [3310, 3610])
        #expect(splits.test.labelCounts == [912, 909])
        #expect(splits.train.sequenceLength == 64)
        let official = try DatasetRegistry.text("sst2", from: try Support.directory(),
                                                options: DatasetOptions(preferOfficialValidation: true))
        #expect(official.validation?.count == 872 && official.validation?.labelCounts == [428, 444])
        #expect(official.train.count == 6920)
        // Sample 0 is "a stirring , funny and finally transporting re-imagining …", label 1.
        let vocabulary = splits.train.vocabulary
        let first = splits.train.ids(of: 0)
        #expect(splits.train.labels[0] == 1)
        #expect(Array(first.prefix(4)) == [2, vocabulary.id(of: "a"), vocabulary.id(of: "stirring"), vocabulary.id(of: ",")])
    }

    @Test func trec() throws {
        let splits = try DatasetRegistry.text("trec", from: try Support.directory(), options: whole)
        #expect(splits.train.count == 5452 && splits.test.count == 500)
        #expect(splits.train.labelCounts == [86, 1162, 1250, 1223, 835, 896])
        #expect(splits.test.labelCounts == [9, 138, 94, 65, 81, 113])
        #expect(splits.train.classNames == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"])
    }

    @Test func smsSpam() throws {
        let splits = try DatasetRegistry.text("sms-spam", from: try Support.directory(), options: whole)
        #expect(splits.train.count + splits.test.count == 5574)
        #expect(splits.train.labelCounts[0] + splits.test.labelCounts[0] == 4827)
        #expect(splits.train.labelCounts[1] + splits.test.labelCounts[1] == 747)
        #expect(splits.test.labelCounts == [965, 149])  // round(0.2 · 4827), round(0.2 · 747)
    }

    @Test func validationSplitIsSeededAndDisjoint() throws {
        let directory = try Support.directory()
        let options = DatasetOptions(validationFraction: 0.25, splitSeed: 42)
        let a = try DatasetRegistry.load("trec", from: directory, options: options)
        let b = try DatasetRegistry.load("trec", from: directory, options: options)
        let c = try DatasetRegistry.load("trec", from: directory, options: DatasetOptions(validationFraction: 0.25, splitSeed: 43))
        #expect(a.train.count == 4089 && a.validation?.count == 1363)
        guard case let .text(sa) = a, case let .text(sb) = b, case let .text(sc) = c else {
            Issue.record("trec should load as text")
            return
        }
        #expect(sa.validation!.tokenIDs == sb.validation!.tokenIDs)
        #expect(sa.validation!.tokenIDs != sc.validation!.tokenIDs)
        // The vocabulary comes from the training part only, and travels: reloading with it gives the same ids.
        let reused = try DatasetRegistry.text("trec", from: directory, options: options, vocabulary: sa.train.vocabulary)
        #expect(reused.test.tokenIDs == sa.test.tokenIDs)
        #expect(a.vocabulary == sa.train.vocabulary)

        let images = try DatasetRegistry.images("digits", from: directory, options: DatasetOptions(validationFraction: 0.1, splitSeed: 5))
        #expect(images.train.count + (images.validation?.count ?? 0) == 1438)
        #expect(images.validation?.count == 144)
    }

    @Test func unknownNameAndBadOptionsThrow() throws {
        let directory = try Support.directory()
        Support.expectDataError("unknown", { if case .unknownDataset = $0 { true } else { false } }) {
            _ = try DatasetRegistry.load("imagenet", from: directory)
        }
        Support.expectDataError("fraction", { if case .invalidConfiguration = $0 { true } else { false } }) {
            _ = try DatasetRegistry.load("trec", from: directory, options: DatasetOptions(validationFraction: 0.9))
        }
        Support.expectDataError("wrong kind", { if case .invalidConfiguration = $0 { true } else { false } }) {
            _ = try DatasetRegistry.text("mnist", from: directory)
        }
        Support.expectDataError("empty directory", { if case .unreadable = $0 { true } else { false } }) {
            let folder = try Support.temporaryFolder()
            defer { Support.cleanUp(folder) }
            _ = try DatasetRegistry.load("mnist", from: DataDirectory(path: folder))
        }
        #expect(BuiltinDatasets.names == ["mnist", "fashion-mnist", "digits", "cifar10", "sst2", "trec", "sms-spam"])
    }

    private func expectConstants(_ measured: Normalization, _ recorded: Normalization, _ name: String,
                                 sourceLocation: SourceLocation = #_sourceLocation) {
        for channel in measured.mean.indices {
            #expect(abs(measured.mean[channel] - recorded.mean[channel]) < 2e-6,
                    "\(name) mean[\(channel)]: measured \(measured.mean[channel]), recorded \(recorded.mean[channel])", sourceLocation: sourceLocation)
            #expect(abs(measured.std[channel] - recorded.std[channel]) < 2e-6,
                    "\(name) std[\(channel)]: measured \(measured.std[channel]), recorded \(recorded.std[channel])", sourceLocation: sourceLocation)
        }
    }
}
