import Foundation
import Testing
import BonsaiPruning

/// Movement pruning's exact properties (METHODS.md §14.6 items 1 and 2).
@Suite struct MovementTests {
    /// With S = 0 and everything kept, one backward gives ∂L/∂S = (∂L/∂W) ⊙ W; after k SGD steps on S
    /// alone (W frozen), S = −α Σ_t (∂L/∂W)_t ⊙ W.
    @Test func scoreGradientIsMovement() throws {
        var rng = RandomGenerator(seed: 12)
        let w = Tensor.normal([4, 6], dtype: .float64, using: &rng)
        let score = Parameter(.zeros([4, 6], dtype: .float64), role: .other)
        let optimizer = try SGD(groups: [ParameterGroup(parameters: [("s", score)], learningRate: 0.1)])
        var expected = [Double](repeating: 0, count: 24)
        for _ in 0..<3 {
            let x = Tensor.normal([5, 6], dtype: .float64, using: &rng)
            let target = Tensor.normal([5, 4], dtype: .float64, using: &rng)
            let effective = MovementPruning.masked(w, score: score.value, mode: "hard", level: 1)
            let loss = (linear(x, weight: effective) - target).pow(2).sum()
            let wLeaf = w.requiringGrad()
            let gW = gradients(of: (linear(x, weight: wLeaf) - target).pow(2).sum(), withRespectTo: [wLeaf])[0].doubles
            optimizer.zeroGrad()
            loss.backward()
            let gS = score.grad!.doubles
            for i in 0..<24 {
                #expect(abs(gS[i] - gW[i] * w.doubles[i]) < 1e-12, "∂L/∂S ≠ ∂L/∂W ⊙ W at \(i)")
                expected[i] -= 0.1 * gW[i] * w.doubles[i]
            }
            optimizer.step()
        }
        for (a, b) in zip(score.value.doubles, expected) { #expect(abs(a - b) < 1e-12) }
    }

    @Test func thresholdScheduleIsExact() {
        let s = ThresholdSchedule(total: 1000, warmup: 100, initial: 1, final: 0.1)
        #expect(s.threshold(at: 0) == 1)
        #expect(s.threshold(at: 100) == 1)
        #expect(s.threshold(at: 801) == 0.1)
        #expect(s.threshold(at: 1000) == 0.1)
        // Mid-ramp (p = ½): τ_f + (τ_i − τ_f)/8.
        #expect(abs(s.threshold(at: 450) - (0.1 + 0.9 / 8)) < 1e-12)
        #expect(abs(s.regularization(at: 450, final: 400) - 400 * (0.1 + 0.9 / 8) / 0.1) < 1e-9)
        #expect((100..<1000).allSatisfy { s.threshold(at: $0 + 1) <= s.threshold(at: $0) })
    }

    @Test func softMaskKeepsAFloor() {
        let score = Tensor.full([10, 30], value: -5)
        let mask = MovementPruning.mask(w: .ones([10, 30]), score: score, mode: "soft", level: 0.5)
        #expect(Int(mask.floats.reduce(0, +)) == 300 / 200 + 1)
    }

    /// `mlm_corpus: "shipped"`: the masked-LM phase runs over the shipped corpora's 16,832 training
    /// sentences (encoded with the job's vocabulary), planned and run with the same step count.
    @Test func maskedLMCanPretrainOnTheShippedCorpora() throws {
        let spec = PipelineSpec(
            model: ModelSpec(architecture: "tinybert", options: ArchitectureOptions(dim: 8, heads: 2, layers: 1)),
            dataset: DatasetSpec(name: "sst2", validation: 0, sequenceLength: 8),
            methodJSON: Data(#"{"name": "movement", "mode": "hard", "remaining": 0.5, "mlm_epochs": 1, "mlm_corpus": "shipped"}"#.utf8),
            train: TrainingConfig(epochs: nil, steps: 2, batchSize: 256, optimizer: OptimizerConfig(name: "adamw", lr: 1e-3, weightDecay: 0)),
            seed: 5)
        try spec.validate()
        let data = try PreparedData.load(spec.dataset, batchSize: 256, seed: 5, directory: TestData.directory)
        let model = try data.makeModel(spec.model, seed: 5)
        var planned: [String: Int] = [:], ran: [String: Int] = [:]
        let result = try PipelineRunner.run(spec: spec, model: model, data: data) { event in
            if case let .phaseStarted(name, steps) = event { planned[name] = steps }
            if case let .step(phase, _, _) = event { ran[phase, default: 0] += 1 }
        }
        let perEpoch = (16_832 + 255) / 256
        #expect(planned["pretrain-mlm"] == perEpoch && ran["pretrain-mlm"] == perEpoch)
        #expect(ran["movement"] == 2)
        #expect(result.masks.density < 1)

        let bad = PipelineSpec(model: spec.model, dataset: spec.dataset,
                               methodJSON: Data(#"{"name": "movement", "mlm_epochs": 1, "mlm_corpus": "wikipedia"}"#.utf8),
                               train: spec.train, seed: 5)
        #expect(throws: (any Error).self) { try bad.validate() }
    }
}
