import Testing
import BonsaiNN

/// The optimizer golden files (`optim_*`): three steps from `param_before` with gradients
/// `grad_0..2`, compared with PyTorch's parameters after each step.
@Suite struct OptimizerFixtureTests {
    static let cases: [(String, OptimizerConfig)] = [
        ("optim_sgd", OptimizerConfig(name: "sgd", lr: 0.1)),
        ("optim_sgd_momentum_wd", OptimizerConfig(name: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 0.0005)),
        ("optim_sgd_nesterov", OptimizerConfig(name: "sgd", lr: 0.1, momentum: 0.9, nesterov: true)),
        ("optim_adam", OptimizerConfig(name: "adam", lr: 0.01, betas: [0.9, 0.999], eps: 1e-8)),
        ("optim_adamw", OptimizerConfig(name: "adamw", lr: 0.01, weightDecay: 0.01, betas: [0.9, 0.999], eps: 1e-8)),
    ]

    @Test(arguments: 0..<5)
    func optimizerMatchesPyTorch(_ index: Int) throws {
        let (name, config) = Self.cases[index]
        let f = try TestFixture(name)
        let parameter = Parameter(try f("param_before"), role: .linearWeight)
        let optimizer = try config.make(parameters: [("w", parameter)])
        for step in 0..<3 {
            optimizer.zeroGrad()
            // d(Σ w ⊙ g)/dw = g: a graph whose gradient is exactly the fixture's gradient.
            (parameter.value * (try f("grad_\(step)"))).sum().backward()
            optimizer.step()
            expectClose(parameter.value, try f("param_after_\(step)"), "\(name) step \(step)", tolerance: 1e-5)
        }
        #expect(optimizer.stepCount == 3)
    }
}
