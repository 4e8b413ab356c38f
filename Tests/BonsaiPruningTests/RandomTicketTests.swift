import Foundation
import Testing
import BonsaiPruning

/// Random pruning, smart ratios (METHODS.md §9.3, checked against the reference algorithm's
/// numbers), random and hybrid tickets, and the random-mask helpers of the sanity checks.
@Suite(.serialized) struct RandomTicketTests {
    /// A VGG-11-like stack: eight 3×3 convs and a 512→10 classifier.
    static let vgg: [SmartRatio.Layer] = [1728, 36864, 73728, 147456, 294912, 589824, 589824, 589824].map {
        SmartRatio.Layer(count: $0, isLinear: false)
    } + [SmartRatio.Layer(count: 5120, isLinear: true)]

    /// Ratios and floors of `pruner/SmartRatio.py` on `vgg` (computed by running its loop in float64).
    static let reference: [Double: (ratios: [Double], kept: [Int])] = [
        0.9: ([1, 1, 1, 0.264348508835, 0.109051877848, 0.050486980485, 0.022255485275, 0.008519677957],
              [1728, 36864, 73728, 38979, 32160, 29778, 13126, 5025, 1536]),
        0.5: ([1, 1, 1, 1, 1, 0.876826812684, 0.111868845139, 0.04282479228],
              [1728, 36864, 73728, 147456, 294912, 517173, 65982, 25259, 1536]),
        0.98: ([1, 0.346216670368, 0.110087019026, 0.046442961152, 0.021231067955, 0.009829198127, 0.004332871011, 0.001658677184],
               [1728, 12762, 8116, 6848, 6261, 5797, 2555, 978, 1536]),
    ]

    @Test(arguments: [0.9, 0.5, 0.98])
    func smartRatiosMatchTheReferenceAndTheBudgetIsExact(_ sparsity: Double) throws {
        let budget = try SmartRatio.budget(Self.vgg, sparsity: sparsity)
        let (ratios, kept) = Self.reference[sparsity]!
        let total = Self.vgg.reduce(0) { $0 + $1.count }
        for (i, r) in ratios.enumerated() {
            #expect(abs(budget.ratios[i] - r) < 1e-9, "layer \(i + 1): ratio \(budget.ratios[i]) vs reference \(r)")
            #expect(abs(budget.kept[i] - kept[i]) <= 1, "layer \(i + 1): \(budget.kept[i]) kept vs reference floor \(kept[i])")
        }
        #expect(budget.kept.reduce(0, +) == total - Int((sparsity * Double(total)).rounded()), "total kept is not N − round(sN)")
        #expect(budget.kept.last == Int(0.3 * 5120), "the linear layer keeps floor(0.3 N)")
        // The formula's densities (before flooring) spend the budget: Σ p_l N_l = N(1−s) up to the
        // per-layer floors of the reference (one weight per layer, plus the floored denominator).
        var spent = 0.0
        for (ratio, layer) in zip(budget.ratios, Self.vgg) {
            spent += layer.isLinear ? Double(Int(0.3 * Double(layer.count))) : ratio * Double(layer.count)
        }
        #expect(abs(spent - Double(total) * (1 - sparsity)) <= Double(Self.vgg.count) + 1, "densities spend \(spent), target \(Double(total) * (1 - sparsity))")
        // Non-increasing with depth (early layers denser).
        for i in 1..<8 { #expect(budget.ratios[i] <= budget.ratios[i - 1]) }
    }

    @Test func resnetFormulaDropsTheDepthSquaredFactor() throws {
        let budget = try SmartRatio.budget(Self.vgg, sparsity: 0.9, resnet: true)
        let reference = [0.4691169553652524, 0.3752935642922019, 0.29189499444949035, 0.21892124583711778,
                         0.15637231845508412, 0.10424821230338942, 0.06254892738203364, 0.03127446369101682]
        for (i, r) in reference.enumerated() { #expect(abs(budget.ratios[i] - r) < 1e-12) }
        // Uniform ablation: every conv layer at goal / N_conv.
        let uniform = try SmartRatio.budget(Self.vgg, sparsity: 0.9, decay: .uniform)
        #expect(Set(uniform.ratios.prefix(8).map { ($0 * 1e9).rounded() }).count == 1)
    }

    @Test func allLinearNetworksFixOnlyTheClassifierAndImpossibleBudgetsThrow() throws {
        let mlp = [784 * 300, 300 * 100, 100 * 10].map { SmartRatio.Layer(count: $0, isLinear: true) }
        let budget = try SmartRatio.budget(mlp, sparsity: 0.99)
        #expect(budget.kept[2] == 300)
        #expect(budget.kept.reduce(0, +) == 266_200 - Int((0.99 * 266_200).rounded()))
        #expect(budget.ratios[0] > budget.ratios[1])
        let heavyLinear = [SmartRatio.Layer(count: 100, isLinear: false), SmartRatio.Layer(count: 10_000, isLinear: true)]
        #expect(throws: PruningError.self) { try SmartRatio.budget(heavyLinear, sparsity: 0.9) }
    }

    static func masks(_ settings: String, seed: UInt64 = 3) throws -> MaskSet {
        try MethodInvariantTests.run(settings, seed: seed).result.masks
    }

    @Test func randomPruningCountsAreExactAndSeedDeterministic() throws {
        let layerwise = try Self.masks(#"{"name": "random", "sparsity": 0.75}"#)
        for (path, n) in [("1.weight", 1536), ("3.weight", 288), ("5.weight", 120)] {
            #expect(layerwise.keptCount(path) == n - Int((0.75 * Double(n)).rounded()), "\(path)")
        }
        let global = try Self.masks(#"{"name": "random", "sparsity": 0.75, "scope": "global"}"#)
        #expect(global.counts.kept == 1944 - 1458)
        let given = try Self.masks(#"{"name": "random", "layer_sparsities": [0.5, 0.25, 0.1]}"#)
        let givenCounts: [Int] = ["1.weight", "3.weight", "5.weight"].map { given.keptCount($0) }
        #expect(givenCounts == [768, 216, 108])
        let again = try Self.masks(#"{"name": "random", "sparsity": 0.75, "scope": "global"}"#)
        let otherSeed = try Self.masks(#"{"name": "random", "sparsity": 0.75, "scope": "global", "seed": 11}"#)
        #expect(global["1.weight"]!.floats == again["1.weight"]!.floats)
        #expect(global["1.weight"]!.floats != otherSeed["1.weight"]!.floats)
        #expect(throws: PruningError.self) { try Self.masks(#"{"name": "random", "layer_sparsities": [0.5]}"#) }
    }

    @Test func rearrangedMasksKeepEachLayersCount() throws {
        var rng = RandomGenerator(seed: 4)
        let masks = MaskSet(["a": RandomMasks.mask(shape: [7, 9], kept: 20, using: &rng), "b": RandomMasks.mask(shape: [33], kept: 0, using: &rng),
                             "c": RandomMasks.mask(shape: [5, 5], kept: 25, using: &rng)])
        let r = RandomMasks.rearranged(masks, seed: 8)
        for path in masks.paths {
            #expect(r.keptCount(path) == masks.keptCount(path))
            #expect(r[path]!.shape == masks[path]!.shape)
        }
        #expect(r["a"]!.floats != masks["a"]!.floats)
        #expect(RandomMasks.rearranged(masks, seed: 8)["a"]!.floats == r["a"]!.floats)
        // Fisher–Yates draws every position about equally often.
        var hits = [Int](repeating: 0, count: 10)
        var g = RandomGenerator(seed: 1)
        for _ in 0..<2000 { hits[RandomMasks.permutation(10, using: &g)[0]] += 1 }
        #expect(hits.allSatisfy { (140...260).contains($0) }, "\(hits)")
    }

    @Test func randomTicketUsesSmartRatioCountsPerLayer() throws {
        let masks = try Self.masks(#"{"name": "random-ticket", "sparsity": 0.8}"#)
        let expected = try SmartRatio.budget([1536, 288, 120].map { SmartRatio.Layer(count: $0, isLinear: true) }, sparsity: 0.8).kept
        let counts: [Int] = ["1.weight", "3.weight", "5.weight"].map { masks.keptCount($0) }
        #expect(counts == expected)
        #expect(expected[2] == 36)
    }

    @Test func hybridTicketKeepsTheLargestTrainedWeightsOfEachLayer() throws {
        let spec = try MethodInvariantTests.spec(#"{"name": "hybrid-ticket", "sparsity": 0.8}"#)
        let data = try PreparedData.load(spec.dataset, batchSize: 32, seed: 3, directory: TestData.directory)
        let model = try data.makeModel(spec.model, seed: 3)
        var trained: [String: [Float]] = [:]
        var retrainSteps: [Int] = []
        let result = try PipelineRunner.run(spec: spec, model: model, data: data) { event in
            if case .phaseCompleted("pretrain") = event {
                for (path, p) in model.namedParameters() { trained[path] = p.value.floats }
            }
            if case let .step("retrain", _, metrics) = event { retrainSteps.append(metrics.step) }
        }
        let expected = try SmartRatio.budget([1536, 288, 120].map { SmartRatio.Layer(count: $0, isLinear: true) }, sparsity: 0.8).kept
        for (i, path) in ["1.weight", "3.weight", "5.weight"].enumerated() {
            let m = result.masks[path]!.floats, w = trained[path]!.map { abs($0) }
            #expect(result.masks.keptCount(path) == expected[i])
            let keptMin = zip(m, w).filter { $0.0 != 0 }.map(\.1).min() ?? .infinity
            let prunedMax = zip(m, w).filter { $0.0 == 0 }.map(\.1).max() ?? 0
            #expect(keptMin >= prunedMax, "\(path): kept |w| down to \(keptMin) while pruning \(prunedMax)")
        }
        #expect(retrainSteps == Array(0..<8), "retraining replays the whole schedule")
    }
}
