import Foundation
import Testing
import BonsaiTensor

/// The seeded generator (xoshiro256** seeded by SplitMix64) and the `torch.nn.init` formulas.
@Suite struct CoreRandomTests {
    @Test func matchesTheReferenceAlgorithm() {
        // Values from an independent Python implementation of SplitMix64 seeding + xoshiro256**.
        var rng = RandomGenerator(seed: 42)
        #expect((0..<5).map { _ in rng.next() } == [1546998764402558742, 6990951692964543102, 12544586762248559009,
                                                      17057574109182124193, 18295552978065317476])
        var zero = RandomGenerator(seed: 0)
        #expect((0..<3).map { _ in zero.next() } == [11091344671253066420, 13793997310169335082, 1900383378846508768])
    }

    @Test func sameSeedSameStreamAndForksAreDeterministic() {
        var a = RandomGenerator(seed: 7), b = RandomGenerator(seed: 7), c = RandomGenerator(seed: 8)
        let sa = (0..<1000).map { _ in a.next() }
        #expect(sa == (0..<1000).map { _ in b.next() })
        #expect(sa != (0..<1000).map { _ in c.next() })
        var p1 = RandomGenerator(seed: 9), p2 = RandomGenerator(seed: 9)
        var f1 = p1.fork(), f2 = p2.fork()
        let forked = (0..<100).map { _ in f1.next() }
        #expect(forked == (0..<100).map { _ in f2.next() })
        #expect(forked != (0..<100).map { _ in p1.next() }, "a fork is a different stream")
        #expect(p1 == p2.advanced(by: 100))
        #expect(Tensor.normal([10], using: &a).floats == Tensor.normal([10], using: &b).floats)
    }

    @Test func codableRoundTripResumesTheStream() throws {
        var rng = RandomGenerator(seed: 123)
        for _ in 0..<37 { _ = rng.next() }
        let data = try JSONEncoder().encode(rng)
        var restored = try JSONDecoder().decode(RandomGenerator.self, from: data)
        #expect(restored == rng)
        #expect((0..<100).map { _ in restored.next() } == (0..<100).map { _ in rng.next() })
        var fromState = try RandomGenerator(state: rng.state)
        #expect(fromState.next() == rng.next())
    }

    @Test func invalidStatesThrow() {
        #expect(throws: TensorError.self) { try RandomGenerator(state: [0, 0, 0, 0]) }
        #expect(throws: TensorError.self) { try RandomGenerator(state: [1, 2, 3]) }
        for json in [#"{"state":[0,0,0,0]}"#, #"{"state":[1,2,3]}"#, #"{"state":[1,2,3,4,5]}"#, #"{}"#] {
            #expect(throws: (any Error).self, "\(json)") { try JSONDecoder().decode(RandomGenerator.self, from: Data(json.utf8)) }
        }
    }

    @Test func distributions() {
        var rng = RandomGenerator(seed: 1)
        let n = 100_000
        let units = (0..<n).map { _ in rng.nextUnit() }
        #expect(units.allSatisfy { $0 >= 0 && $0 < 1 })
        #expect(Swift.abs(units.reduce(0, +) / Double(n) - 0.5) < 0.005)
        let normals = (0..<n).map { _ in rng.nextNormal() }
        let mean = normals.reduce(0, +) / Double(n)
        let std = (normals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)).squareRoot()
        #expect(Swift.abs(mean) < 0.015 && Swift.abs(std - 1) < 0.015, "normal: mean \(mean), std \(std)")
        let u = Tensor.uniform([n], low: -2, high: 3, dtype: .float64, using: &rng).doubles
        #expect(u.allSatisfy { $0 >= -2 && $0 < 3 } && Swift.abs(u.reduce(0, +) / Double(n) - 0.5) < 0.03)
        let g = Tensor.normal([n], mean: 5, std: 0.5, using: &rng)
        #expect(g.dtype == .float32 && Swift.abs(g.mean().item - 5) < 0.01)
        let bits = Tensor.bernoulli([n], probability: 0.3, using: &rng).doubles
        #expect(bits.allSatisfy { $0 == 0 || $0 == 1 } && Swift.abs(bits.reduce(0, +) / Double(n) - 0.3) < 0.01)
    }

    /// Empirical standard deviation and largest magnitude of a tensor.
    static func stats(_ t: Tensor) -> (std: Double, maxAbs: Double, mean: Double) {
        let v = t.doubles
        let mean = v.reduce(0, +) / Double(v.count)
        let std = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)).squareRoot()
        return (std, v.map(Swift.abs).max() ?? 0, mean)
    }

    @Test func fansAndGainsAsPyTorchDefinesThem() {
        #expect(Initializer.fans([10, 20]) == (20, 10))
        #expect(Initializer.fans([64, 16, 3, 3]) == (144, 576))
        #expect(Initializer.fans([8, 1, 5, 5]) == (25, 200), "depthwise conv: in/groups = 1")
        #expect(Initializer.gain() == 1 && Initializer.gain(relu: true) == 2.0.squareRoot())
        #expect(Swift.abs(Initializer.gain(leakySlope: 5.0.squareRoot()) - (1.0 / 3).squareRoot()) < 1e-15)
        #expect(Swift.abs(Initializer.gain(leakySlope: 0.01) - (2 / 1.0001).squareRoot()) < 1e-15)
    }

    @Test(arguments: [[300, 200], [64, 16, 3, 3]])
    func initializerBoundsAndStandardDeviations(_ shape: [Int]) {
        var rng = RandomGenerator(seed: 77)
        let (fanIn, fanOut) = Initializer.fans(shape)
        let tolerance = 0.03   // relative, for ≥ 9 000 samples

        // kaiming_uniform_(a=√5) — the nn.Linear / nn.Conv2d default: U(±1/√fan_in).
        let bound = 1 / Double(fanIn).squareRoot()
        let ku = Self.stats(Initializer.kaimingUniform(shape, using: &rng))
        #expect(ku.maxAbs <= bound && ku.maxAbs > 0.99 * bound, "kaimingUniform bound \(ku.maxAbs) vs \(bound)")
        #expect(Swift.abs(ku.std / (bound / 3.0.squareRoot()) - 1) < tolerance, "kaimingUniform std \(ku.std)")
        // kaiming_uniform_(a=0) ('relu' gain): U(±√(6/fan_in)).
        let reluBound = (6 / Double(fanIn)).squareRoot()
        let kr = Self.stats(Initializer.kaimingUniform(shape, a: 0, using: &rng))
        #expect(kr.maxAbs <= reluBound && kr.maxAbs > 0.99 * reluBound)

        // kaiming_normal_(mode fan_in / fan_out, relu): N(0, 2/fan).
        let kn = Self.stats(Initializer.kaimingNormal(shape, using: &rng))
        #expect(Swift.abs(kn.std / (2 / Double(fanIn)).squareRoot() - 1) < tolerance, "kaimingNormal std \(kn.std)")
        let ko = Self.stats(Initializer.kaimingNormal(shape, fanOut: true, using: &rng))
        #expect(Swift.abs(ko.std / (2 / Double(fanOut)).squareRoot() - 1) < tolerance, "kaimingNormal fan_out std \(ko.std)")

        // xavier_uniform_: U(±gain·√(6/(fan_in+fan_out))); xavier_normal_: N(0, gain²·2/(fan_in+fan_out)).
        let xb = 1.5 * (6 / Double(fanIn + fanOut)).squareRoot()
        let xu = Self.stats(Initializer.xavierUniform(shape, gain: 1.5, using: &rng))
        #expect(xu.maxAbs <= xb && xu.maxAbs > 0.99 * xb, "xavierUniform bound \(xu.maxAbs) vs \(xb)")
        #expect(Swift.abs(xu.std / (xb / 3.0.squareRoot()) - 1) < tolerance)
        let xn = Self.stats(Initializer.xavierNormal(shape, gain: 2, dtype: .float64, using: &rng))
        #expect(Swift.abs(xn.std / (2 * (2 / Double(fanIn + fanOut)).squareRoot()) - 1) < tolerance, "xavierNormal std \(xn.std)")
        #expect(Swift.abs(xn.mean) < 5 * xn.std / Double(shape.elementCount).squareRoot(), "xavierNormal mean \(xn.mean)")

        // The default bias: U(±1/√fan_in).
        let bias = Initializer.biasUniform(count: 5000, weightShape: shape, using: &rng)
        #expect(bias.shape == [5000] && Self.stats(bias).maxAbs <= bound && Self.stats(bias).maxAbs > 0.99 * bound)
        #expect(Initializer.kaimingUniform(shape, dtype: .float64, using: &rng).dtype == .float64)
    }
}

extension RandomGenerator {
    /// The generator after `n` draws.
    func advanced(by n: Int) -> RandomGenerator {
        var copy = self
        for _ in 0..<n { _ = copy.next() }
        return copy
    }
}
