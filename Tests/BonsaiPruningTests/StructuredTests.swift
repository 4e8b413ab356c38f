import Foundation
import Testing
import BonsaiPruning

/// Channel groups per architecture, their expansion into element masks, exact channel selection,
/// and the exact channel counts of the structured methods.
@Suite struct StructuredTests {
    static func make(_ name: String, _ input: InputKind, _ options: ArchitectureOptions = .init()) throws -> any Model {
        var rng = RandomGenerator(seed: 1)
        return try ModelZoo.make(name, input: input, classes: 10, options: options, rng: &rng)
    }

    @Test func groupsOfEveryArchitecture() throws {
        let vgg = try ChannelDependencies.groups(of: Self.make("vgg11", .image(channels: 3, height: 16, width: 16), .init(width: 0.25)))
        #expect(vgg.map(\.channels) == [16, 32, 64, 64, 128, 128, 128, 128])
        #expect(vgg.first?.producer == "0" && vgg.first?.norm == "1" && vgg.first?.consumers == [ChannelConsumer(path: "4")])
        #expect(vgg.last?.consumers == [ChannelConsumer(path: "30", block: 1)])

        let conv4 = try ChannelDependencies.groups(of: Self.make("conv4", .image(channels: 3, height: 8, width: 8)))
        #expect(conv4.map(\.producer) == ["features.0", "features.2", "features.5", "features.7", "classifier.0", "classifier.2"])
        #expect(conv4[3].consumers == [ChannelConsumer(path: "classifier.0", block: 4)])   // 128 channels of 2×2 after two pools
        #expect(conv4.allSatisfy { $0.norm == nil })

        let lenet5 = try ChannelDependencies.groups(of: Self.make("lenet5", .image(channels: 1, height: 28, width: 28)))
        #expect(lenet5.map(\.producer) == ["conv1", "conv2", "fc1"])
        #expect(lenet5[1].consumers == [ChannelConsumer(path: "fc1", block: 16)])

        let lenet300 = try ChannelDependencies.groups(of: Self.make("lenet300", .image(channels: 1, height: 28, width: 28)))
        #expect(lenet300.map(\.producer) == ["1", "3"])
        #expect(lenet300.map(\.channels) == [300, 100])

        let resnet = try ChannelDependencies.groups(of: Self.make("resnet20", .image(channels: 3, height: 8, width: 8), .init(width: 4)))
        #expect(resnet.count == 9)
        #expect(resnet[0] == ChannelGroup(producer: "layer1.0.conv1", norm: "layer1.0.bn1",
                                          consumers: [ChannelConsumer(path: "layer1.0.conv2")], channels: 4))
        #expect(resnet.map(\.channels) == [4, 4, 4, 8, 8, 8, 16, 16, 16])

        #expect(throws: PruningError.self) {
            try ChannelDependencies.groups(of: Self.make("tinybert", .tokens(vocabulary: 50, maxLength: 8), .init(dim: 8, heads: 2, layers: 1)))
        }
    }

    @Test func expansionZeroesExactlyTheChannelSlices() throws {
        let model = try Self.make("conv4", .image(channels: 3, height: 8, width: 8))
        let groups = try ChannelDependencies.groups(of: model)
        // Remove channels 1 and 5 of features.7 (128 → classifier.0 with 4 columns per channel).
        let group = groups[3]
        let mask = ChannelMask(group: group.name, kept: (0..<128).filter { $0 != 1 && $0 != 5 }, channels: 128)
        let masks = try ChannelMasks.elementMasks(ChannelMaskSet([mask]), groups: groups, model: model)
        #expect(Set(masks.paths) == ["features.7.weight", "features.7.bias", "classifier.0.weight"])
        #expect(masks.counts.total - masks.counts.kept == 2 * 128 * 9 + 2 + 256 * 2 * 4)
        let fc = masks["classifier.0.weight"]!.floats   // [256, 512]
        #expect(fc[4] == 0 && fc[7] == 0 && fc[8] == 1 && fc[3] == 1 && fc[20] == 0 && fc[24] == 1 && fc[512 + 4] == 0)
        let bias = masks["features.7.bias"]!.floats
        #expect(bias[1] == 0 && bias[5] == 0 && bias.reduce(0, +) == 126)
    }

    @Test func currentChannelsReadBackFromTheMasks() throws {
        let model = try Self.make("vgg11", .image(channels: 3, height: 16, width: 16), .init(width: 0.25))
        let groups = try ChannelDependencies.groups(of: model)
        #expect(ChannelMasks.current(in: model, groups: groups).counts == (688, 688))
        let chosen = ChannelSelection.select(ChannelScores.filterL1(model, groups: groups), groups: groups, ratio: 0.25, scope: .global)
        try ChannelMasks.elementMasks(chosen, groups: groups, model: model).apply(to: model)
        #expect(ChannelMasks.current(in: model, groups: groups) == chosen)
        #expect(chosen.counts == (688, 688 - 172))
    }

    @Test func selectionIsExactWithTiesAndNeverEmptiesAGroup() {
        let groups = [ChannelGroup(producer: "a", norm: nil, consumers: [], channels: 4),
                      ChannelGroup(producer: "b", norm: nil, consumers: [], channels: 3)]
        let scores: [[Double]] = [[1, 1, 1, 1], [0.1, 0.2, 0.3]]
        // Global, 5 of 7: b0, b1 (lowest) — b2 is protected as b's last channel — then a0, a1, a2.
        let global = ChannelSelection.select(scores, groups: groups, ratio: 5.0 / 7, scope: .global)
        #expect(global["a"]?.kept == [3] && global["b"]?.kept == [2])
        // Layer-wise 0.5: round(2) of a (ties by position) and round(1.5) = 2 of b.
        let layerwise = ChannelSelection.select(scores, groups: groups, ratio: 0.5, scope: .layerwise)
        #expect(layerwise["a"]?.kept == [2, 3] && layerwise["b"]?.kept == [2])
        // On top of a current mask: already removed channels count and are never revived.
        let current = ChannelMaskSet([ChannelMask(group: "a", kept: [0, 1, 2], channels: 4), ChannelMask(group: "b", kept: [0, 1, 2], channels: 3)])
        let again = ChannelSelection.select([[5, 5, 5, 0], [0.1, 0.2, 0.3]], groups: groups, ratio: 2.0 / 7, scope: .global, current: current)
        #expect(again["a"]?.kept == [0, 1, 2] && again["b"]?.kept == [1, 2])
        // Thresholds keep the best channel of a group that would be emptied.
        let cut = ChannelSelection.threshold([[0.1, 0.3, 0.2, 0.05], [0.9, 0.5, 0.7]], groups: groups, thresholds: [0.5, 0.6])
        #expect(cut["a"]?.kept == [1] && cut["b"]?.kept == [0, 2])
    }

    static func runMethod(_ method: String, model: ModelSpec) throws -> (model: any Model, result: PipelineResult) {
        let spec = PipelineSpec(model: model, dataset: DatasetSpec(name: "digits", validation: 0.1), methodJSON: Data(method.utf8),
                                train: TrainingConfig(epochs: nil, steps: 6, batchSize: 32,
                                                      optimizer: OptimizerConfig(name: "sgd", lr: 0.05, momentum: 0.9)),
                                finetune: PhaseOverrides(steps: 2), seed: 2)
        let data = try PreparedData.load(spec.dataset, batchSize: 32, seed: 2, directory: TestData.directory)
        let built = try data.makeModel(spec.model, seed: 2)
        return (built, try PipelineRunner.run(spec: spec, model: built, data: data))
    }

    @Test func filterL1KeepsExactChannelCounts() throws {
        let (model, result) = try Self.runMethod(#"{"name": "filter-l1", "ratio": 0.4}"#,
                                                 model: ModelSpec(architecture: "lenet300", options: ArchitectureOptions(hidden: [25, 10])))
        let groups = try ChannelDependencies.groups(of: model)
        let kept = ChannelMasks.current(in: model, groups: groups)
        #expect(kept["1"]?.kept.count == 15 && kept["3"]?.kept.count == 6)   // 25 − round(10), 10 − round(4)
        #expect(result.events.count == 1)
        let compact = try Compaction.compact(model)
        #expect(compact.model.parameter(at: "1.weight")?.shape == [15, 64])
        #expect(compact.model.parameter(at: "3.weight")?.shape == [6, 15])
        #expect(compact.model.parameter(at: "5.weight")?.shape == [10, 6])
    }

    @Test func networkSlimmingRemovesTheGlobalPercentile() throws {
        let (model, _) = try Self.runMethod(#"{"name": "network-slimming", "penalty": 1e-3, "percent": 0.3}"#,
                                            model: ModelSpec(architecture: "resnet20", options: ArchitectureOptions(width: 4)))
        let groups = try ChannelDependencies.groups(of: model)
        let kept = ChannelMasks.current(in: model, groups: groups)
        #expect(kept.counts == (84, 84 - 25))   // floor(0.3 · 84)
        #expect(groups.allSatisfy { (kept[$0.name]?.kept.count ?? 0) >= 1 })
    }

    @Test func structuredMethodsRejectModelsWithoutTheirStructure() throws {
        #expect(throws: PruningError.self) {
            try Self.runMethod(#"{"name": "polarization"}"#, model: ModelSpec(architecture: "lenet300", options: ArchitectureOptions(hidden: [8])))
        }
        #expect(throws: PruningError.self) {
            try FilterL1Pruning.decode(settings: Data(#"{"ratio": 1.0}"#.utf8))
        }
    }
}
