import Foundation
import Testing
import BonsaiTensor

/// Element-wise functions: values against the C library, gradients by finite differences in
/// Float64, edge points (ReLU at 0, sigmoid and tanh at large |x|, clamp bounds, masks with NaN
/// gradients) and the PyTorch fixtures.
@Suite struct CoreUnaryTests {
    /// Inputs kept away from the kinks of abs/relu/clamp so central differences are valid.
    static func awayFromZero(_ shape: [Int], seed: UInt64) -> Tensor {
        Tensor(shape: shape, scalars: randomTensor(shape, seed: seed).doubles.map { $0 + ($0 >= 0 ? 0.1 : -0.1) })
    }

    static func positive(_ shape: [Int], seed: UInt64) -> Tensor {
        Tensor(shape: shape, scalars: randomTensor(shape, seed: seed).doubles.map { Swift.abs($0) + 0.2 })
    }

    @Test func valuesMatchTheCLibrary() {
        let x = Self.awayFromZero([3, 7], seed: 1), p = Self.positive([3, 7], seed: 2)
        let xs = x.doubles, ps = p.doubles
        func same(_ t: Tensor, _ expected: [Double], _ name: String) {
            #expect(t.shape == [3, 7] && zip(t.doubles, expected).allSatisfy { Swift.abs($0 - $1) <= 1e-15 * Swift.max(1, Swift.abs($1)) }, "\(name)")
        }
        same(x.exp(), xs.map { Foundation.exp($0) }, "exp")
        same(p.log(), ps.map { Foundation.log($0) }, "log")
        same(p.sqrt(), ps.map { $0.squareRoot() }, "sqrt")
        same(x.abs(), xs.map { Swift.abs($0) }, "abs")
        same(x.relu(), xs.map { Swift.max($0, 0) }, "relu")
        same(x.gelu(), xs.map { $0 * 0.5 * (1 + Foundation.erf($0 / 2.0.squareRoot())) }, "gelu")
        same(x.tanh(), xs.map { Foundation.tanh($0) }, "tanh")
        same(x.sigmoid(), xs.map { 1 / (1 + Foundation.exp(-$0)) }, "sigmoid")
        same(x.clamped(min: -0.5, max: 0.7), xs.map { Swift.min(Swift.max($0, -0.5), 0.7) }, "clamp")
        same(p.pow(3), ps.map { Foundation.pow($0, 3) }, "pow 3")
        same(p.pow(-1.5), ps.map { Foundation.pow($0, -1.5) }, "pow -1.5")
        same(x.pow(2), xs.map { $0 * $0 }, "pow 2")
        same(x.cast(to: .float32).cast(to: .float64), xs.map { Double(Float($0)) }, "cast")
        same(x.sign(), xs.map { $0 > 0 ? 1 : -1 }, "sign")
        same(x.greater(than: 0.3), xs.map { $0 > 0.3 ? 1 : 0 }, "greater")
    }

    @Test func gradientsMatchFiniteDifferences() {
        let x = Self.awayFromZero([3, 5], seed: 3), p = Self.positive([3, 5], seed: 4)
        expectGradientsMatch([x], "exp") { $0[0].exp() }
        expectGradientsMatch([p], "log") { $0[0].log() }
        expectGradientsMatch([p], "sqrt") { $0[0].sqrt() }
        expectGradientsMatch([x], "abs") { $0[0].abs() }
        expectGradientsMatch([x], "relu") { $0[0].relu() }
        expectGradientsMatch([x], "gelu") { $0[0].gelu() }
        expectGradientsMatch([x], "tanh") { $0[0].tanh() }
        expectGradientsMatch([x], "sigmoid") { $0[0].sigmoid() }
        // Bounds away from every input (|x| ≥ 0.1 and the grid of random values misses ±0.05).
        expectGradientsMatch([x], "clamp") { $0[0].clamped(min: -0.05, max: 0.05) + $0[0].clamped(min: -0.8, max: 0.9) }
        expectGradientsMatch([x], "clamp one-sided") { $0[0].clamped(min: 0.05) + $0[0].clamped(max: -0.05) }
        for exponent in [2.0, 3.0, 0.5, -1.5, 1.0, 0.0] {
            expectGradientsMatch([p], "pow \(exponent)") { $0[0].pow(exponent) }
        }
        expectGradientsMatch([x], "pow 3 of signed") { $0[0].pow(3) }
        expectGradientsMatch([x], "softmax") { $0[0].softmax() }
        expectGradientsMatch([x], "logSoftmax") { $0[0].logSoftmax() }
        expectGradientsMatch([randomTensor([2, 3, 4], seed: 5, scale: 3)], "softmax rank 3") { $0[0].softmax() }
        expectGradientsMatch([x], "composition") { t in (t[0].tanh() * t[0].sigmoid()).exp().gelu() }
    }

    @Test func castGradientConvertsBack() {
        let x = randomTensor([4], seed: 6).requiringGrad()
        let w = Tensor(shape: [4], scalars: [1, -2, 0.5, 3] as [Float])
        let y = (x.cast(to: .float32) * w).sum()
        #expect(y.dtype == .float32)
        let g = gradients(of: y, withRespectTo: [x])[0]
        #expect(g.dtype == .float64 && g.doubles == [1, -2, 0.5, 3])
        #expect(x.cast(to: .float64).sharesStorage(with: x), "casting to the same dtype is a no-op")
    }

    @Test func kinksFollowPyTorch() {
        let x = Tensor(shape: [5], scalars: [-1, 0, 0, 2, -0.0]).requiringGrad()
        // ReLU and abs: gradient 0 at exactly 0.
        #expect(gradients(of: x.relu().sum(), withRespectTo: [x])[0].doubles == [0, 0, 0, 1, 0])
        #expect(gradients(of: x.abs().sum(), withRespectTo: [x])[0].doubles == [-1, 0, 0, 1, 0])
        // Clamp: the gradient passes where low ≤ x ≤ high, bounds included.
        let c = Tensor(shape: [5], scalars: [-1, -0.5, 0, 0.5, 1]).requiringGrad()
        #expect(gradients(of: c.clamped(min: -0.5, max: 0.5).sum(), withRespectTo: [c])[0].doubles == [0, 1, 1, 1, 0])
    }

    @Test func sigmoidAndTanhSaturateWithoutNaN() {
        for dtype in DType.allCases {
            let x = Tensor(shape: [6], scalars: [-1000, -100, -30, 30, 100, 1000]).cast(to: dtype).requiringGrad()
            let s = x.sigmoid()
            #expect(s.isFinite, "\(dtype) sigmoid is finite")
            #expect(s[0] == 0 && s[5] == 1, "\(dtype) sigmoid saturates exactly")
            let expected30 = 1 / (1 + Foundation.exp(-30.0))
            #expect(Swift.abs(s[3] - expected30) < 1e-7 && s[2] > 0 && s[2] < 1e-12, "\(dtype) sigmoid(±30)")
            let g = gradients(of: s.sum(), withRespectTo: [x])[0]
            #expect(g.isFinite && g[0] == 0 && g[5] == 0, "\(dtype) sigmoid gradient at ±1000 is 0")
            let t = x.tanh()
            #expect(t.doubles == [-1, -1, -1, 1, 1, 1])
            let gt = gradients(of: t.sum(), withRespectTo: [x])[0]
            #expect(gt.isFinite && gt.doubles.allSatisfy { $0 == 0 }, "\(dtype) tanh gradient saturates to 0")
            let e = x.gelu()
            #expect(e[0] == 0 && e[5] == 1000 && e.isFinite, "\(dtype) gelu at ±1000")
        }
        expectGradientsMatch([Tensor(shape: [4], scalars: [-25, -12, 12, 25])], "sigmoid large |x|") { $0[0].sigmoid() }
    }

    @Test func maskGivesExactlyZeroGradientEvenForNaN() {
        let w = Tensor(shape: [2, 3], scalars: [1, .infinity, -2, .nan, 5, 6]).requiringGrad()
        let mask = Tensor(shape: [2, 3], scalars: [1, 0, 1, 0, 1, 0] as [Float])
        let y = w.masked(by: mask)
        #expect(y.doubles[1] == 0 && y.doubles[3] == 0 && y.doubles[5] == 0, "masked entries are exactly 0, even ∞ and NaN")
        #expect(y[0, 0] == 1 && y[0, 2] == -2 && y[1, 1] == 5)
        let seed = Tensor.full([2, 3], value: .nan, dtype: .float64)
        let g = gradients(of: y, withRespectTo: [w], seed: seed)[0].doubles
        for i in [1, 3, 5] { #expect(g[i] == 0 && g[i].sign == .plus, "masked gradient \(i) is exactly +0, got \(g[i])") }
        for i in [0, 2, 4] { #expect(g[i].isNaN, "unmasked gradient \(i) passes NaN through") }
        // A plain product would not: 0 · NaN = NaN.
        let product = gradients(of: w * mask.cast(to: .float64), withRespectTo: [w], seed: seed)[0].doubles
        #expect(product[1].isNaN)
        expectGradientsMatch([randomTensor([2, 3], seed: 7)], "masked") { $0[0].masked(by: mask) * 2.0 }
    }

    @Test(arguments: ["relu", "gelu", "tanh", "sigmoid", "softmax", "log_softmax"])
    func matchesFixture(_ name: String) throws {
        let f = try Fixture(name)
        let x = try f("input").requiringGrad()
        let ops: [String: (Tensor) -> Tensor] = [
            "relu": { $0.relu() }, "gelu": { $0.gelu() }, "tanh": { $0.tanh() }, "sigmoid": { $0.sigmoid() },
            "softmax": { $0.softmax() }, "log_softmax": { $0.logSoftmax() },
        ]
        let op = try #require(ops[name])
        let y = op(x)
        expectClose(y, try f("output"), "\(name) output")
        let grad = gradients(of: (y * (try f("grad_output"))).sum(), withRespectTo: [x])[0]
        expectClose(grad, try f("grad_input"), "\(name) grad_input")
    }

    @Test func softmaxRowsSumToOneAndAreStable() {
        let x = Tensor(shape: [3, 4], scalars: [1000, 1000, 1000, 1000, -1000, 0, 1000, 3, 1, 2, 3, 4] as [Float])
        let s = x.softmax()
        #expect(s.isFinite)
        for r in 0..<3 { #expect(Swift.abs((0..<4).map { s[r, $0] }.reduce(0, +) - 1) < 1e-6) }
        #expect(s[0, 0] == 0.25 && s[1, 2] == 1)
        let l = x.logSoftmax()
        #expect(l.isFinite && l[1, 0] == -2000)
    }
}
