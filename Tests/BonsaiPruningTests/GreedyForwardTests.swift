import Foundation
import Testing
@testable import BonsaiPruning

/// METHODS.md §6.6 / §18 item 6: the full-selection identity (all channels at `a = 1/D` give the
/// original network exactly), the consumer-column factor equals scaling the activations
/// (`D·a ⊙ h`), the greedy step picks the loss-minimising candidate and stops by the top-1 rule,
/// and the selected network compacts exactly. (The toy log-log slope is the `greedy-toy-rate`
/// reproduction.)
@Suite struct GreedyForwardTests {
    static func setup(_ architecture: String, seed: UInt64 = 2) throws -> (any Model, [ChannelGroup], PreparedData) {
        let data = try PreparedData.load(DatasetSpec(name: "digits", validation: 0), batchSize: 32, seed: seed, directory: TestData.directory)
        let options = architecture == "lenet300" ? ArchitectureOptions(hidden: [24, 12]) : architecture == "conv2" ? ArchitectureOptions() : ArchitectureOptions(width: 4)
        let model = try data.makeModel(ModelSpec(architecture: architecture, options: options), seed: seed)
        return (model, try ChannelDependencies.groups(of: model), data)
    }

    @Test(arguments: ["lenet300", "resnet20", "conv2"])
    func fullSelectionIsTheIdentity(_ architecture: String) throws {
        let (model, groups, data) = try Self.setup(architecture)
        let x = try data.loader.batch(epoch: 0, index: 0).input
        let original = Engine.withoutGrad { model.forward(x, context: .evaluation) }.floats
        for group in groups {
            let all = GreedyLayerSelection.channelScale(channels: group.channels, selected: Array(0..<group.channels), rescale: true)
            #expect(all.allSatisfy { $0 == 1 }, "D·(1/D) must be exactly 1")
            let scaled = GreedyLayerSelection.withChannelScale(model, group: group, scale: all) {
                Engine.withoutGrad { model.forward(x, context: .evaluation) }.floats
            }
            #expect(scaled == original, "\(architecture) \(group.name): full selection changed the output")
        }
    }

    /// The consumer-column factor is exactly the reference's `Mask`: activations times `D·a`.
    @Test func consumerFactorEqualsScalingTheActivations() throws {
        let (model, groups, data) = try Self.setup("lenet300")
        guard case let .dense(x) = try data.loader.batch(epoch: 0, index: 0).input, let mlp = model as? Sequential else { return }
        let group = groups[0]
        let selected = [3, 0, 17, 9]
        let scale = GreedyLayerSelection.channelScale(channels: group.channels, selected: selected, rescale: true)
        #expect(scale[3] == Float(group.channels) / 4 && scale[1] == 0)
        let viaColumns = GreedyLayerSelection.withChannelScale(model, group: group, scale: scale) {
            Engine.withoutGrad { model.forward(.dense(x), context: .evaluation) }
        }
        let explicit = Engine.withoutGrad { () -> Tensor in
            var h = x.flattened(from: 1)
            for (i, (_, layer)) in mlp.children.enumerated() {
                h = (layer as! any UnaryLayer).forward(h, context: .evaluation)
                if i == 2 { h = h * Tensor(shape: [1, group.channels], scalars: scale) } // after Linear 1 + ReLU
            }
            return h
        }
        let a = viaColumns.floats, b = explicit.floats
        for (u, v) in zip(a, b) { #expect(Swift.abs(u - v) <= 1e-5 * Swift.max(1, Swift.abs(v))) }
    }

    @Test func greedyStepPicksTheLowestLossAndStopsByTop1() throws {
        let (model, groups, data) = try Self.setup("lenet300")
        // A briefly trained model, so accuracy is meaningful.
        let optimizer = try OptimizerConfig(name: "sgd", lr: 0.1, momentum: 0.9).make(parameters: model.namedParameters())
        for i in 0..<30 {
            let b = try data.loader.batch(epoch: i / data.loader.batchesPerEpoch, index: i % data.loader.batchesPerEpoch)
            optimizer.zeroGrad()
            crossEntropy(logits: model.forward(b.input, context: ForwardContext(training: true)), labels: b.labels).backward()
            optimizer.step()
        }
        let group = groups[1]
        let batch = try data.loader.batch(epoch: 0, index: 1)
        let evaluation = GreedyForwardSelection.evalTrainSubset(data.loader, samples: 300)
        let selector = GreedyLayerSelection(candidates: 1000, tolerance: 0.02, skipConverge: 0.05)
        var rng = RandomGenerator(seed: 1)
        let outcome = try selector.select(model, group: group, alive: Array(0..<group.channels), rescale: true,
                                          batch: { _ in batch }, evaluation: evaluation, rng: &rng)
        // First pick: the single channel (at factor D) with the smallest loss on the mini-batch.
        let losses = (0..<group.channels).map { j in
            GreedyLayerSelection.withChannelScale(model, group: group, scale: GreedyLayerSelection.channelScale(channels: group.channels, selected: [j], rescale: true)) {
                Engine.withoutGrad { crossEntropy(logits: model.forward(batch.input, context: .evaluation), labels: batch.labels).item }
            }
        }
        let best = losses.indices.min { (losses[$0], $0) < (losses[$1], $1) }!
        #expect(outcome.selected.first == best)
        #expect(Set(outcome.selected).count == outcome.selected.count)
        let initial = Evaluation.run(model, batches: evaluation).accuracy
        #expect(outcome.initialTop1 == initial)
        #expect(outcome.finalTop1 >= 0.98 * initial || outcome.selected.count == group.channels)
    }

    /// The pipeline's result compacts to a dense model with identical outputs.
    @Test func selectedNetworkCompactsExactly() throws {
        let spec = PipelineSpec(model: ModelSpec(architecture: "lenet300", options: ArchitectureOptions(hidden: [24, 12])),
                                dataset: DatasetSpec(name: "digits", validation: 0),
                                methodJSON: Data(#"{"name": "greedy-forward", "candidates": 6, "eval_samples": 200, "batch_size": 32, "tolerance": 0.1, "intermediate_epochs": 0}"#.utf8),
                                train: TrainingConfig(epochs: nil, steps: 20, batchSize: 32, optimizer: OptimizerConfig(name: "sgd", lr: 0.05, momentum: 0.9)),
                                finetune: PhaseOverrides(steps: 2), seed: 4)
        let data = try PreparedData.load(spec.dataset, batchSize: 32, seed: 4, directory: TestData.directory)
        let model = try data.makeModel(spec.model, seed: 4)
        _ = try PipelineRunner.run(spec: spec, model: model, data: data)
        let groups = try ChannelDependencies.groups(of: model)
        let kept = ChannelMasks.current(in: model, groups: groups)
        #expect(kept.counts.kept < kept.counts.total, "nothing was pruned")
        let compact = try Compaction.compact(model)
        let x = try data.loader.batch(epoch: 0, index: 0).input
        let a = Engine.withoutGrad { model.forward(x, context: .evaluation) }.floats
        let b = Engine.withoutGrad { compact.model.forward(x, context: .evaluation) }.floats
        for (u, v) in zip(a, b) { #expect(Swift.abs(u - v) <= 1e-4 * Swift.max(1, Swift.abs(v))) }
    }
}
