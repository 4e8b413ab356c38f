import Foundation
import Testing
@testable import BonsaiPruning

/// The generalization–stability measure (METHODS.md §15.2, §15.6 (1)), the linear filter-count
/// schedule (§15.3), filter groups and the small / large / random targets of `stability-pruning`.
@Suite struct StabilityTests {
    @Test func instabilityFormulaIsExact() throws {
        let e = PruningEvent(name: "e", phase: "train", step: 3, sparsity: 0.5, accuracyBefore: 0.8, accuracyAfter: 0.6)
        #expect(abs(e.instability - 0.25) < 1e-15)
        #expect(abs(e.stability - 75) < 1e-12)
        #expect(PruningEvent.instability(before: 0.5, after: 0.55) < 0, "an accuracy gain is negative instability")
        #expect(PruningEvent.instability(before: 0, after: 0.3) == 0, "acc_pre = 0 is defined as 0")
        #expect(PruningEvent.instability(before: 0.9, after: 0.9) == 0)
        for (before, after) in [(0.93, 0.41), (0.5, 0.125), (1.0, 0.0)] {
            #expect(PruningEvent.instability(before: before, after: after) == (before - after) / before)
        }
        // Encoded with the derived instability, decoded back to the same event.
        let json = try JSONEncoder().encode(e)
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(abs((object["instability"] as? Double ?? -1) - e.instability) < 1e-12)
        #expect(try JSONDecoder().decode(PruningEvent.self, from: json) == e)
    }

    @Test func meanInstabilityOfAReport() throws {
        let (model, result, _) = try MethodInvariantTests.run(MethodInvariantTests.cases["stability-pruning"]!.settings)
        let spec = try MethodInvariantTests.spec(MethodInvariantTests.cases["stability-pruning"]!.settings)
        let report = try PruningReport.make(model: model, result: result, spec: spec)
        #expect(!result.events.isEmpty)
        let mean = result.events.map { ($0.accuracyBefore - $0.accuracyAfter) / $0.accuracyBefore }.reduce(0, +) / Double(result.events.count)
        #expect(abs(report.meanInstability - mean) < 1e-12)
    }

    @Test func linearFilterSchedule() {
        #expect((0...5).map { FilterSchedule.kept(filters: 50, fraction: 0.9, event: $0, of: 5) } == [50, 41, 32, 23, 14, 5])
        #expect((0...3).map { FilterSchedule.kept(filters: 20, fraction: 0.3, event: $0, of: 3) } == [20, 18, 16, 14])
        // ⌈5 + 5·2/3⌉ = 9, ⌈5 + 5/3⌉ = 7.
        #expect((0...3).map { FilterSchedule.kept(filters: 10, fraction: 0.5, event: $0, of: 3) } == [10, 9, 7, 5])
        #expect(FilterSchedule.finalKept(filters: 50, fraction: 0.9) == 5)
        #expect(FilterSchedule.finalKept(filters: 7, fraction: 0.3) == 5)   // ⌈4.9⌉
        #expect(FilterSchedule.finalKept(filters: 8, fraction: 1) == 0 && FilterSchedule.finalKept(filters: 8, fraction: 0) == 8)
        #expect(FilterSchedule.kept(filters: 3, fraction: 0.9, event: 1, of: 10) == 3)
    }

    @Test func filterGroupsCarryBiasAndBatchNorm() throws {
        let vgg = try FlopsTests.model("vgg11", input: .image(channels: 3, height: 16, width: 16), options: .init(width: 0.125))
        let groups = try FilterGroup.all(in: vgg, method: "t")
        #expect(groups.first == FilterGroup(weightPath: "0.weight", filters: 8, companions: ["1.weight", "1.bias"]))
        #expect(groups.last == FilterGroup(weightPath: "30.weight", filters: 10, companions: ["30.bias"]))
        let conv4 = try FlopsTests.model("conv4", input: .image(channels: 3, height: 8, width: 8))
        #expect(try FilterGroup.all(in: conv4, method: "t").first?.companions == ["features.0.bias"])
        let resnet = try FlopsTests.model("resnet20", input: .image(channels: 3, height: 8, width: 8), options: .init(width: 4))
        let r = try FilterGroup.all(in: resnet, method: "t")
        #expect(r.contains(FilterGroup(weightPath: "layer2.0.shortcut.0.weight", filters: 8,
                                       companions: ["layer2.0.shortcut.1.weight", "layer2.0.shortcut.1.bias"])))
        let bert = try FlopsTests.model("tinybert", input: .tokens(vocabulary: 20, maxLength: 4), options: .init(dim: 8, heads: 2, layers: 1))
        #expect(throws: PruningError.self) { try FilterGroup.all(in: bert, method: "t") }
    }

    @Test func prunedFilterOutputIsExactlyZeroThroughBatchNorm() throws {
        let vgg = try FlopsTests.model("vgg11", input: .image(channels: 3, height: 16, width: 16), options: .init(width: 0.125)) as! Sequential
        let bn = vgg.layers[1] as! BatchNorm
        bn.runningMean.tensor = Tensor(shape: [8], scalars: [Float](repeating: 0.7, count: 8))
        bn.bias.assign(Tensor(shape: [8], scalars: [Float](repeating: 0.3, count: 8)))
        let group = try FilterGroup.all(in: vgg, method: "t")[0]
        var keep = [Bool](repeating: true, count: 8)
        keep[2] = false; keep[5] = false
        try group.masks(keeping: keep, in: vgg).apply(to: vgg)
        #expect(group.alive(in: vgg) == keep)
        var rng = RandomGenerator(seed: 2)
        let x = Tensor.normal([2, 3, 16, 16], using: &rng)
        let h = Engine.withoutGrad { bn.forward(vgg.layers[0].forward(x, context: .evaluation), context: .evaluation) }
        let v = h.floats
        for n in 0..<2 { for c in [2, 5] { for p in 0..<256 { #expect(v[(n * 8 + c) * 256 + p] == 0) } } }
        #expect(v[(0 * 8 + 1) * 256 + 7] != 0)
    }

    /// A one-layer model whose filter norms are 1, 2, …, 6 (filter f scaled by f + 1).
    static func graded() throws -> (Sequential, FilterGroup) {
        var rng = RandomGenerator(seed: 1)
        let model = MLP.make(inputs: 4, hidden: [6], classes: 3, rng: &rng)
        let w = (0..<6).flatMap { f in [Float](repeating: Float(f + 1) / 2, count: 4) }   // ‖row f‖₂ = f + 1
        model.parameter(at: "1.weight")!.assign(Tensor(shape: [6, 4], scalars: w))
        return (model, try FilterGroup.all(in: model, method: "t")[0])
    }

    @Test(arguments: StabilityPruning.Target.allCases)
    func targetsRemoveTheRightFilters(_ target: StabilityPruning.Target) throws {
        let (model, group) = try Self.graded()
        var settings = StabilityPruning.Settings()
        settings.target = target
        let method = StabilityPruning(settings: settings)
        #expect(group.norms(in: model, l1: false).map { ($0 * 1e9).rounded() / 1e9 } == [1, 2, 3, 4, 5, 6])
        // 6 filters, fraction 0.5, 3 events: 6 → 5 → 4 → 3.
        var history: [[Bool]] = []
        for j in 1...3 {
            let flags = method.keep(group, fraction: 0.5, event: j, of: 3, model: model, seed: 11, layerIndex: 0)
            try group.masks(keeping: flags, in: model).apply(to: model)
            history.append(flags)
        }
        #expect(history.map { $0.filter { $0 }.count } == [5, 4, 3])
        for (a, b) in zip(history, history.dropFirst()) { #expect(zip(a, b).allSatisfy { $0 || !$1 }, "a dead filter came back") }
        switch target {
        case .large: #expect(history.last == [true, true, true, false, false, false])
        case .small: #expect(history.last == [false, false, false, true, true, true])
        case .random:
            let again = method.keep(group, fraction: 0.5, event: 1, of: 3, model: try Self.graded().0, seed: 11, layerIndex: 0)
            #expect(again == history[0], "same seed, same choice")
        }
    }

    @Test func settingsValidation() throws {
        #expect(throws: PruningError.self) { try StabilityPruning.decode(settings: Data(#"{"fractions": [0.5, 0.2], "layers": ["a"]}"#.utf8)) }
        #expect(throws: PruningError.self) { try StabilityPruning.decode(settings: Data(#"{"score": "l3"}"#.utf8)) }
        #expect(throws: PruningError.self) { try StabilityPruning.decode(settings: Data(#"{"target": "medium"}"#.utf8)) }
        let m = try StabilityPruning.decode(settings: Data(#"{"target": "small", "score": "l1"}"#.utf8))
        #expect(m.settings.target == .small)
        #expect(m.eventSteps(totalSteps: 100) == [10, 17, 24, 31, 38, 45, 52, 59, 66, 73])
    }

    @Test func spearmanWithTies() {
        #expect(RankCorrelation.ranks([10, 20, 20, 5]) == [2, 3.5, 3.5, 1])
        #expect(RankCorrelation.spearman([1, 2, 3, 4], [10, 30, 20, 40]).map { abs($0 - 0.8) < 1e-12 } == true)
        #expect(RankCorrelation.spearman([1, 2, 3], [3, 2, 1]) == -1)
        #expect(RankCorrelation.spearman([1, 1, 1], [1, 2, 3]) == nil)
        // Ties: ranks x = [1, 2.5, 2.5, 4], y = [1, 2, 3, 4] → ρ = 4.5 / √(4.5 · 5) = 0.9487
        #expect(RankCorrelation.spearman([1, 2, 2, 3], [1, 2, 3, 4]).map { abs($0 - 4.5 / (4.5 * 5).squareRoot()) < 1e-12 } == true)
    }
}
