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
}
