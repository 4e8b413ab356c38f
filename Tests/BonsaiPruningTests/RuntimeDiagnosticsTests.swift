import Foundation
import Testing
@testable import BonsaiPruning

/// The diagnostics of the runtime RL training (``RuntimeEpochStatistics``): the per-epoch sums and
/// the probe of the agents' means must measure what they claim and leave the policy as it was.
@Suite struct RuntimeDiagnosticsTests {
    static func setup() throws -> (GatedNetwork, RuntimePolicy, RuntimeTrainer, Tensor, LabeledBatch) {
        let (_, model) = RuntimeRLTests.models()[1]
        let network = try GatedNetwork(model: model, inputShape: [2, 8, 8], seed: 3)
        let policy = RuntimeRLTests.policy(network)
        let trainer = RuntimeTrainer(network: network, policy: policy, plan: RuntimeTrainingPlan(), seed: 1)
        var rng = RandomGenerator(seed: 7)
        let x = Tensor.normal([6, 2, 8, 8], using: &rng)
        return (network, policy, trainer, x, LabeledBatch(input: .dense(x), labels: [0, 1, 2, 0, 1, 2]))
    }

    @Test func probeActsOnMeansAndRestoresThePolicy() throws {
        let (network, policy, trainer, x, batch) = try Self.setup()
        policy.sample = true
        policy.dynamicShift = 0.01
        let centre = trainer.probe([batch])
        #expect(policy.sample && policy.dynamicShift == 0.01 && policy.staticShift == 0, "probe did not restore the policy")
        policy.sample = false
        policy.dynamicShift = 0
        let reference = BudgetCalibration.meanMACFraction(policy: policy, network: network, batches: [x])
        #expect(abs(centre.mac - reference) < 1e-12, "probe MAC fraction \(centre.mac) vs calibration's \(reference)")
        let up = trainer.probe([batch], shift: 0.2), down = trainer.probe([batch], shift: -0.2)
        #expect(up.mac > centre.mac && centre.mac > down.mac, "MACs \(down.mac), \(centre.mac), \(up.mac) not increasing with the shift")
        #expect(up.storage > down.storage)
    }

    @Test func epochSumsAverageTheRollout() throws {
        let (network, policy, _, x, _) = try Self.setup()
        policy.sample = true
        policy.begin(inputs: 6)
        _ = Engine.withoutGrad { network.forward(x, context: .evaluation, controller: policy.controller) }
        var sums = EpochAccumulator(layers: network.layers.count)
        let cap = 0.25
        sums.add(policy: policy, fractions: [0.2, 0.3, 0.25, 0.26, 0.1, 0.4], performance: [-1, -2, -1, -1, -1, -0.5] as [Double],
                 macCap: cap, storage: 0.6, storageTerm: -0.1)
        let probe = RuntimeTrainer.Probe(mac: 0.24, storage: 0.55, slope: 1.5)
        let s = sums.finish(epoch: 0, round: 0, macCap: cap, storageCap: 0.56, probe: probe, dynamicUpdates: 1, staticUpdates: 0)
        for l in network.layers.indices {
            let mean = policy.dynamicMeans[l].map(Double.init).reduce(0, +) / 6
            #expect(abs(s.dynamicMean[l] - mean) < 1e-9, "layer \(l): dynamic mean")
            // At initialisation log σ ≈ −4 (bias −4, small weights).
            #expect(abs(s.dynamicSigma[l] - exp(-4)) < 0.01 && abs(s.staticSigma[l] - exp(-4)) < 0.01, "layer \(l): σ")
            #expect(abs(s.staticMean[l] - Double(policy.staticMeans[l])) < 1e-9)
        }
        let fractions: [Double] = [0.2, 0.3, 0.25, 0.26, 0.1, 0.4]
        let mean = fractions.reduce(0, +) / 6   // 0.251666…
        #expect(abs(s.sampledMAC - mean) < 1e-12)
        var variance = 0.0, term = 0.0
        for c in fractions {
            variance += (c - mean) * (c - mean) / 6
            term += RuntimeBudget.macTerm(c, cap: cap) / 6
        }
        #expect(abs(s.sampledMACSpread - variance.squareRoot()) < 1e-9)
        #expect(abs(s.overCap - 0.5) < 1e-12)   // 0.3, 0.26, 0.4
        #expect(abs(s.performance + 6.5 / 6) < 1e-12)
        #expect(abs(s.macTerm - term) < 1e-12)
        #expect(s.sampledStorage == 0.6 && s.storageTerm == -0.1 && s.meanMAC == 0.24 && s.performanceSlope == 1.5)
    }
}
