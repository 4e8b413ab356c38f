import Testing
import BonsaiNN

/// gRDA's exact properties (METHODS.md §12.6).
@Suite struct GRDATests {
    /// One scalar, constant gradient g0 and rate γ: after n steps acc = w0 − nγg0, ℓ = cγ^{μ+½}n^μ and
    /// w_n = sign(acc)·max(|acc| − ℓ, 0).
    @Test func closedFormScalar() throws {
        let (w0, g0, lr, c, mu) = (0.3, 0.01, 0.1, 0.02, 0.6)
        let parameter = Parameter(Tensor(shape: [1], scalars: [w0]), role: .linearWeight)
        let optimizer = try GRDA(groups: [ParameterGroup(parameters: [("w", parameter)], learningRate: lr)], c: c, mu: mu)
        for n in 1...40 {
            optimizer.zeroGrad()
            (parameter.value * Tensor(shape: [1], scalars: [g0])).sum().backward()
            optimizer.step()
            let acc = w0 - Double(n) * lr * g0
            let l = c * pow(lr, mu + 0.5) * pow(Double(n), mu)
            let expected = (acc < 0 ? -1.0 : 1.0) * max(abs(acc) - l, 0)
            #expect(abs(parameter.value.item - expected) < 1e-14, "step \(n): \(parameter.value.item) vs \(expected)")
        }
    }

    /// With a rate change, each threshold increment uses the current rate: ℓ += cγ_n^{μ+½}(n^μ − (n−1)^μ).
    @Test func thresholdIncrementUsesTheCurrentRate() throws {
        let parameter = Parameter(Tensor(shape: [1], scalars: [1.0]), role: .linearWeight)
        let optimizer = try GRDA(groups: [ParameterGroup(parameters: [("w", parameter)], learningRate: 0.1)], c: 0.1, mu: 0.7)
        var l = 0.0, acc = 1.0
        for n in 1...10 {
            optimizer.learningRateFactor = n <= 5 ? 1 : 0.1
            let lr = 0.1 * optimizer.learningRateFactor
            optimizer.zeroGrad()
            parameter.value.sum().backward()     // gradient 1
            optimizer.step()
            acc -= lr
            l += 0.1 * pow(lr, 1.2) * (pow(Double(n), 0.7) - pow(Double(n - 1), 0.7))
            #expect(abs(parameter.value.item - max(acc - l, 0)) < 1e-14)
        }
    }

    /// c = 0 is plain SGD without momentum, bit for bit.
    @Test func zeroCEqualsSGD() throws {
        var rng = RandomGenerator(seed: 4)
        let start = Tensor.normal([5, 4], using: &rng)
        let gradients = (0..<6).map { _ in Tensor.normal([5, 4], using: &rng) }
        func run(_ make: (Parameter) throws -> any Optimizer) throws -> [Float] {
            let p = Parameter(start, role: .linearWeight)
            let optimizer = try make(p)
            for g in gradients {
                optimizer.zeroGrad()
                (p.value * g).sum().backward()
                optimizer.step()
            }
            return p.value.floats
        }
        let grda = try run { try GRDA(groups: [ParameterGroup(parameters: [("w", $0)], learningRate: 0.05)], c: 0, mu: 0.51) }
        let sgd = try run { try SGD(groups: [ParameterGroup(parameters: [("w", $0)], learningRate: 0.05)]) }
        #expect(grda == sgd)
    }

    @Test func configValidation() {
        #expect(throws: OptimizerError.self) { try OptimizerConfig(name: "grda", lr: 0.1, momentum: 0.9).validate() }
        #expect(throws: OptimizerError.self) { try OptimizerConfig(name: "grda", lr: 0.1, weightDecay: 0.1).validate() }
        #expect(throws: OptimizerError.self) { try OptimizerConfig(name: "sgd", lr: 0.1, c: 0.1).validate() }
        #expect(throws: OptimizerError.self) { try OptimizerConfig(name: "grda", lr: 0.1, mu: -1).validate() }
    }
}

#if canImport(Glibc)
import Glibc
#endif
