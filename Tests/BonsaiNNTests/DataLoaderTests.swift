import Foundation
import Testing
@testable import BonsaiNN

private typealias Support = DataTestSupport

private func epochIndices(_ loader: inout DataLoader) -> [[Int]] {
    var batches: [[Int]] = []
    while let batch = loader.next() { batches.append(batch.sampleIndices) }
    return batches
}

@Suite struct DataLoaderTests {
    @Test func sameSeedSameOrderAndEverySampleOncePerEpoch() throws {
        let data = try Support.syntheticImages(count: 103, channels: 1, height: 2, width: 2)
        let config = DataLoaderConfig(batchSize: 10, seed: 7)
        var a = try DataLoader(dataset: data, config: config)
        var b = try DataLoader(dataset: data, config: config)
        #expect(a.batchesPerEpoch == 11)
        let epoch0 = epochIndices(&a)
        #expect(epoch0 == epochIndices(&b))
        #expect(epoch0.count == 11 && epoch0.last?.count == 3)
        #expect(epoch0.flatMap { $0 }.sorted() == Array(0..<103))
        #expect(epoch0.flatMap { $0 } != Array(0..<103))
        #expect(a.position == DataPosition(epoch: 1, batchIndex: 0))
        let epoch1 = epochIndices(&a)
        #expect(epoch1.flatMap { $0 }.sorted() == Array(0..<103))
        #expect(epoch1 != epoch0)
        var other = try DataLoader(dataset: data, config: DataLoaderConfig(batchSize: 10, seed: 8))
        #expect(epochIndices(&other) != epoch0)
    }

    @Test func dropLastAndNoShuffle() throws {
        let data = try Support.syntheticImages(count: 25, channels: 1, height: 1, width: 1)
        var loader = try DataLoader(dataset: data, config: DataLoaderConfig(batchSize: 10, shuffle: false, dropLast: true))
        let batches = epochIndices(&loader)
        #expect(batches == [Array(0..<10), Array(10..<20)])
        Support.expectDataError("no full batch", { if case .invalidConfiguration = $0 { true } else { false } }) {
            _ = try DataLoader(dataset: data, config: DataLoaderConfig(batchSize: 30, dropLast: true))
        }
        Support.expectDataError("batch size 0", { if case .invalidConfiguration = $0 { true } else { false } }) {
            _ = try DataLoader(dataset: data, config: DataLoaderConfig(batchSize: 0))
        }
    }

    @Test func resumeFromSavedPositionContinuesIdentically() throws {
        let data = try Support.syntheticImages(count: 50, channels: 3, height: 6, width: 6)
        let config = DataLoaderConfig(batchSize: 8, seed: 3, augmentation: ImageAugmentation(padding: 2, horizontalFlip: true))
        var uninterrupted = try DataLoader(dataset: data, config: config)
        var reference: [Batch] = []
        for _ in 0..<3 {
            while let batch = uninterrupted.next() { reference.append(batch) }
        }
        // Run 1.5 epochs, save the position through JSON, restore into a fresh loader.
        var first = try DataLoader(dataset: data, config: config)
        var seen: [Batch] = []
        while let batch = first.next() { seen.append(batch) }
        for _ in 0..<3 { seen.append(first.next()!) }
        let saved = try JSONEncoder().encode(first.position)
        let position = try JSONDecoder().decode(DataPosition.self, from: saved)
        #expect(position == DataPosition(epoch: 1, batchIndex: 3))
        var resumed = try DataLoader(dataset: data, config: config, position: position)
        for _ in 0..<2 {
            while let batch = resumed.next() { seen.append(batch) }
        }
        #expect(seen.count == reference.count)
        for (got, want) in zip(seen, reference) {
            #expect(got.position == want.position)
            #expect(got.sampleIndices == want.sampleIndices)
            #expect(got.labels == want.labels)
            #expect(got.inputs.floats == want.inputs.floats, "batch at \(want.position!) differs after resume")
        }
        #expect(resumed.batch(at: DataPosition(epoch: 2, batchIndex: 4)).inputs.floats == reference[7 + 7 + 4].inputs.floats)
        Support.expectDataError("bad position", { if case .invalidConfiguration = $0 { true } else { false } }) {
            try resumed.seek(to: DataPosition(epoch: 0, batchIndex: 8))
        }
    }

    @Test func normalisationAppliedPerChannel() throws {
        var data = try Support.syntheticImages(count: 4, channels: 2, height: 3, width: 3)
        data.normalization = Normalization(mean: [0.5, 0.25], std: [0.5, 2])
        var loader = try DataLoader(dataset: data, config: DataLoaderConfig(batchSize: 4, shuffle: false))
        let batch = loader.next()!
        let raw = data.images.floats, got = batch.inputs.floats
        for i in raw.indices {
            let channel = (i / 9) % 2
            let want = channel == 0 ? (raw[i] - 0.5) / 0.5 : (raw[i] - 0.25) / 2
            #expect(abs(got[i] - want) < 1e-6)
        }
    }

    @Test func textBatchesCarryIdsAndMasks() throws {
        let samples = TextSamples(texts: ["good movie", "bad", "a very good very long movie indeed"], labels: [1, 0, 1])
        let vocabulary = try Vocabulary.build(from: samples.texts, options: VocabularyOptions(minFrequency: 1))
        let data = try TextDataset(name: "t", samples: samples, vocabulary: vocabulary, sequenceLength: 5, classNames: ["neg", "pos"])
        var loader = try DataLoader(dataset: data, config: DataLoaderConfig(batchSize: 3, shuffle: false))
        let batch = loader.next()!
        #expect(batch.inputs.shape == [3, 5] && batch.attentionMask?.shape == [3, 5])
        #expect(batch.tokenIDs == Array(data.tokenIDs.map { Int($0) }))
        #expect(batch.inputs.floats == data.tokenIDs.map { Float($0) })
        #expect(batch.attentionMask!.floats == [1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1])
        #expect(batch.labels == [1, 0, 1])
    }
}

@Suite struct DataAugmentationTests {
    @Test func deterministicAndShapePreserving() throws {
        let data = try Support.syntheticImages(count: 20, channels: 3, height: 8, width: 8)
        let augmentation = AugmentationContext(augmentation: .cifar, seed: 11, epoch: 2)
        let a = data.makeBatch(indices: [5, 3, 17], augmentation: augmentation)
        let b = data.makeBatch(indices: [17, 9, 5], augmentation: augmentation)
        #expect(a.inputs.shape == [3, 3, 8, 8])
        // Sample 5 gets the same transform regardless of its batch or position in it.
        let floats = 3 * 8 * 8
        #expect(Array(a.inputs.floats[0..<floats]) == Array(b.inputs.floats[(2 * floats)..<(3 * floats)]))
        #expect(Array(a.inputs.floats[(2 * floats)..<(3 * floats)]) == Array(b.inputs.floats[0..<floats]))
        // A different epoch changes at least some transforms.
        let next = AugmentationContext(augmentation: .cifar, seed: 11, epoch: 3)
        let transforms = (0..<20).map { augmentation.transform(sample: $0) }
        #expect(transforms != (0..<20).map { next.transform(sample: $0) })
        // Offsets cover [-4, 4] and both flip states over many samples.
        let many = (0..<2000).map { augmentation.transform(sample: $0) }
        #expect(Set(many.map(\.shiftX)) == Set(-4...4) && Set(many.map(\.shiftY)) == Set(-4...4))
        #expect(Set(many.map(\.flip)) == [true, false])
    }

    @Test func flipTwiceIsIdentityAndMatchesReference() throws {
        let data = try Support.syntheticImages(count: 3, channels: 2, height: 5, width: 7)
        let flipped = data.images.flippedHorizontally()
        #expect(flipped.shape == data.images.shape)
        #expect(flipped.flippedHorizontally().floats == data.images.floats)
        #expect(flipped.floats != data.images.floats)
        for n in 0..<3 { for c in 0..<2 { for y in 0..<5 { for x in 0..<7 {
            #expect(flipped[n, c, y, x] == data.images[n, c, y, 6 - x])
        } } } }
    }

    @Test func shiftedCropMatchesPaddedReference() throws {
        let data = try Support.syntheticImages(count: 1, channels: 2, height: 6, width: 5)
        for transform in [SampleTransform(shiftY: 2, shiftX: -1), SampleTransform(shiftY: -3, shiftX: 4, flip: true),
                          SampleTransform(shiftY: 0, shiftX: 7), SampleTransform(shiftY: -1, shiftX: 0, flip: true)] {
            let got = data.images.transformedImages([transform])
            for c in 0..<2 { for y in 0..<6 { for x in 0..<5 {
                // Reference: pad, crop, then mirror the crop.
                let sy = y + transform.shiftY
                let sx = (transform.flip ? 4 - x : x) + transform.shiftX
                let want = (0..<6).contains(sy) && (0..<5).contains(sx) ? data.images[0, c, sy, sx] : 0
                #expect(got[0, c, y, x] == want, "\(transform) at (\(c), \(y), \(x))")
            } } }
        }
    }

    @Test func paddingReadsAsNormalisedZero() throws {
        var data = try Support.syntheticImages(count: 1, channels: 1, height: 4, width: 4)
        data.normalization = Normalization(mean: [0.5], std: [0.25])
        let out = data.makeBatch(indices: [0], augmentation: nil)
        #expect(abs(out.inputs[0, 0, 0, 0] - (data.images[0, 0, 0, 0] - 0.5) / 0.25) < 1e-6)
        // Force a shift via a large padding and check a filled pixel equals (0 − mean)/std.
        let context = AugmentationContext(augmentation: ImageAugmentation(padding: 4), seed: 1, epoch: 0)
        let sample = (0..<100).first { context.transform(sample: $0).shiftY >= 1 }!
        let big = try DataTestSupport.syntheticImages(count: sample + 1, channels: 1, height: 4, width: 4)
        var normalised = big
        normalised.normalization = data.normalization
        let batch = normalised.makeBatch(indices: [sample], augmentation: context)
        let t = context.transform(sample: sample)
        #expect(batch.inputs[0, 0, 4 - t.shiftY, 0] == -2)  // row 4 − shiftY reads source row 4: padding
    }
}

@Suite(.serialized) struct DataFullEpochTests {
    /// A whole MNIST epoch (and an augmented CIFAR-subset epoch) batches every sample exactly once.
    /// Timing lives in `bonsai bench data`, not here.
    @Test func fullEpochsCoverEverySample() throws {
        let splits = try DatasetRegistry.images("mnist", from: try DataTestSupport.directory(),
                                                options: DatasetOptions(validationFraction: 0))
        var loader = try DataLoader(dataset: splits.train, config: DataLoaderConfig(batchSize: 128, seed: 1))
        var seen = [Int](repeating: 0, count: 60_000)
        while let batch = loader.next() { for i in batch.sampleIndices { seen[i] += 1 } }
        #expect(seen.allSatisfy { $0 == 1 })
        var cifar = try DataLoader(dataset: try DatasetRegistry.images("cifar10", from: try DataTestSupport.directory()).train,
                                   config: DataLoaderConfig(batchSize: 128, seed: 1, augmentation: .cifar))
        var cifarSamples = 0
        while let batch = cifar.next() { cifarSamples += batch.count }
        #expect(cifarSamples == cifar.dataset.count)
    }
}



@Suite struct DataSplitTests {
    @Test func carveIsSeededSortedAndComplete() throws {
        let a = try DataSplit.carve(count: 100, fraction: 0.2, seed: 1)
        #expect(a.heldOut.count == 20 && a.kept.count == 80)
        #expect((a.kept + a.heldOut).sorted() == Array(0..<100))
        #expect(a.kept == a.kept.sorted())
        #expect(try DataSplit.carve(count: 100, fraction: 0.2, seed: 1) == a)
        #expect(try DataSplit.carve(count: 100, fraction: 0.2, seed: 2).heldOut != a.heldOut)
        #expect(try DataSplit.carve(count: 1, fraction: 0.5, seed: 1).kept == [0])
        Support.expectDataError("fraction 1", { if case .invalidConfiguration = $0 { true } else { false } }) {
            _ = try DataSplit.carve(count: 10, fraction: 1, seed: 0)
        }
    }

    @Test func permutationIsFixedAcrossToolchains() {
        // Pinned values: the split and shuffle algorithms are ours, so these never change.
        #expect(SeedMix.permutation(count: 10, seed: 0) == [7, 8, 3, 1, 5, 4, 2, 0, 9, 6])
        #expect(SeedMix.permutation(count: 10, seed: 0).sorted() == Array(0..<10))
        #expect(SeedMix.hash3(1, 2, 3) == SeedMix.hash(1, 2, 3) && SeedMix.hash(1, 2, 3) == SeedMix.hash([1, 2, 3]))
        #expect(SeedMix.hash(1, 2, 3) != SeedMix.hash(1, 3, 2))
    }

    @Test func devicesAreRejected() {
        Support.expectDataError("/dev/zero", { if case .unreadable = $0 { true } else { false } }) {
            _ = try DataFile.read("/dev/zero")
        }
    }
}
