import Testing
import BonsaiNN

/// The split, in-place SGD update on a parameter large enough to be split over two threads, odd
/// size, with and without a mask: a plain scalar-loop reference of PyTorch's rule step by step, the
/// same bits on one and two threads, and copy-on-write protecting a tensor that still shares the
/// parameter's old data (as a live forward graph does).
@Suite struct SGDParallelTests {
    static let count = 100_003

    /// PyTorch's SGD in plain loops (Float64), with the mask rule: masked entries and their
    /// momentum are set to 0.
    static func reference(start: [Double], grads: [[Double]], mask: [Double]?, lr: Double, momentum: Double,
                          dampening: Double, nesterov: Bool, weightDecay: Double) -> [Double] {
        var w = start, b = [Double](repeating: 0, count: start.count)
        for (step, g) in grads.enumerated() {
            for i in 0..<w.count {
                if let mask, mask[i] == 0 { w[i] = 0; b[i] = 0; continue }
                var d = g[i] + weightDecay * w[i]
                b[i] = step == 0 ? d : momentum * b[i] + (1 - dampening) * d
                d = nesterov ? d + momentum * b[i] : b[i]
                w[i] -= lr * d
            }
        }
        return w
    }

    static func run(threads: Int, masked: Bool, nesterov: Bool, dtype: DType) throws -> (final: Tensor, start: Tensor, grads: [Tensor], mask: Tensor?) {
        var rng = RandomGenerator(seed: 9)
        let start = Tensor.normal([Self.count], dtype: dtype, using: &rng)
        let parameter = Parameter(start, role: .linearWeight)
        let mask = masked ? Tensor(shape: [Self.count], scalars: (0..<Self.count).map { Double($0 % 7 == 3 ? 0 : 1) }).cast(to: dtype) : nil
        parameter.mask = mask
        let optimizer = try SGD(groups: [ParameterGroup(parameters: [("w", parameter)], learningRate: 0.05, weightDecay: 0.01)],
                                momentum: 0.9, dampening: nesterov ? 0 : 0.1, nesterov: nesterov)
        var grads: [Tensor] = []
        for _ in 0..<3 {
            let g = Tensor.normal([Self.count], dtype: dtype, using: &rng)
            grads.append(g)
            optimizer.zeroGrad()
            let shared = parameter.value.detached()          // shares the parameter's storage
            let before = shared.doubles
            (parameter.value * g).sum().backward()          // gradient g
            Engine.withThreads(threads) { optimizer.step() }
            #expect(shared.doubles == before, "the update wrote into storage another tensor still shares")
        }
        return (parameter.value, start, grads, mask)
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func matchesReferenceOnAnyThreadCount(_ setting: (Bool, Bool)) throws {
        let (masked, nesterov) = setting
        for dtype in [DType.float32, .float64] {
            let one = try Self.run(threads: 1, masked: masked, nesterov: nesterov, dtype: dtype)
            let two = try Self.run(threads: 2, masked: masked, nesterov: nesterov, dtype: dtype)
            #expect(one.final.doubles == two.final.doubles, "masked \(masked) nesterov \(nesterov) \(dtype): thread count changed the result")
            let expected = Self.reference(start: two.start.doubles, grads: two.grads.map(\.doubles), mask: two.mask?.doubles,
                                          lr: 0.05, momentum: 0.9, dampening: nesterov ? 0 : 0.1, nesterov: nesterov,
                                          weightDecay: 0.01)
            let actual = two.final.doubles
            var worst = 0.0
            for i in 0..<actual.count { worst = Swift.max(worst, Swift.abs(actual[i] - expected[i])) }
            #expect(worst <= (dtype == .float32 ? 1e-5 : 1e-12), "masked \(masked) nesterov \(nesterov) \(dtype): error \(worst)")
            if let mask = two.mask?.doubles {
                for i in 0..<actual.count where mask[i] == 0 { #expect(actual[i] == 0) }
            }
        }
    }
}
