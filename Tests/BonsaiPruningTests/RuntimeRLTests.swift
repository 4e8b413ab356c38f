import Foundation
import Testing
import BonsaiPruning

/// METHODS.md §13.7: budget arithmetic (exact), mask mechanics (counts, static vs dynamic, the
/// `dp` split), PPO's GAE, and runtime inference that skips channels equal to the masked forward.
@Suite struct RuntimeRLTests {
    /// CifarNet of §13.2: widths 64, 64, 128 (s2), 128, 128, 192 (s2), 192, 192; 3×3 kernels; the
    /// first conv unpadded, so the output sides are 30, 30, 15, 15, 15, 8, 8, 8.
    static let cifarNet = RuntimeBudget(layers: zip(zip([3, 64, 64, 128, 128, 128, 192, 192], [64, 64, 128, 128, 128, 192, 192, 192]),
                                                    [900, 900, 225, 225, 225, 64, 64, 64]).map {
        GatedLayerShape(inChannels: $0.0, outChannels: $0.1, kernelArea: 9, outputPositions: $1)
    })

    @Test func budgetArithmeticOfCifarNet() {
        // By hand: Σ HW·C_{l−1}·C_l = 900·192 + 900·4096 + 225·8192 + 2·225·16384 + 64·24576 + 2·64·36864
        // = 19,366,656; at b = 0.5 the first layer's input is not scaled: 0.5·172,800 + 0.25·19,193,856 = 4,884,864.
        let b = Self.cifarNet
        #expect(b.totalMACs == 9 * 19_366_656)
        #expect(abs(b.macCap(budget: 0.5) - 4_884_864.0 / 19_366_656.0) < 1e-15)
        // Parameters: Σ C_{l−1}·C_l = 143,552; cap = (0.5·192 + 0.25·143,360) / 143,552 = 35,936 / 143,552.
        #expect(b.totalParameters == 9 * 143_552)
        #expect(abs(b.parameterCap(budget: 0.5) - 35_936.0 / 143_552.0) < 1e-15)
        // Kept counts equal to b·C reproduce the cap exactly.
        #expect(abs(b.macFraction(kept: [32, 32, 64, 64, 64, 96, 96, 96]) - b.macCap(budget: 0.5)) < 1e-15)
        #expect(b.macFraction(kept: [64, 64, 128, 128, 128, 192, 192, 192]) == 1)
    }

    @Test func rewardAtCapPlusMinusFivePoints() {
        let cap = Self.cifarNet.macCap(budget: 0.5)
        let over = -1.2 * (exp(0.05 / 0.03) - 1)   // −5.15338…
        #expect(abs(RuntimeBudget.macTerm(cap + 0.05, cap: cap) - over) < 1e-12)
        #expect(abs(over - -5.153388) < 1e-6)
        #expect(abs(RuntimeBudget.macTerm(cap - 0.05, cap: cap) - 0.005) < 1e-12)
        let pcap = Self.cifarNet.parameterCap(budget: 0.5)
        #expect(abs(RuntimeBudget.parameterTerm(pcap + 0.05, cap: pcap) - over) < 1e-12)
        #expect(RuntimeBudget.parameterTerm(pcap - 0.05, cap: pcap) == 0)
        #expect(RuntimeBudget.macTerm(cap, cap: cap) == 0)
    }

    /// METHODS.md §13.3: the reward's `c` counts `round(C_l·r_l)` channels of the agents' ratios,
    /// while the network keeps `ceil(C_l·r_l)`; the reward must not charge the ceil's extra channel.
    @Test func rewardChargesRoundedCounts() throws {
        #expect(RuntimeBudget.roundedCount(0.5, channels: 64) == 32)
        #expect(RuntimeBudget.roundedCount(0.505, channels: 64) == 32)   // 32.32: ceil would keep 33
        #expect(RuntimeBudget.roundedCount(0.51, channels: 64) == 33)    // 32.64
        #expect(RuntimeBudget.roundedCount(0.5, channels: 5) == 2)       // 2.5: ties to even, as torch.round
        #expect(RuntimeBudget.roundedCount(0.5, channels: 3) == 2)       // 1.5
        #expect(RuntimeBudget.roundedCount(0.01, channels: 10) == 1 && RuntimeBudget.roundedCount(1.2, channels: 10) == 10)
        let (_, model) = Self.models()[1]
        let network = try GatedNetwork(model: model, inputShape: [2, 8, 8], seed: 3)
        let policy = Self.policy(network, dp: 0.5)
        var rng = RandomGenerator(seed: 11)
        let x = Tensor.normal([8, 2, 8, 8], using: &rng)
        policy.sample = true
        policy.begin(inputs: 8)
        let (_, kept) = Engine.withoutGrad { network.forward(x, context: .evaluation, controller: policy.controller) }
        let charged = policy.rewardCounts()
        let actions = policy.dynamicEpisodes(rewards: [Double](repeating: 0, count: 8)).actions
        var differs = false
        for (l, layer) in network.layers.enumerated() {
            let c = layer.conv.outChannels
            #expect(charged.static[l] == RuntimeBudget.roundedCount(GateSelection.staticRatio(policy.staticRatios[l], dp: 0.5), channels: c))
            for i in 0..<8 {
                let r = GateSelection.combinedRatio(static: policy.staticRatios[l], dynamic: min(1, max(0.1, Double(actions[i][l]))), dp: 0.5)
                #expect(charged.dynamic[i][l] == RuntimeBudget.roundedCount(r, channels: c), "layer \(l) input \(i)")
                // The network keeps ceil(C·r): the same count or one more.
                #expect(kept[i][l] - charged.dynamic[i][l] == 0 || kept[i][l] - charged.dynamic[i][l] == 1, "layer \(l) input \(i)")
                if kept[i][l] != charged.dynamic[i][l] { differs = true }
            }
        }
        #expect(differs, "sampled ratios should sometimes round down where ceil rounds up")
    }

    @Test func runningMeanAveragesThenDecays() {
        var m = RunningMean()
        for i in 1...200 { m.update(Double(i)) }
        #expect(abs(m.value - 100.5) < 1e-9)
        m.update(1000)
        #expect(abs(m.value - (0.995 * 100.5 + 0.005 * 1000)) < 1e-9)
        #expect(abs(m.performance(2 * m.value) - -2) < 1e-12)
    }

    @Test func keepRatioGivesCeilChannelsAtLeastOne() {
        for c in [1, 3, 7, 10, 64, 100, 192] {
            for k in 0...20 {
                let r = Double(k) / 20   // exact expectation: ceil(k·C / 20)
                let expected = max(1, (k * c + 19) / 20)
                #expect(GateSelection.keepCount(ratio: r, channels: c) == expected, "r \(r) C \(c)")
                var rng = RandomGenerator(seed: UInt64(c * 31 + k))
                let scores = (0..<c).map { _ in Float(rng.nextUnit()) }
                let kept = GateSelection.top(scores, count: expected)
                #expect(kept.count == expected)
                let threshold = kept.map { scores[$0] }.min()!
                #expect((0..<c).filter { !kept.contains($0) }.allSatisfy { scores[$0] <= threshold })
            }
        }
        #expect(GateSelection.keepCount(ratio: 0.3, channels: 10) == 3)
        #expect(GateSelection.keepCount(ratio: 0.1, channels: 5) == 1)
        #expect(GateSelection.keepCount(ratio: 0, channels: 5) == 1)
        #expect(GateSelection.top([1, 1, 1, 1], count: 2) == [0, 1])  // ties by index
    }

    @Test func dpSplitGivesStaticAndDynamicShares() {
        var rng = RandomGenerator(seed: 9)
        let c = 100
        let saliency = (0..<c).map { _ in Float(rng.nextUnit()) }
        let gates = (0..<c).map { _ in Float(rng.nextUnit()) }
        for (dp, staticPruned, totalKept) in [(0.0, 40, 60), (0.25, 30, 55), (0.5, 20, 50), (1.0, 0, 40)] {
            // r_st = 0.6: static prunes (1 − 0.6)(1 − dp); r_dyn = 0.4: dynamic prunes (1 − 0.4)·dp more.
            let s = GateSelection.staticMask(saliency: saliency, ratio: 0.6, dp: dp)
            let d = GateSelection.dynamicMask(gates: gates, staticMask: s, static: 0.6, dynamic: 0.4, dp: dp)
            #expect(c - s.filter { $0 }.count == staticPruned, "dp \(dp): static pruned")
            #expect(d.filter { $0 }.count == totalKept, "dp \(dp): kept at run time")
            #expect(zip(d, s).allSatisfy { !$0 || $1 }, "dp \(dp): dynamic mask within the static one")
        }
        // Equal ratios keep r·C whatever dp.
        for dp in [0.0, 0.3, 0.5, 0.8, 1.0] {
            let s = GateSelection.staticMask(saliency: saliency, ratio: 0.5, dp: dp)
            #expect(GateSelection.dynamicMask(gates: gates, staticMask: s, static: 0.5, dynamic: 0.5, dp: dp).filter { $0 }.count == 50)
        }
    }

    @Test func generalizedAdvantageEstimation() {
        let (a, r) = PPOUpdate.advantages(reward: 1, values: [0.5, 0.25])
        let delta1 = 1 - 0.25, delta0 = 0.999 * 0.25 - 0.5
        #expect(abs(a[1] - delta1) < 1e-7)
        #expect(abs(a[0] - (delta0 + 0.999 * 0.95 * delta1)) < 1e-7)
        #expect(abs(r[0] - (a[0] + 0.5)) < 1e-7 && abs(r[1] - (a[1] + 0.25)) < 1e-7)
    }

    /// A small VGG-like chain with batch norm (random running statistics) and a conv-2 net.
    static func models() -> [(String, any Model)] {
        var rng = RandomGenerator(seed: 4)
        let bnNet = Sequential([Conv2d(2, 6, kernel: 3, padding: 1, bias: false, rng: &rng), BatchNorm(6), ReLU(), MaxPool2d(2),
                                Conv2d(6, 8, kernel: 3, padding: 1, bias: false, rng: &rng), BatchNorm(8), ReLU(),
                                GlobalAvgPool(), Flatten(), Linear(8, 3, rng: &rng)])
        for (path, buffer) in bnNet.namedBuffers() where path.hasSuffix("running_mean") || path.hasSuffix("running_var") {
            let n = buffer.tensor!.count
            buffer.value = .tensor(Tensor(shape: [n], scalars: (0..<n).map { _ in Float(path.hasSuffix("var") ? 0.5 + rng.nextUnit() : rng.nextUnit() - 0.5) }))
        }
        let conv = ConvNet(depth: 2, channels: 2, classes: 3, image: 8, rng: &rng)
        return [("bn-chain", bnNet), ("conv2", conv)]
    }

    static func policy(_ network: GatedNetwork, dp: Double = 0.5) -> RuntimePolicy {
        let agents = RuntimePolicy.agents(for: network, hidden: 8, seed: 1)
        return RuntimePolicy(network: network, dynamicAgent: agents.dynamic, staticAgent: agents.static, budget: 0.5, dp: dp, seed: 2)
    }

    @Test func staticMaskSharedDynamicMaskVaries() throws {
        for (name, model) in Self.models() {
            let network = try GatedNetwork(model: model, inputShape: [2, 8, 8], seed: 3)
            let policy = Self.policy(network)
            var rng = RandomGenerator(seed: 5)
            let x = Tensor.normal([16, 2, 8, 8], using: &rng)
            for sample in [true, false] {
                policy.sample = sample
                policy.begin(inputs: 16)
                var decisions: [(staticMask: [Bool], dynamic: [[Bool]])] = []
                let inner = policy.controller
                _ = Engine.withoutGrad {
                    network.forward(x, context: .evaluation) { l, p, g in
                        let d = inner(l, p, g); decisions.append(d); return d
                    }
                }
                var varies = false
                for (l, d) in decisions.enumerated() {
                    let expected = GateSelection.keepCount(ratio: GateSelection.staticRatio(policy.staticRatios[l], dp: 0.5),
                                                           channels: d.staticMask.count)
                    #expect(d.staticMask.filter { $0 }.count == expected, "\(name) layer \(l): static count")
                    for mask in d.dynamic { #expect(zip(mask, d.staticMask).allSatisfy { !$0 || $1 }) }
                    if Set(d.dynamic.map { $0.map { $0 ? "1" : "0" }.joined() }).count > 1 { varies = true }
                }
                #expect(varies, "\(name): the dynamic masks are the same for every input")
            }
        }
    }

    @Test func runtimeInferenceSkipsChannelsAndMatchesMaskedForward() throws {
        for (name, model) in Self.models() {
            let network = try GatedNetwork(model: model, inputShape: [2, 8, 8], seed: 3)
            let policy = Self.policy(network, dp: 0.5)
            var rng = RandomGenerator(seed: 6)
            let x = Tensor.normal([5, 2, 8, 8], using: &rng)
            policy.sample = false
            policy.begin(inputs: 5)
            let (dense, kept) = Engine.withoutGrad { network.forward(x, context: .evaluation, controller: policy.controller) }
            let runtime = RuntimeInference(network: network, policy: policy)
            let classes = dense.shape[1]
            for i in 0..<5 {
                let out = runtime.run(x.sliced(axis: 0, start: i, length: 1))
                #expect(out.kept == kept[i], "\(name) input \(i): kept channels differ")
                let a = out.logits.floats, b = dense.sliced(axis: 0, start: i, length: 1).floats
                let error = zip(a, b).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? .infinity
                #expect(a.count == classes && error <= 1e-4, "\(name) input \(i): logits differ by \(error)")
                // The conv MACs executed are exactly Σ Ho·Wo·k²·k_{l−1}·k_l.
                var expected = 0, previous = 2
                for (l, shape) in network.budget.layers.enumerated() {
                    expected += shape.macsPerPair * previous * kept[i][l]; previous = kept[i][l]
                }
                let linearMACs = out.macs - expected
                #expect(linearMACs > 0 && out.macs < runtime.denseMACs, "\(name): \(out.macs) MACs of \(runtime.denseMACs)")
            }
        }
    }

    @Test func frozenStaticMasksAreUsedAsGiven() throws {
        let (_, model) = Self.models()[1]
        let network = try GatedNetwork(model: model, inputShape: [2, 8, 8], seed: 3)
        let policy = Self.policy(network)
        let masks = network.layers.map { layer in (0..<layer.conv.outChannels).map { $0 % 2 == 0 } }
        policy.frozenStatic = (ratios: [0.5, 0.5], masks: masks)
        policy.begin(inputs: 3)
        #expect(policy.staticMasks == masks)
    }
}
