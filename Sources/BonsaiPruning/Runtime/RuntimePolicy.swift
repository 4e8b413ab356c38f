import Foundation

/// The two agents acting on a ``GatedNetwork`` (METHODS.md §13.3): one forward pass of a batch is
/// one episode per input for the dynamic agent and one episode for the static agent (its keep
/// ratios are input-independent, so one draw serves the whole batch and the static mask is the
/// same for every input). Actions are keep-ratios, clipped to [0.1, 1], turned into masks by
/// ``GateSelection`` with the `dp` split. The rollout (states, actions, log-probabilities,
/// values, kept counts) is recorded for PPO.
public final class RuntimePolicy {
    public let network: GatedNetwork
    public let dynamicAgent: GaussianAgent
    public let staticAgent: GaussianAgent
    public let budget: Double
    public let dp: Double
    /// Sample from the Gaussians (training) or act with their means (inference).
    public var sample = true
    /// Static decisions fixed after training (ratios and masks per layer): once the statically
    /// pruned channels are removed from storage, the static agent no longer runs.
    public var frozenStatic: (ratios: [Double], masks: [[Bool]])?
    /// Constants added to the agents' mean keep-ratios when acting on their means (never while
    /// sampling): set by ``BudgetCalibration`` so the realised budgets meet their caps.
    public var staticShift = 0.0
    public var dynamicShift = 0.0
    var rng: RandomGenerator

    // The last rollout.
    public private(set) var staticActions: [Float] = []
    public private(set) var staticLogProbabilities: [Float] = []
    public private(set) var staticValues: [Float] = []
    /// Clipped static keep-ratios per layer.
    public private(set) var staticRatios: [Double] = []
    /// The static masks of the last forward, per layer.
    public private(set) var staticMasks: [[Bool]] = []
    /// The agents' means and log σ of the last forward (static: per layer; dynamic: `[layer][input]`), for diagnostics.
    public private(set) var staticMeans: [Float] = [], staticLogSigmas: [Float] = []
    public private(set) var dynamicMeans: [[Float]] = [], dynamicLogSigmas: [[Float]] = []
    var states: [Tensor] = []
    var actions: [[Float]] = []      // [layer][input]
    var logProbabilities: [[Float]] = []
    var values: [[Float]] = []
    var hidden: Tensor = .zeros([1, 1])

    public init(network: GatedNetwork, dynamicAgent: GaussianAgent, staticAgent: GaussianAgent, budget: Double, dp: Double,
                seed: UInt64) {
        self.network = network; self.dynamicAgent = dynamicAgent; self.staticAgent = staticAgent
        self.budget = budget; self.dp = dp
        rng = RandomGenerator(seed: seed)
    }

    /// Builds both agents for `network` with hidden width `hidden`.
    public static func agents(for network: GatedNetwork, hidden: Int, seed: UInt64) -> (dynamic: GaussianAgent, static: GaussianAgent) {
        var rng = RandomGenerator(seed: seed ^ 0xA6E7)
        let sizes = network.layers.map { $0.conv.inChannels + $0.conv.outChannels }
        let dynamic = GaussianAgent(stateSizes: sizes, layers: sizes.count, hidden: hidden, rng: &rng)
        let stat = GaussianAgent(stateSizes: nil, layers: sizes.count, hidden: hidden, rng: &rng)
        return (dynamic, stat)
    }

    /// Samples `μ + σ·ε` (training) or acts on `μ + shift` (inference; the log-probability is then
    /// that of the unshifted mean's Gaussian and is not used).
    func draw(_ mean: Tensor, _ logSigma: Tensor, shift: Double) -> (actions: [Float], logProbabilities: [Float]) {
        let mu = mean.floats, ls = logSigma.floats
        var a = [Float](repeating: 0, count: mu.count)
        for i in mu.indices {
            a[i] = sample ? mu[i] + Float(Foundation.exp(Double(ls[i])) * rng.nextNormal()) : mu[i] + Float(shift)
        }
        let shape = mean.shape
        let lp = GaussianAgent.logProbability(Tensor(shape: shape, scalars: a), mean: mean, logSigma: logSigma).floats
        return (a, lp)
    }

    static func clipRatio(_ a: Float) -> Double { Swift.min(1, Swift.max(0.1, Double(a))) }

    /// Runs the static agent (its L decisions) and resets the dynamic agent for `n` inputs.
    public func begin(inputs n: Int) {
        states = []; actions = []; logProbabilities = []; values = []; dynamicMeans = []; dynamicLogSigmas = []
        hidden = dynamicAgent.initialHidden(n)
        if let frozen = frozenStatic {
            staticRatios = frozen.ratios
            staticMasks = frozen.masks
            return
        }
        Engine.withoutGrad {
            var h = staticAgent.initialHidden(1)
            staticActions = []; staticLogProbabilities = []; staticValues = []; staticMeans = []; staticLogSigmas = []
            for l in network.layers.indices {
                let out = staticAgent.step(layer: l, state: nil, budget: budget, hidden: h)
                let (a, lp) = draw(out.mean, out.logSigma, shift: staticShift)
                staticActions.append(a[0]); staticLogProbabilities.append(lp[0]); staticValues.append(out.value.floats[0])
                staticMeans.append(out.mean.floats[0]); staticLogSigmas.append(out.logSigma.floats[0])
                h = out.hidden
            }
        }
        staticRatios = staticActions.map(Self.clipRatio)
        staticMasks = network.layers.indices.map {
            GateSelection.staticMask(saliency: network.staticSaliency($0), ratio: staticRatios[$0], dp: dp)
        }
    }

    /// The controller for ``GatedNetwork/forward(_:context:controller:)`` (call ``begin(inputs:)`` first).
    public var controller: GatedNetwork.Controller {
        { [self] l, pooled, gates in
            let n = pooled.shape[0]
            let state = Tensor.concat([pooled, gates], axis: 1)
            let (a, lp, v): ([Float], [Float], [Float]) = Engine.withoutGrad {
                let out = dynamicAgent.step(layer: l, state: state, budget: budget, hidden: hidden)
                hidden = out.hidden
                let (a, lp) = draw(out.mean, out.logSigma, shift: dynamicShift)
                dynamicMeans.append(out.mean.floats); dynamicLogSigmas.append(out.logSigma.floats)
                return (a, lp, out.value.floats)
            }
            states.append(state); actions.append(a); logProbabilities.append(lp); values.append(v)
            let g = gates.floats, c = gates.shape[1]
            let dynamic = (0..<n).map { i in
                GateSelection.dynamicMask(gates: Array(g[i * c ..< (i + 1) * c]), staticMask: staticMasks[l],
                                          static: staticRatios[l], dynamic: Self.clipRatio(a[i]), dp: dp)
            }
            return (staticMasks[l], dynamic)
        }
    }

    /// The channel counts the **reward** sees for the last forward (METHODS.md §13.3):
    /// `round(C_l · r_l)` of the agents' clipped keep-ratios, with `r_l` the combined keep-ratio of
    /// the `dp` split for the dynamic agent's MAC term (per input) and the static ratio
    /// `1 − (1 − r_st)(1 − dp)` for the static agent's storage term. The network itself keeps
    /// `ceil(C·r)` channels (``GateSelection``); the reference rewards the rounded count, so a
    /// sampled ratio is not charged the extra half channel that `ceil` adds on average.
    public func rewardCounts() -> (dynamic: [[Int]], static: [Int]) {
        let widths = network.layers.map { $0.conv.outChannels }
        let inputs = actions.first?.count ?? 0
        let dynamic = (0..<inputs).map { i in
            widths.indices.map { l in
                RuntimeBudget.roundedCount(GateSelection.combinedRatio(static: staticRatios[l], dynamic: Self.clipRatio(actions[l][i]), dp: dp),
                                           channels: widths[l])
            }
        }
        let stat = widths.indices.map { RuntimeBudget.roundedCount(GateSelection.staticRatio(staticRatios[$0], dp: dp), channels: widths[$0]) }
        return (dynamic, stat)
    }

    /// The dynamic agent's episodes of the last forward with their terminal rewards.
    public func dynamicEpisodes(rewards: [Double]) -> PPOEpisodes {
        let n = rewards.count, steps = actions.count
        func transpose(_ x: [[Float]]) -> [[Float]] { (0..<n).map { i in (0..<steps).map { x[$0][i] } } }
        return PPOEpisodes(states: states, actions: transpose(actions), logProbabilities: transpose(logProbabilities),
                           values: transpose(values), rewards: rewards, budget: budget)
    }

    /// The static agent's episode of the last forward.
    public func staticEpisode(reward: Double) -> PPOEpisodes {
        PPOEpisodes(states: nil, actions: [staticActions], logProbabilities: [staticLogProbabilities], values: [staticValues],
                    rewards: [reward], budget: budget)
    }
}

extension PPOEpisodes {
    /// Concatenates episodes of the same agent (same budget, no states: the static agent).
    public static func merge(_ parts: [PPOEpisodes]) -> PPOEpisodes {
        PPOEpisodes(states: nil, actions: parts.flatMap(\.actions), logProbabilities: parts.flatMap(\.logProbabilities),
                    values: parts.flatMap(\.values), rewards: parts.flatMap(\.rewards), budget: parts.first?.budget ?? 0)
    }
}
