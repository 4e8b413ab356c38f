import Testing
import BonsaiPruning

/// HYDRA's exact properties (METHODS.md §7.7) and the adversarial attack's constraints.
@Suite struct HydraTests {
    /// After the scaled initialisation, TopK(|s|, k) is the layer-wise magnitude mask, bit for bit.
    @Test func scaledInitEqualsLeastWeightMagnitude() {
        var rng = RandomGenerator(seed: 6)
        for shape in [[10, 7], [4, 3, 3, 3]] {
            let w = Tensor.normal(shape, using: &rng)
            let mask = Hydra.topMask(Hydra.scaledScores(w), keep: 0.1)
            let n = w.count, pruned = Int(0.9 * Double(n))
            let lwm = TopK.select(ScoreSet([("w", w.doubles.map { abs($0) })]), sparsity: Double(pruned) / Double(n), scope: .layerwise)["w"]!
            #expect(mask.floats == lwm.floats, "shape \(shape)")
            #expect(Int(mask.floats.reduce(0, +)) == n - pruned)
        }
    }

    /// ∂L/∂s = (∂L/∂(w⊙m)) ⊙ w ⊙ sign(s) for all entries, masked ones included.
    @Test func straightThroughGradientFormula() {
        var rng = RandomGenerator(seed: 7)
        let w = Tensor.normal([5, 6], dtype: .float64, using: &rng)
        let s = Tensor.normal([5, 6], dtype: .float64, using: &rng).requiringGrad()
        let x = Tensor.normal([4, 6], dtype: .float64, using: &rng)
        let mask = Hydra.topMask(s, keep: 0.3).cast(to: .float64)
        let magnitude = s.abs()
        let effective = w * (mask + (magnitude - magnitude.detached()))
        let loss = linear(x, weight: effective).pow(2).sum()
        let gs = gradients(of: loss, withRespectTo: [s])[0].doubles
        // ∂L/∂w_eff from a separate graph on w ⊙ m.
        let weff = (w * mask).requiringGrad()
        let gw = gradients(of: linear(x, weight: weff).pow(2).sum(), withRespectTo: [weff])[0].doubles
        let wv = w.doubles, sv = s.doubles
        for i in gs.indices {
            let expected = gw[i] * wv[i] * (sv[i] > 0 ? 1 : -1)
            #expect(abs(gs[i] - expected) <= 1e-12 * max(1, abs(expected)), "entry \(i)")
        }
    }

    /// With k = 1 the score network is the plain network.
    @Test func keepAllIsThePlainNetwork() {
        var rng = RandomGenerator(seed: 8)
        let w = Tensor.normal([3, 4], using: &rng)
        let mask = Hydra.topMask(Hydra.scaledScores(w), keep: 0.999_999)
        #expect(mask.floats.allSatisfy { $0 == 1 })
    }

    /// PGD stays in the ε-ball and the valid pixel range, per channel of the normalisation.
    @Test func pgdRespectsTheBallAndThePixelRange() {
        var rng = RandomGenerator(seed: 9)
        let model = MLP.make(inputs: 8, hidden: [6], classes: 3, rng: &rng)
        let norm = Normalization(mean: [0.3], std: [0.2])
        let attack = AdversarialAttack(epsilon: 0.1, stepSize: 0.05, steps: 5, normalization: norm)
        let pixels = Tensor.uniform([4, 1, 2, 4], using: &rng)
        let x = (pixels - 0.3) / 0.2
        let adversarial = attack.pgd(model, x: x, labels: [0, 1, 2, 0], rng: &rng)
        let back = (adversarial * 0.2 + 0.3).doubles, original = pixels.doubles
        for i in back.indices {
            #expect(abs(back[i] - original[i]) <= 0.1 + 1e-5, "entry \(i) left the ball")
            #expect(back[i] >= -1e-5 && back[i] <= 1 + 1e-5, "entry \(i) left [0, 1]")
        }
    }
}
