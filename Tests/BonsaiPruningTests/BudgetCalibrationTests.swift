import Foundation
import Testing
import BonsaiPruning

/// ``BudgetCalibration``: shifting the agents' means brings policies that sit far from the caps to
/// within ±5 % of them, the shift acts only on mean decisions, and runtime inference follows it.
@Suite struct BudgetCalibrationTests {
    /// A conv-2 (64, 64 channels) on 2×8×8 inputs with agents whose means start `offset` off the budget.
    static func setUp(offset: Float, dp: Double) throws -> (GatedNetwork, RuntimePolicy, [Tensor]) {
        let (_, model) = RuntimeRLTests.models()[1]
        let network = try GatedNetwork(model: model, inputShape: [2, 8, 8], seed: 3)
        let policy = RuntimeRLTests.policy(network, dp: dp)
        policy.dynamicAgent.mean.bias?.assign(.full([1], value: Double(offset)))
        policy.staticAgent.mean.bias?.assign(.full([1], value: Double(offset)))
        var rng = RandomGenerator(seed: 9)
        let batches = (0..<2).map { _ in Tensor.normal([8, 2, 8, 8], using: &rng) }
        return (network, policy, batches)
    }

    @Test(arguments: [(Float(-0.25), 0.5), (Float(0.2), 0.5), (Float(-0.25), 1.0), (Float(-0.3), 0.0)])
    func calibrationMeetsTheCaps(offset: Float, dp: Double) throws {
        let (network, policy, batches) = try Self.setUp(offset: offset, dp: dp)
        let macCap = network.budget.macCap(budget: 0.5)
        let parameterCap = network.budget.parameterCap(budget: GateSelection.staticRatio(0.5, dp: dp))
        policy.sample = false
        let before = BudgetCalibration.meanMACFraction(policy: policy, network: network, batches: batches)
        #expect(abs(before / macCap - 1) > 0.1, "offset \(offset): the uncalibrated policy should be far from the cap (\(before) vs \(macCap))")
        let result = BudgetCalibration.calibrate(policy: policy, network: network, batches: batches,
                                                 parameterCap: parameterCap, macCap: macCap)
        #expect(abs(result.parameterFraction / parameterCap - 1) <= 0.05, "dp \(dp): storage \(result.parameterFraction) vs \(parameterCap)")
        if dp > 0 {
            #expect(abs(result.macFraction / macCap - 1) <= 0.05, "dp \(dp): MACs \(result.macFraction) vs \(macCap)")
        } else {
            // With dp = 0 the dynamic agent prunes nothing: its shift cannot matter and stays 0.
            #expect(result.dynamicShift == 0)
        }
        // Re-measured with the calibrated policy: the same figure, static decisions frozen.
        let after = BudgetCalibration.meanMACFraction(policy: policy, network: network, batches: batches)
        #expect(abs(after - result.macFraction) < 1e-12)
        #expect(policy.frozenStatic != nil)
        #expect((offset < 0) == (result.dynamicShift + result.staticShift > 0) || dp == 0)
    }

    @Test func shiftMovesOnlyTheMeanDecisions() throws {
        let (network, policy, _) = try Self.setUp(offset: 0, dp: 0.5)
        policy.sample = false
        policy.begin(inputs: 1)
        let base = policy.staticRatios
        policy.staticShift = 0.125
        policy.begin(inputs: 1)
        for (a, b) in zip(policy.staticRatios, base) { #expect(abs(a - min(1, b + 0.125)) < 1e-6) }
        // Sampling ignores the shift: the same seed gives the same draws with and without it.
        func sampled(shift: Double) -> [Double] {
            let fresh = RuntimeRLTests.policy(network, dp: 0.5)
            fresh.staticShift = shift
            fresh.sample = true
            fresh.begin(inputs: 1)
            return fresh.staticRatios
        }
        #expect(sampled(shift: 0) == sampled(shift: 0.3))
    }

    @Test func runtimeInferenceFollowsTheCalibratedPolicy() throws {
        let (network, policy, batches) = try Self.setUp(offset: -0.25, dp: 0.5)
        _ = BudgetCalibration.calibrate(policy: policy, network: network, batches: batches,
                                        parameterCap: network.budget.parameterCap(budget: 0.75),
                                        macCap: network.budget.macCap(budget: 0.5))
        let x = batches[0].sliced(axis: 0, start: 0, length: 3)
        policy.sample = false
        policy.begin(inputs: 3)
        let (dense, kept) = Engine.withoutGrad { network.forward(x, context: .evaluation, controller: policy.controller) }
        let runtime = RuntimeInference(network: network, policy: policy)
        for i in 0..<3 {
            let out = runtime.run(x.sliced(axis: 0, start: i, length: 1))
            #expect(out.kept == kept[i])
            let a = out.logits.floats, b = dense.sliced(axis: 0, start: i, length: 1).floats
            let error = zip(a, b).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? .infinity
            #expect(error <= 1e-4, "input \(i): logits differ by \(error)")
        }
    }
}
