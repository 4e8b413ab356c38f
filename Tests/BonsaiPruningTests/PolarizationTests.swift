import Foundation
import Testing
import BonsaiPruning

/// METHODS.md §11.7 / §18 item 11: the polarization regulariser's minimiser, the exact valley
/// threshold rule, and the gradient hooks of polarization and network slimming.
@Suite struct PolarizationTests {
    /// `R(γ) = t·Σ|γ| − Σ|γ − γ̄|` computed directly.
    static func direct(_ gammas: [Double], t: Double) -> Double {
        let mean = gammas.reduce(0, +) / Double(gammas.count)
        return gammas.reduce(0) { $0 + t * Swift.abs($1) - Swift.abs($1 - mean) }
    }

    @Test func regularizerValueAndGradientMatchTheFormula() throws {
        let a: [Double] = [0.3, 0.9, 0.1], b: [Double] = [0.7, 0.2]
        let ta = Tensor(shape: [3], scalars: a).cast(to: .float64).requiringGrad()
        let tb = Tensor(shape: [2], scalars: b).cast(to: .float64).requiringGrad()
        let r = Polarization.regularizer([ta, tb], t: 1.2, lambda: 0.5)
        #expect(Swift.abs(r.item - 0.5 * Self.direct(a + b, t: 1.2)) < 1e-12)
        // Gradient with γ̄ inside the graph: t·sign(γ_i) − sign(γ_i − γ̄) + mean_j sign(γ_j − γ̄).
        let all = a + b, mean = all.reduce(0, +) / 5
        let signs = all.map { ($0 - mean).sign == .minus ? -1.0 : 1.0 }
        let correction = signs.reduce(0, +) / 5
        let expected = zip(all, signs).map { 0.5 * (1.2 * ($0.0 > 0 ? 1 : 0) - $0.1 + correction) }
        let grads = gradients(of: r, withRespectTo: [ta, tb])
        let got = grads[0].doubles + grads[1].doubles
        for (g, e) in zip(got, expected) { #expect(Swift.abs(g - e) < 1e-12, "gradient \(g) vs \(e)") }
        // The finite-difference check agrees (no point sits on a kink).
        let report = GradientCheck.check([ta.detached(), tb.detached()], step: 1e-6) { xs in Polarization.regularizer(xs, t: 1.2, lambda: 0.5) }
        #expect(report.maxError <= 1e-6, "polarization regulariser: \(report)")
    }

    /// Theorem 3.2, exactly: over the vertices of `[0, 1]ⁿ` (where a concave function attains its
    /// minimum), `R_s` evaluated by ``Polarization/regularizer`` is smallest with `⌊nρ⌋` or
    /// `⌊nρ⌋ + 1` factors at 1, `ρ = 1/2 − t/4` (0 for t > 2, 1 for t < −2).
    @Test(arguments: [-3.0, -1, 0, 1, 1.5, 3])
    func regularizerMinimiserHasFractionRho(_ t: Double) {
        let n = 1000
        var best = (value: Double.infinity, k: -1)
        for k in 0...n {
            let gammas = Tensor(shape: [n], scalars: (0..<n).map { $0 < k ? 1.0 : 0.0 })
            let value = Polarization.regularizer([gammas], t: t, lambda: 1).item
            if value < best.value - 1e-6 { best = (value, k) }
        }
        let rho = t > 2 ? 0 : t < -2 ? 1 : 0.5 - t / 4
        let floor = Int((Double(n) * rho).rounded(.down))
        #expect(best.k == floor || best.k == floor + 1, "t = \(t): minimum at \(best.k) of \(n), expected ⌊nρ⌋ = \(floor)")
    }

    /// Projected subgradient descent on `R_s` alone (γ̄ in the graph, clamp to [0, 1]) from
    /// 0.5 + noise. Factors above the mean move at `−(t − 2 + 2ρ_a)` and those below at
    /// `−(t + 2ρ_a)` (ρ_a = fraction above the mean), so nobody crosses the mean and the split is
    /// frozen at the start until factors reach a bound: t = 0 polarises into exactly the fraction
    /// that started above the mean (≈ ½, which happens to be ρ(0)); with t = 1 or 1.5 the same
    /// descent ends near ½ or near 0 at 1 rather than ρ = 0.25 or 0.125 (seen in a NumPy replay).
    /// METHODS.md §11.7's "fraction near 1 approaches ρ" is a property of the minimiser (test
    /// above), not of this descent. L1 alone sends everything to 0.
    @Test func descentPolarisesButKeepsItsInitialSplit() {
        var rng = RandomGenerator(seed: 3)
        let start = Tensor.uniform([400], low: 0.45, high: 0.55, dtype: .float64, using: &rng)
        func descend(_ loss: (Tensor) -> Tensor) -> [Double] {
            var g = start
            for _ in 0..<300 {
                let x = g.requiringGrad()
                let grad = gradients(of: loss(x), withRespectTo: [x])[0]
                g = Engine.withoutGrad { (x.detached() - grad.scaled(by: 0.01)).clamped(min: 0, max: 1) }
            }
            return g.doubles
        }
        let polarised = descend { Polarization.regularizer([$0], t: 0, lambda: 1) }
        #expect(polarised.allSatisfy { $0 == 0 || $0 == 1 })
        let ones = Double(polarised.filter { $0 == 1 }.count) / 400
        let aboveMean = Double(start.doubles.filter { $0 > start.doubles.reduce(0, +) / 400 }.count) / 400
        #expect(ones == aboveMean, "fraction at 1: \(ones), above the mean at the start: \(aboveMean)")
        let l1 = descend { $0.abs().sum() }
        #expect(l1.allSatisfy { $0 == 0 })
    }

    @Test func valleyThresholdIsTheFirstLocalMinimum() {
        var h = [Int](repeating: 0, count: 100)
        h[0] = 50; h[1] = 20; h[60] = 30
        #expect(Polarization.valleyThreshold(histogram: h) == 0.02)     // i = 1: 0 − 20 ≤ 0 ≤ 0 − 0
        h = [Int](repeating: 0, count: 100); h[0] = 5; h[1] = 9; h[2] = 3; h[3] = 3; h[90] = 8
        #expect(Polarization.valleyThreshold(histogram: h) == 0.02)     // i = 0 rises; i = 1: 3 − 9 ≤ 0 ≤ 3 − 3
        #expect(Polarization.valleyThreshold(histogram: [1, 2, 3, 4]) == nil)
        #expect(Polarization.valleyThreshold(histogram: [3, 2, 1]) == nil)
        // Values → 100 bins on [0, 1]; 1.0 falls in the last bin, values outside are not counted.
        let counts = Polarization.histogram([0, 0.005, 0.01, 0.999, 1, 1.2, -0.1])
        #expect(counts[0] == 2 && counts[1] == 1 && counts[99] == 2 && counts.reduce(0, +) == 5)
        let values = [Double](repeating: 0.001, count: 40) + [Double](repeating: 0.004, count: 5) + [Double](repeating: 0.8, count: 30)
        #expect(Polarization.valleyThreshold(values) == 0.01)
    }

    @Test func slimmingHookAddsTheL1Subgradient() throws {
        let p = Parameter(Tensor(shape: [4], scalars: [0.5, -0.2, 0, 2] as [Float]), role: .normWeight)
        (p.value * Tensor(shape: [4], scalars: [1, 2, 3, 4] as [Float])).sum().backward()
        try NetworkSlimming.l1Hook(scales: [p], penalty: 0.1).afterBackward?(TrainingPosition())
        let g = p.grad!.floats
        let expected: [Float] = [1 + 0.1, 2 - 0.1, 3, 4 + 0.1]
        for (a, b) in zip(g, expected) { #expect(Swift.abs(a - b) < 1e-6) }
    }

    @Test func polarizationHooksClampAfterTheStep() throws {
        let p = Parameter(Tensor(shape: [3], scalars: [1.4, -0.3, 0.6] as [Float]), role: .normWeight)
        let hooks = PolarizationPruning.hooks(scales: [p], lambda: 1e-3, t: 1.2, clamp: 1)
        try hooks.afterStep?(TrainingPosition())
        #expect(p.value.floats == [1, 0, 0.6])
        #expect(hooks.regularizer != nil)
    }
}
