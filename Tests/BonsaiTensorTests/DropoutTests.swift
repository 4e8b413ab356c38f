import Testing
import BonsaiTensor

@Suite struct DropoutTests {
    @Test func sameSeedSameMask() {
        let x = randomTensor([7, 13], seed: 71, dtype: .float32)
        var a = RandomGenerator(seed: 5), b = RandomGenerator(seed: 5), c = RandomGenerator(seed: 6)
        let ya = dropout(x, probability: 0.4, training: true, rng: &a)
        let yb = dropout(x, probability: 0.4, training: true, rng: &b)
        let yc = dropout(x, probability: 0.4, training: true, rng: &c)
        #expect(ya.doubles == yb.doubles)
        #expect(a == b, "both generators advanced identically")
        #expect(ya.doubles != yc.doubles, "another seed gives another mask")
        // Survivors are scaled by 1/(1 − p), the rest are exactly zero.
        let xs = x.doubles, ys = ya.doubles
        for i in 0..<xs.count where ys[i] != 0 {
            #expect(abs(ys[i] - xs[i] / 0.6) <= 1e-6 * abs(xs[i] / 0.6))
        }
    }

    @Test func meanPreservedInExpectation() {
        let n = 200_000, p = 0.3
        var rng = RandomGenerator(seed: 9)
        let y = dropout(Tensor.ones([n]), probability: p, training: true, rng: &rng)
        let values = y.doubles
        let mean = values.reduce(0, +) / Double(n)
        let dropped = Double(values.filter { $0 == 0 }.count) / Double(n)
        // Standard error of the mean is √(p/(1−p)/n) ≈ 0.0015; allow 5σ.
        #expect(abs(mean - 1) < 0.0075, "mean \(mean)")
        #expect(abs(dropped - p) < 0.005, "dropped fraction \(dropped)")
    }

    @Test func identityWhenEvalOrZero() {
        let x = randomTensor([4, 5], seed: 72).requiringGrad()
        var rng = RandomGenerator(seed: 1)
        let before = rng
        let eval = dropout(x, probability: 0.5, training: false, rng: &rng)
        let zero = dropout(x, probability: 0, training: true, rng: &rng)
        #expect(eval.doubles == x.doubles && zero.doubles == x.doubles)
        #expect(eval.sharesStorage(with: x) && zero.sharesStorage(with: x))
        #expect(rng == before, "no random numbers drawn when dropout is inactive")
    }

    @Test func probabilityOneZeroesEverything() {
        let x = randomTensor([3, 3], seed: 73).requiringGrad()
        var rng = RandomGenerator(seed: 2)
        let y = dropout(x, probability: 1, training: true, rng: &rng)
        #expect(y.doubles.allSatisfy { $0 == 0 })
        let g = gradients(of: y.sum(), withRespectTo: [x])[0]
        #expect(g.doubles.allSatisfy { $0 == 0 })
    }

    @Test func gradientIsScaledMask() {
        let x = randomTensor([5, 6], seed: 74)
        // A fresh generator per call makes the mask a fixed function, so finite differences apply.
        expectGradientsMatch([x], "dropout") { xs in
            var rng = RandomGenerator(seed: 3)
            return dropout(xs[0], probability: 0.35, training: true, rng: &rng)
        }
        var rng = RandomGenerator(seed: 3)
        let xg = x.requiringGrad()
        let y = dropout(xg, probability: 0.35, training: true, rng: &rng)
        let g = gradients(of: y.sum(), withRespectTo: [xg])[0].doubles
        let ys = y.doubles
        for i in 0..<ys.count { #expect(abs(g[i] - (ys[i] == 0 ? 0 : 1 / 0.65)) < 1e-12) }
    }
}
