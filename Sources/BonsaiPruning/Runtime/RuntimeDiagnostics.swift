import Foundation

/// What the agents did in one agent epoch of ``RuntimeTrainer``: where their means and noise sit,
/// where the sampled and the mean-acting budgets land against the caps, and the reward terms.
///
/// Written to find out why the agents settle under the MAC cap (docs/runtime-pruning.md,
/// "Why the agents undershoot"). The key number is ``performanceSlope``: how much the performance
/// term `−CE/mean(CE)` gains per unit of MAC fraction `c` near the agents' means. Under the cap the
/// dynamic agent's budget term pays `+0.1·(cap − c)`, i.e. slope −0.1; over it the penalty
/// `−1.2·(exp((c − cap)/0.03) − 1)` has slope −40 at the cap. The expected reward of a Gaussian
/// policy with a spread `s` of the sampled `c` therefore peaks where the performance slope balances
/// `0.1 + 40·P(c > cap)` (roughly): with a slope near 0.1 the optimum is far under the cap; with a
/// slope of a few units it is about two noise widths `s` under it.
public struct RuntimeEpochStatistics: Codable, Sendable, Equatable {
    /// Agent epoch index over the whole run (0-based) and its round.
    public var epoch: Int
    public var round: Int
    /// Per layer, averaged over the epoch's episodes: the agents' means `μ` (unclipped, before any
    /// shift) and `σ = exp(log σ)`.
    public var dynamicMean: [Double]
    public var dynamicSigma: [Double]
    public var staticMean: [Double]
    public var staticSigma: [Double]
    /// Sampled episodes: mean and standard deviation of the MAC fraction the reward charges
    /// (from `round(C·r)`, ``RuntimePolicy/rewardCounts()``), the share of episodes over the cap,
    /// and the mean reward terms of the dynamic agent.
    public var sampledMAC: Double
    public var sampledMACSpread: Double
    public var overCap: Double
    public var performance: Double
    public var macTerm: Double
    /// Sampled static draws: mean storage fraction charged (rounded counts) and the static agent's budget term.
    public var sampledStorage: Double
    public var storageTerm: Double
    public var macCap: Double
    public var storageCap: Double
    /// Both agents on their means over the probe batches (training data): MAC and storage fractions.
    public var meanMAC: Double
    public var meanStorage: Double
    /// `Δ performance / Δ c` between both agents' means shifted by `+δ` and `−δ` (δ = ``probeShift``)
    /// on the probe batches: the pull of the performance term towards more MACs.
    public var performanceSlope: Double
    /// PPO updates of each agent so far.
    public var dynamicUpdates: Int
    public var staticUpdates: Int

    /// The ± shift of the slope probe.
    public static let probeShift = 0.03

    /// One line for the progress log.
    public var line: String {
        func list(_ xs: [Double]) -> String { "[" + xs.map { String(format: "%.3f", $0) }.joined(separator: " ") + "]" }
        return "agent epoch \(epoch) (round \(round)): dyn μ \(list(dynamicMean)) σ \(list(dynamicSigma)); st μ \(list(staticMean)) σ \(list(staticSigma)); "
            + String(format: "sampled c %.4f ± %.4f (cap %.4f, %.0f%% over), perf %.3f, MAC term %.4f; sampled storage %.4f (cap %.4f), term %.4f; ",
                     sampledMAC, sampledMACSpread, macCap, 100 * overCap, performance, macTerm, sampledStorage, storageCap, storageTerm)
            + String(format: "on means c %.4f (%+.1f%%) storage %.4f; dperf/dc %.3f; updates %d/%d",
                     meanMAC, 100 * (meanMAC / macCap - 1), meanStorage, performanceSlope, dynamicUpdates, staticUpdates)
    }
}

/// Sums over one agent epoch's batches for ``RuntimeEpochStatistics``.
struct EpochAccumulator {
    var dynamicMean: [Double], dynamicSigma: [Double], staticMean: [Double], staticSigma: [Double]
    var episodes = 0, batches = 0, over = 0
    var mac = 0.0, macSquares = 0.0, performance = 0.0, macTerm = 0.0, storage = 0.0, storageTerm = 0.0

    init(layers: Int) {
        dynamicMean = [Double](repeating: 0, count: layers)
        dynamicSigma = dynamicMean; staticMean = dynamicMean; staticSigma = dynamicMean
    }

    /// Adds one batch: the policy's last rollout and its per-episode MAC fractions, rewards' terms.
    mutating func add(policy: RuntimePolicy, fractions: [Double], performance perf: [Double], macCap: Double,
                      storage p: Double, storageTerm pt: Double) {
        for l in dynamicMean.indices {
            for (m, s) in zip(policy.dynamicMeans[l], policy.dynamicLogSigmas[l]) {
                dynamicMean[l] += Double(m); dynamicSigma[l] += Foundation.exp(Double(s))
            }
            staticMean[l] += Double(policy.staticMeans[l]); staticSigma[l] += Foundation.exp(Double(policy.staticLogSigmas[l]))
        }
        for (c, q) in zip(fractions, perf) {
            mac += c; macSquares += c * c; performance += q
            macTerm += RuntimeBudget.macTerm(c, cap: macCap)
            if c > macCap { over += 1 }
        }
        episodes += fractions.count
        batches += 1
        storage += p; storageTerm += pt
    }

    func finish(epoch: Int, round: Int, macCap: Double, storageCap: Double, probe: RuntimeTrainer.Probe,
                dynamicUpdates: Int, staticUpdates: Int) -> RuntimeEpochStatistics {
        let n = Double(Swift.max(episodes, 1)), b = Double(Swift.max(batches, 1))
        let meanC = mac / n
        return RuntimeEpochStatistics(
            epoch: epoch, round: round,
            dynamicMean: dynamicMean.map { $0 / n }, dynamicSigma: dynamicSigma.map { $0 / n },
            staticMean: staticMean.map { $0 / b }, staticSigma: staticSigma.map { $0 / b },
            sampledMAC: meanC, sampledMACSpread: Swift.max(0, macSquares / n - meanC * meanC).squareRoot(),
            overCap: Double(over) / n, performance: performance / n, macTerm: macTerm / n,
            sampledStorage: storage / b, storageTerm: storageTerm / b, macCap: macCap, storageCap: storageCap,
            meanMAC: probe.mac, meanStorage: probe.storage, performanceSlope: probe.slope,
            dynamicUpdates: dynamicUpdates, staticUpdates: staticUpdates)
    }
}

extension RuntimeTrainer {
    /// Both agents on their means (plus a common shift `s`) over `batches`.
    public struct Probe: Sendable {
        public var mac: Double, storage: Double, slope: Double
    }

    /// Mean MAC fraction, storage fraction and performance term `−CE/mean(CE)` with both agents
    /// acting on `μ + shift` (sampling and the shifts are restored afterwards).
    func probe(_ batches: [LabeledBatch], shift: Double) -> (mac: Double, storage: Double, performance: Double) {
        let saved = (policy.sample, policy.staticShift, policy.dynamicShift)
        defer { (policy.sample, policy.staticShift, policy.dynamicShift) = saved }
        policy.sample = false
        policy.staticShift = shift; policy.dynamicShift = shift
        var mac = 0.0, performance = 0.0, count = 0
        Engine.withoutGrad {
            for batch in batches {
                guard case let .dense(x) = batch.input else { continue }
                policy.begin(inputs: batch.count)
                let (logits, kept) = network.forward(x, context: .evaluation, controller: policy.controller)
                for (k, ce) in zip(kept, Self.perSample(logits, batch.labels).ce) {
                    mac += network.budget.macFraction(kept: k); performance += runningCE.performance(ce); count += 1
                }
            }
        }
        let storage = network.budget.parameterFraction(kept: policy.staticMasks.map { $0.filter { $0 }.count })
        let n = Double(Swift.max(count, 1))
        return (mac / n, storage, performance / n)
    }

    /// The agents on their means, and the performance slope from shifts `±δ`.
    func probe(_ batches: [LabeledBatch]) -> Probe {
        let δ = RuntimeEpochStatistics.probeShift
        let centre = probe(batches, shift: 0), up = probe(batches, shift: δ), down = probe(batches, shift: -δ)
        let dc = up.mac - down.mac
        return Probe(mac: centre.mac, storage: centre.storage, slope: dc > 0 ? (up.performance - down.performance) / dc : 0)
    }
}
