import Foundation
import Testing
import BonsaiPruning

/// edge-popup's mechanics (METHODS.md §8.6 item 2).
@Suite struct EdgePopupTests {
    @Test func weightsNeverChangeAndCountsAreExact() throws {
        let spec = try MethodInvariantTests.spec(#"{"name": "edge-popup", "keep": 0.3}"#)
        let data = try PreparedData.load(spec.dataset, batchSize: 32, seed: 3, directory: TestData.directory)
        let model = try data.makeModel(spec.model, seed: 3)
        var afterInit: [String: [Float]] = [:]
        let result = try PipelineRunner.run(spec: spec, model: model, data: data) { event in
            if case let .phaseCompleted(name) = event, name == "init" {
                for (path, p) in model.namedParameters() { afterInit[path] = p.value.floats }
            }
        }
        #expect(!afterInit.isEmpty)
        for (path, parameter) in model.namedParameters() {
            let mask = result.masks[path]?.floats
            let now = parameter.value.floats
            for i in now.indices where mask == nil || mask![i] != 0 {
                #expect(now[i] == afterInit[path]![i], "\(path)[\(i)] changed during score training")
            }
            if let mask {
                #expect(Int(mask.reduce(0, +)) == Int((0.3 * Double(mask.count)).rounded()), "\(path): wrong kept count")
            }
        }
    }

    @Test func straightThroughGradientReachesMaskedScores() {
        var rng = RandomGenerator(seed: 2)
        let w = Tensor.normal([4, 5], using: &rng)
        let scores = Tensor.normal([4, 5], using: &rng).requiringGrad()
        let x = Tensor.normal([3, 5], using: &rng)
        let effective = EdgePopup.subnetwork(w, scores: scores, keep: 0.4)
        let mask = EdgePopup.topMask(scores, keep: 0.4).floats
        #expect(zip(effective.floats, zip(w.floats, mask)).allSatisfy { $0 == $1.0 * $1.1 }, "forward must be exactly w ⊙ m")
        let g = gradients(of: linear(x, weight: effective).pow(2).sum(), withRespectTo: [scores])[0].floats
        let masked = mask.indices.filter { mask[$0] == 0 }
        #expect(masked.contains { g[$0] != 0 }, "masked-out scores must receive gradient so they can pop up")
    }

    @Test func topMaskMatchesSortingWithTies() {
        var rng = RandomGenerator(seed: 9)
        for n in [1, 2, 7, 64, 333] {
            let values = (0..<n).map { _ in Double(Int(rng.nextUnit() * 5)) }   // many ties
            for k in [0, 1, n / 3, n / 2, n - 1, n] where k >= 0 && k <= n {
                let fast = TopMask.keepLargest(values, keep: k)
                let reference = TopK.select(ScoreSet([("a", values)]), sparsity: Double(n - k) / Double(n), scope: .global)["a"]!.floats
                #expect(fast == reference, "n \(n) k \(k)")
            }
        }
    }
}
