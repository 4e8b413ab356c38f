import Testing
import BonsaiNN

/// Mask invariants of the optimizers and the learning-rate schedules.
@Suite struct OptimizerTests {
    static let configs: [OptimizerConfig] = [
        OptimizerConfig(name: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 0.01),
        OptimizerConfig(name: "sgd", lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01),
        OptimizerConfig(name: "adam", lr: 0.01, weightDecay: 0.01),
        OptimizerConfig(name: "adamw", lr: 0.01, weightDecay: 0.1),
    ]

    @Test(arguments: 0..<4)
    func maskedEntriesStayZeroWithMomentumAndDecay(_ index: Int) throws {
        var rng = RandomGenerator(seed: 3)
        let parameter = Parameter(.normal([4, 5], using: &rng), role: .linearWeight)
        let mask = Tensor(shape: [4, 5], scalars: (0..<20).map { Float($0 % 3 == 0 ? 0 : 1) })
        let optimizer = try Self.configs[index].make(parameters: [("w", parameter)])
        // Two dense steps build up momentum everywhere; then the mask is set.
        for _ in 0..<2 {
            optimizer.zeroGrad()
            (parameter.value * parameter.value).sum().backward()
            optimizer.step()
        }
        parameter.mask = mask
        parameter.applyMask()
        for _ in 0..<5 {
            optimizer.zeroGrad()
            let w = parameter.effective
            (w * w + w).sum().backward()
            let grad = parameter.grad!.floats
            for i in 0..<20 where i % 3 == 0 { #expect(grad[i] == 0, "masked entry \(i) got gradient \(grad[i])") }
            optimizer.step()
            let values = parameter.value.floats
            for i in 0..<20 where i % 3 == 0 { #expect(values[i] == 0, "masked entry \(i) revived to \(values[i])") }
        }
        for (key, slot) in optimizer.state().tensors {
            let values = slot.floats
            for i in 0..<20 where i % 3 == 0 { #expect(values[i] == 0, "\(key) entry \(i) is \(values[i])") }
        }
    }

    @Test func allOnesMaskChangesNothing() throws {
        var rng = RandomGenerator(seed: 4)
        let start = Tensor.normal([3, 3], using: &rng)
        func run(masked: Bool) throws -> [Float] {
            let parameter = Parameter(start, role: .linearWeight)
            if masked { parameter.mask = .ones([3, 3]) }
            let optimizer = try OptimizerConfig(name: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 0.01).make(parameters: [("w", parameter)])
            for _ in 0..<3 {
                optimizer.zeroGrad()
                parameter.effective.pow(3).sum().backward()
                optimizer.step()
            }
            return parameter.value.floats
        }
        #expect(try run(masked: true) == run(masked: false))
    }

    @Test func invalidSettingsAreRejectedByName() {
        #expect(throws: OptimizerError.invalidSetting(field: "lr", detail: "must be in (0, 100], got -1.0")) {
            try OptimizerConfig(name: "sgd", lr: -1).validate()
        }
        #expect(throws: OptimizerError.self) { try OptimizerConfig(name: "rmsprop", lr: 0.1).validate() }
        #expect(throws: OptimizerError.self) { try OptimizerConfig(name: "sgd", lr: 0.1, nesterov: true).validate() }
        #expect(throws: OptimizerError.self) { try OptimizerConfig(name: "adam", lr: 0.1, betas: [0.9]).validate() }
    }

    @Test func schedulesFollowTheirFormulas() throws {
        #expect(LearningRateSchedule.step(stepSize: 10, gamma: 0.1).factor(at: 25) == 0.1 * 0.1)
        #expect(LearningRateSchedule.multiStep(milestones: [5, 8], gamma: 0.5).factor(at: 7) == 0.5)
        #expect(LearningRateSchedule.multiStep(milestones: [5, 8], gamma: 0.5).factor(at: 8) == 0.25)
        let cosine = LearningRateSchedule.cosine(total: 100, minimumFactor: 0)
        #expect(cosine.factor(at: 0) == 1)
        #expect(abs(cosine.factor(at: 50) - 0.5) < 1e-12)
        #expect(abs(cosine.factor(at: 100)) < 1e-12)
        let warm = LearningRateSchedule.linearWarmupDecay(warmup: 10, total: 110)
        #expect(warm.factor(at: 5) == 0.5)
        #expect(warm.factor(at: 10) == 1)
        #expect(warm.factor(at: 60) == 0.5)
        #expect(throws: OptimizerError.self) { try LearningRateSchedule.linearWarmupDecay(warmup: 10, total: 5).validate() }
    }

    @Test func parameterGroupsUseTheirOwnRates() throws {
        let a = Parameter(.ones([2]), role: .linearWeight), b = Parameter(.ones([2]), role: .other)
        let optimizer = try SGD(groups: [ParameterGroup(parameters: [("a", a)], learningRate: 0.1),
                                         ParameterGroup(parameters: [("b", b)], learningRate: 1.0)])
        (a.value.sum() + b.value.sum()).backward()
        optimizer.learningRateFactor = 0.5
        optimizer.step()
        #expect(a.value.floats == [0.95, 0.95])
        #expect(b.value.floats == [0.5, 0.5])
    }
}
