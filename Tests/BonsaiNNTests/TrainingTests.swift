import Foundation
import Testing
import BonsaiNN

/// A synthetic batch source for tests: points around per-class centres, shuffled per epoch by a
/// permutation that is a pure function of (seed, epoch).
struct BlobBatches: BatchProvider {
    let inputs: [[Float]]
    let labels: [Int]
    let batchSize: Int
    let seed: UInt64

    init(count: Int = 96, features: Int = 6, classes: Int = 3, batchSize: Int = 16, seed: UInt64 = 5) {
        var rng = RandomGenerator(seed: seed)
        let centres = (0..<classes).map { _ in (0..<features).map { _ in Float(rng.nextNormal() * 2) } }
        var inputs: [[Float]] = [], labels: [Int] = []
        for i in 0..<count {
            let c = i % classes
            inputs.append(centres[c].map { $0 + Float(rng.nextNormal() * 0.5) })
            labels.append(c)
        }
        self.inputs = inputs; self.labels = labels; self.batchSize = batchSize; self.seed = seed
    }

    var batchesPerEpoch: Int { labels.count / batchSize }
    var examplesPerEpoch: Int { batchesPerEpoch * batchSize }

    func batch(epoch: Int, index: Int) throws -> LabeledBatch {
        var rng = RandomGenerator(seed: seed &+ UInt64(epoch) &* 7919)
        var order = Array(labels.indices)
        order.shuffle(using: &rng)
        let picked = order[(index * batchSize)..<((index + 1) * batchSize)]
        let x = Tensor(shape: [batchSize, inputs[0].count], scalars: picked.flatMap { inputs[$0] })
        return LabeledBatch(input: .dense(x), labels: picked.map { labels[$0] })
    }
}

@Suite struct TrainingTests {
    func makeTrainer(seed: UInt64 = 9, epochs: Int = 3) throws -> Trainer {
        var rng = RandomGenerator(seed: seed)
        let model = MLP.make(inputs: 6, hidden: [16, 8], classes: 3, rng: &rng)
        let config = TrainingConfig(epochs: epochs, batchSize: 16,
                                    optimizer: OptimizerConfig(name: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 1e-4),
                                    schedule: .cosine(total: 18, minimumFactor: 0.1), schedulePerStep: true)
        return try Trainer(model: model, config: config, seed: seed)
    }

    @Test func trainingLearnsSeparableBlobs() throws {
        let trainer = try makeTrainer()
        let data = BlobBatches()
        let all = try (0..<data.batchesPerEpoch).map { try data.batch(epoch: 0, index: $0) }
        var steps = 0
        let epochs = try trainer.run(data: data, evaluation: all) { event in
            if case .step = event { steps += 1 }
        }
        #expect(steps == 18)
        #expect(epochs.count == 3)
        #expect((epochs.last?.evaluation?.accuracy ?? 0) > 0.9, "final accuracy \(epochs.last?.evaluation?.accuracy ?? 0)")
    }

    @Test func resumedRunIsBitIdentical() throws {
        let data = BlobBatches()
        let uninterrupted = try makeTrainer()
        let expectedEpochs = try uninterrupted.run(data: data)

        // Interrupt after the checkpoint at step 8 (checkpoint_every 4 → steps 4 and 8), via a file.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bonsai-resume-\(UUID()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        struct Stop: Error {}
        var config = try makeTrainer().config
        config.checkpointEvery = 4
        var rng = RandomGenerator(seed: 9)
        let first = try Trainer(model: MLP.make(inputs: 6, hidden: [16, 8], classes: 3, rng: &rng), config: config, seed: 9)
        do {
            try first.run(data: data) { event in
                if case let .checkpoint(c) = event, c.position.step == 8 {
                    try c.write(to: path)
                    throw Stop()
                }
            }
        } catch is Stop {}

        rng = RandomGenerator(seed: 123) // a different initialisation: the checkpoint must overwrite it all
        let resumed = try Trainer(model: MLP.make(inputs: 6, hidden: [16, 8], classes: 3, rng: &rng), config: config, seed: 77)
        try resumed.resume(from: try Checkpoint.read(from: path))
        #expect(resumed.position == TrainingPosition(epoch: 1, batchIndex: 2, step: 8))
        let resumedEpochs = try resumed.run(data: data)
        for ((path, a), (_, b)) in zip(uninterrupted.model.namedParameters(), resumed.model.namedParameters()) {
            #expect(a.value.floats == b.value.floats, "\(path) differs after resume")
        }
        // The epoch resumed mid-way (step 8 is inside epoch 1) reports the train loss and accuracy of
        // the whole epoch: the running sums travel in the checkpoint.
        let tail = Array(expectedEpochs.suffix(resumedEpochs.count))
        #expect(!resumedEpochs.isEmpty && resumedEpochs.map(\.trainLoss) == tail.map(\.trainLoss), "epoch train loss differs after resume")
        #expect(resumedEpochs.map(\.trainAccuracy) == tail.map(\.trainAccuracy), "epoch train accuracy differs after resume")
    }

    @Test func cancellationStopsBeforeTheNextStep() throws {
        let trainer = try makeTrainer()
        let flag = CancellationFlag()
        #expect(throws: TrainingError.cancelled(at: TrainingPosition(epoch: 0, batchIndex: 3, step: 3))) {
            try trainer.run(data: BlobBatches(), cancellation: flag) { event in
                if case let .step(m) = event, m.step == 2 { flag.cancel() }
            }
        }
    }

    @Test func divergingLossFailsClearly() throws {
        var rng = RandomGenerator(seed: 1)
        let model = MLP.make(inputs: 6, hidden: [8], classes: 3, rng: &rng)
        let trainer = try Trainer(model: model, config: TrainingConfig(epochs: 2, batchSize: 16), seed: 1)
        var calls = 0
        trainer.hooks.regularizer = { _ in
            calls += 1
            return calls == 3 ? Tensor(Double.infinity) : nil
        }
        #expect(throws: TrainingError.diverged(step: 2, loss: .infinity)) { try trainer.run(data: BlobBatches()) }
    }

    @Test func stateDictRoundTripsThroughSafetensors() throws {
        var rng = RandomGenerator(seed: 2)
        let model = ResNet(depth: 8, width: 4, rng: &rng)
        _ = model.forward(Tensor.normal([2, 3, 8, 8], using: &rng), context: ForwardContext(training: true))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bonsai-state-\(UUID()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.saveStateDict(to: path)
        var other = RandomGenerator(seed: 99)
        let copy = ResNet(depth: 8, width: 4, rng: &other)
        try copy.loadStateDict(from: path)
        let x = Tensor.normal([2, 3, 8, 8], using: &rng)
        #expect(model.forward(x, context: .evaluation).floats == copy.forward(x, context: .evaluation).floats)
        let file = try SafetensorsFile(path: path)
        #expect(try file.entry("bn1.num_batches_tracked").dtype == .int64)
        #expect(try file.integers("bn1.num_batches_tracked") == [1])
    }

    /// `captureState` keeps the BN counters too (a copy that dropped them failed strict loading).
    @Test func capturedStateCopiesParametersBuffersAndCounters() throws {
        var rng = RandomGenerator(seed: 3)
        let model = ResNet(depth: 8, width: 4, rng: &rng)
        _ = model.forward(Tensor.normal([2, 3, 8, 8], using: &rng), context: ForwardContext(training: true))
        let state = model.captureState()
        #expect(state.counters["bn1.num_batches_tracked"] == 1)
        var other = RandomGenerator(seed: 98)
        let copy = ResNet(depth: 8, width: 4, rng: &other)
        try copy.loadStateDict(state)
        let x = Tensor.normal([2, 3, 8, 8], using: &rng)
        #expect(model.forward(x, context: .evaluation).floats == copy.forward(x, context: .evaluation).floats)
        #expect(copy.captureState().counters == state.counters)
    }

    @Test func loadingRejectsWrongNamesAndShapes() throws {
        var rng = RandomGenerator(seed: 2)
        let model = MLP.make(inputs: 4, hidden: [3], classes: 2, rng: &rng)
        var state = Dictionary(uniqueKeysWithValues: model.stateDict().compactMap { key, value -> (String, Tensor)? in
            if case let .tensor(t) = value { return (key, t) } else { return nil }
        })
        state["1.weight"] = .zeros([3, 5])
        #expect(throws: StateDictError.shapeMismatch(key: "1.weight", expected: [3, 4], got: [3, 5])) { try model.loadStateDict(state) }
        state["1.weight"] = nil
        #expect(throws: StateDictError.missingKeys(["1.weight"])) { try model.loadStateDict(state) }
        state["1.weight"] = .zeros([3, 4])
        state["9.weight"] = .zeros([1])
        #expect(throws: StateDictError.unexpectedKeys(["9.weight"])) { try model.loadStateDict(state) }
    }
}
