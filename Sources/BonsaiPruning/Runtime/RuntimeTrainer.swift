import Foundation

/// How long and how fast the agents and the gated network train (METHODS.md §13.3 schedule,
/// scaled down for CPU by the method's settings).
public struct RuntimeTrainingPlan: Sendable {
    public var rounds = 1
    public var agentEpochs = 2
    public var baseEpochs = 1
    /// Adam lr of the base network and gates (spec: 1e-3, gradient-norm clip 40).
    public var baseLearningRate = 1e-3
    /// Adam lr of the agents: not given by the release (its optimizers are never constructed);
    /// a guess, flagged as such in the method's documentation.
    public var agentLearningRate = 3e-4
    /// Base and gates are updated on every `baseEvery`-th batch of an agent epoch (spec: 2).
    public var baseEvery = 2
    /// Static-agent episodes (one per batch) per PPO update.
    public var staticEpisodesPerUpdate = 8
    public var minibatch = 64
    /// Cap on batches per epoch (nil: the whole loader).
    public var maxBatches: Int?
    public init() {}
}

/// What the gated network achieves with the agents acting on their means.
public struct RuntimeEvaluation: Codable, Sendable, Equatable {
    public var accuracy: Double
    /// Mean, min and max over inputs of the realised MAC fraction of the gated convs.
    public var macFraction: Double
    public var macFractionMin: Double
    public var macFractionMax: Double
    public var macCap: Double
    /// Realised storage fraction of the gated convs' weights (the static masks) and its cap.
    public var parameterFraction: Double
    public var parameterCap: Double
    /// Mean kept channels per gated layer (combined masks) and static kept channels per layer.
    public var meanKept: [Double]
    public var staticKept: [Int]
}

/// The training loop: agent epochs (PPO on both agents; base and gates updated every 2nd batch)
/// alternating with base epochs (agents fixed at their means), then evaluation.
public final class RuntimeTrainer {
    public let network: GatedNetwork
    public let policy: RuntimePolicy
    public let plan: RuntimeTrainingPlan
    let dynamicOptimizer: ClippedAdam
    let staticOptimizer: ClippedAdam
    let baseOptimizer: ClippedAdam
    let baseParameters: [Parameter]
    public private(set) var runningCE = RunningMean()
    var rng: RandomGenerator
    var pendingStatic: [PPOEpisodes] = []
    /// Mean realised MAC fraction of each agent epoch's batches (for progress reports).
    public private(set) var epochMACs: [Double] = []
    /// Diagnostics of each agent epoch (``RuntimeEpochStatistics``).
    public private(set) var statistics: [RuntimeEpochStatistics] = []
    /// PPO update calls of each agent so far.
    public private(set) var dynamicUpdates = 0, staticUpdates = 0
    /// Training batches the agents' means are probed on after each agent epoch.
    public var probeBatches: [LabeledBatch] = []

    public init(network: GatedNetwork, policy: RuntimePolicy, plan: RuntimeTrainingPlan, seed: UInt64) {
        self.network = network; self.policy = policy; self.plan = plan
        dynamicOptimizer = ClippedAdam(parameters: policy.dynamicAgent.namedParameters().map(\.parameter),
                                       learningRate: plan.agentLearningRate, maxNorm: 0.5)
        staticOptimizer = ClippedAdam(parameters: policy.staticAgent.namedParameters().map(\.parameter),
                                      learningRate: plan.agentLearningRate, maxNorm: 0.5)
        baseParameters = (network.baseParameters + network.gateParameters).map(\.parameter).filter(\.trainable)
        baseOptimizer = ClippedAdam(parameters: baseParameters, learningRate: plan.baseLearningRate, maxNorm: 40)
        rng = RandomGenerator(seed: seed ^ 0x99)
    }

    var macCap: Double { network.budget.macCap(budget: policy.budget) }
    /// The static agent's storage cap: the channel fraction its split keeps, `1 − (1 − b)(1 − dp)`.
    var parameterCap: Double { network.budget.parameterCap(budget: GateSelection.staticRatio(policy.budget, dp: policy.dp)) }

    /// Per-input cross-entropy and correctness of `logits` for `labels`.
    static func perSample(_ logits: Tensor, _ labels: [Int]) -> (ce: [Double], correct: [Bool]) {
        let lsm = Engine.withoutGrad { logits.detached().logSoftmax() }.floats
        let c = logits.shape[1]
        return labels.enumerated().reduce(into: ([Double](), [Bool]())) { acc, item in
            let row = Array(lsm[item.offset * c ..< (item.offset + 1) * c])
            acc.0.append(-Double(row[item.element]))
            acc.1.append(row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) } == item.element)
        }
    }

    /// One epoch over `loader` (epoch index `epoch` of its order). `agents`: collect episodes and
    /// run PPO (base and gates every `baseEvery`-th batch); otherwise agents act on their means
    /// and base and gates are updated on every batch.
    public func epoch(_ loader: DataLoader, epoch: Int, agents: Bool, round: Int = 0) throws {
        var macs: [Double] = []
        var accumulator = EpochAccumulator(layers: network.layers.count)
        for index in 0..<Swift.min(loader.batchesPerEpoch, plan.maxBatches ?? Int.max) {
            let batch = try loader.batch(epoch: epoch, index: index)
            guard case let .dense(x) = batch.input else { continue }
            let updateBase = !agents || index % plan.baseEvery == plan.baseEvery - 1
            policy.sample = agents
            policy.begin(inputs: batch.count)
            let context = ForwardContext(training: true)
            let result: (logits: Tensor, kept: [[Int]])
            if updateBase {
                result = network.forward(x, context: context, controller: policy.controller)
                let loss = crossEntropy(logits: result.logits, labels: batch.labels)
                baseOptimizer.step(gradients(of: loss, withRespectTo: baseParameters.map(\.value)))
            } else {
                result = Engine.withoutGrad { network.forward(x, context: context, controller: policy.controller) }
            }
            let (logits, kept) = result
            let fractions = kept.map { network.budget.macFraction(kept: $0) }
            macs += fractions
            guard agents else { continue }
            let ce = Self.perSample(logits, batch.labels).ce
            runningCE.update(ce.reduce(0, +) / Double(ce.count))
            let performance = ce.map { runningCE.performance($0) }
            // The reward's budgets from round(C·r) of the agents' ratios (§13.3), not the ceil counts kept.
            let charged = policy.rewardCounts()
            let rewardFractions = charged.dynamic.map { network.budget.macFraction(kept: $0) }
            let rewards = zip(performance, rewardFractions).map { $0 + RuntimeBudget.macTerm($1, cap: macCap) }
            let storage = network.budget.parameterFraction(kept: charged.static)
            let storageTerm = RuntimeBudget.parameterTerm(storage, cap: parameterCap)
            accumulator.add(policy: policy, fractions: rewardFractions, performance: performance, macCap: macCap,
                            storage: storage, storageTerm: storageTerm)
            PPOUpdate.update(agent: policy.dynamicAgent, optimizer: dynamicOptimizer,
                             episodes: policy.dynamicEpisodes(rewards: rewards), minibatch: plan.minibatch, rng: &rng)
            dynamicUpdates += 1
            let staticReward = performance.reduce(0, +) / Double(performance.count) + storageTerm
            pendingStatic.append(policy.staticEpisode(reward: staticReward))
            if pendingStatic.count >= plan.staticEpisodesPerUpdate {
                PPOUpdate.update(agent: policy.staticAgent, optimizer: staticOptimizer, episodes: .merge(pendingStatic),
                                 minibatch: plan.minibatch, rng: &rng)
                pendingStatic = []
                staticUpdates += 1
            }
        }
        guard agents else { return }
        epochMACs.append(macs.reduce(0, +) / Double(Swift.max(macs.count, 1)))
        statistics.append(accumulator.finish(epoch: statistics.count, round: round, macCap: macCap, storageCap: parameterCap,
                                             probe: probe(probeBatches), dynamicUpdates: dynamicUpdates, staticUpdates: staticUpdates))
    }

    /// The full schedule: `rounds × (agentEpochs agent epochs, baseEpochs base epochs)`.
    public func run(_ loader: DataLoader, log: (String) -> Void = { _ in }) throws {
        var e = 0
        if probeBatches.isEmpty {
            probeBatches = try (0..<Swift.min(4, loader.batchesPerEpoch)).map { try loader.batch(epoch: 0, index: $0) }
        }
        for round in 0..<plan.rounds {
            for _ in 0..<plan.agentEpochs {
                try epoch(loader, epoch: e, agents: true, round: round); e += 1
                log("runtime " + (statistics.last?.line ?? ""))
            }
            for _ in 0..<plan.baseEpochs { try epoch(loader, epoch: e, agents: false); e += 1 }
        }
    }

    /// Accuracy and realised budgets on `batches` with the agents acting on their means.
    public func evaluate(_ batches: [LabeledBatch]) -> RuntimeEvaluation {
        policy.sample = false
        var correct = 0, total = 0
        var fractions: [Double] = []
        var keptSum = [Double](repeating: 0, count: network.layers.count)
        Engine.withoutGrad {
            for batch in batches {
                guard case let .dense(x) = batch.input else { continue }
                policy.begin(inputs: batch.count)
                let (logits, kept) = network.forward(x, context: .evaluation, controller: policy.controller)
                correct += Self.perSample(logits, batch.labels).correct.filter { $0 }.count
                total += batch.count
                for k in kept {
                    fractions.append(network.budget.macFraction(kept: k))
                    for l in k.indices { keptSum[l] += Double(k[l]) }
                }
            }
        }
        let staticKept = policy.staticMasks.map { $0.filter { $0 }.count }
        return RuntimeEvaluation(accuracy: Double(correct) / Double(Swift.max(total, 1)),
                                 macFraction: fractions.reduce(0, +) / Double(Swift.max(fractions.count, 1)),
                                 macFractionMin: fractions.min() ?? 0, macFractionMax: fractions.max() ?? 0, macCap: macCap,
                                 parameterFraction: network.budget.parameterFraction(kept: staticKept), parameterCap: parameterCap,
                                 meanKept: keptSum.map { $0 / Double(Swift.max(total, 1)) }, staticKept: staticKept)
    }
}
