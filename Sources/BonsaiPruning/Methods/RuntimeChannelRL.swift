import Foundation

/// Storage-efficient and dynamic-flexible runtime channel pruning via deep RL (Chen, Chen, Pan,
/// NeurIPS 2020; METHODS.md §13): every conv of the job's model gets FBS-style gates; a *static*
/// agent picks an input-independent keep-ratio per layer (those channels leave storage) and a
/// *dynamic* agent picks a per-input keep-ratio at run time; both are Gaussian policies over a
/// shared RNN, trained with PPO on `−CE/mean(CE)` plus a MAC budget term (dynamic) or a
/// parameter budget term (static). `dp` splits each layer's pruning between the two.
///
/// Pipeline: `pretrain` (the spec's train config) → `runtime-rl` (`rounds × (agent_epochs agent
/// epochs, base_epochs base epochs)`, base and gates trained with Adam lr `base_lr`, clip 40;
/// agents with Adam lr `agent_lr`, clip 0.5) → `static-prune` (the static agent's mean decisions
/// become ordinary channel masks on the model, recorded like every structured method's).
///
/// Result: the model's masks are the **static** channel masks; the dynamic gates are runtime
/// state, written to `runtime.safetensors` (``RuntimeArtifact``) and run by ``RuntimeInference``.
/// The pipeline's test accuracy is that of the plain model with the static masks and all gates
/// off; the gated network's accuracy and realised MACs are in the notes (`runtime.evaluation`).
///
/// Choices recorded (see ``GatedNetwork``, ``GateSelection``, ``RuntimeBudget``): BN not folded
/// into the gates; static saliency `s_c·‖W_c‖` instead of the reference's 4-input MLP; the dp
/// split resolved with no overlap so the static mask never depends on the input; the reward's
/// `c` from `round(C·r)` of the agents' ratios as in the reference (the network keeps `ceil`); after PPO, ``BudgetCalibration`` (setting `calibrate`, on by
/// default; our addition) shifts the agents' means so the realised budgets meet the caps; RNN hidden 32 by default (reference 128) for CPU; agent
/// Adam lr 3e-4 is a guess (the release never constructs the agents' optimizers).
public struct RuntimeChannelRL: PruningMethod {
    public struct Settings: MethodSettings {
        public var budget: Double?
        public var dp: Double?
        public var hidden: Int?
        public var rounds: Int?
        public var agentEpochs: Int?
        public var baseEpochs: Int?
        public var agentLR: Double?
        public var baseLR: Double?
        public var maxBatches: Int?
        public var pretrain: Bool?
        public var calibrate: Bool?

        enum CodingKeys: String, CodingKey {
            case budget, dp, hidden, rounds, pretrain, calibrate
            case agentEpochs = "agent_epochs", baseEpochs = "base_epochs", agentLR = "agent_lr", baseLR = "base_lr"
            case maxBatches = "max_batches"
        }

        public init() {}

        public func validate() throws {
            try Check.range(budget, "budget", 0.1...1)
            try Check.fraction(dp, "dp")
            try Check.range(hidden, "hidden", 4...512)
            try Check.range(rounds, "rounds", 1...1000)
            try Check.range(agentEpochs, "agent_epochs", 0...1000)
            try Check.range(baseEpochs, "base_epochs", 0...1000)
            try Check.positive(agentLR, "agent_lr")
            try Check.positive(baseLR, "base_lr")
            try Check.range(maxBatches, "max_batches", 1...1_000_000)
        }

        public static var schema: JSONSchema {
            .object(properties: [
                ("budget", .number(description: "Channel-width fraction b defining the MAC cap (dynamic agent) and, with dp, the parameter cap (static agent).",
                                   minimum: 0.1, maximum: 1, defaultValue: 0.5)),
                ("dp", .number(description: "Share of each layer's pruning done dynamically (0: purely static, 1: purely dynamic).",
                               minimum: 0, maximum: 1, defaultValue: 0.5)),
                ("hidden", .integer(description: "RNN hidden width of both agents (reference: 128).", minimum: 4, maximum: 512, defaultValue: 32)),
                ("rounds", .integer(description: "Rounds of agent epochs followed by base epochs.", minimum: 1, maximum: 1000, defaultValue: 1)),
                ("agent_epochs", .integer(description: "Agent (PPO) epochs per round; base and gates are updated every 2nd batch.",
                                          minimum: 0, maximum: 1000, defaultValue: 2)),
                ("base_epochs", .integer(description: "Base-network epochs per round with the agents at their means.",
                                         minimum: 0, maximum: 1000, defaultValue: 1)),
                ("agent_lr", .number(description: "Adam learning rate of the agents (a guess: the release does not give it).",
                                     exclusiveMinimum: 0, defaultValue: 3e-4)),
                ("base_lr", .number(description: "Adam learning rate of the base network and gates.", exclusiveMinimum: 0, defaultValue: 1e-3)),
                ("max_batches", .integer(description: "Cap on batches per runtime epoch (default: the whole training set).",
                                         minimum: 1, maximum: 1_000_000)),
                ("pretrain", .boolean(description: "Train the dense model first (the spec's train phase).", defaultValue: true)),
                ("calibrate", .boolean(description: "After PPO, shift the agents' mean keep-ratios so the realised storage and MACs meet their caps (our addition; see docs/runtime-pruning.md).",
                                       defaultValue: true)),
            ])
        }
    }

    public static let id = "runtime-channel-rl"
    public static let summary = "Static (storage) and dynamic (per-input) channel pruning by two PPO agents under a MAC budget."
    public static let reference = "Chen, Chen, Pan. Storage Efficient and Dynamic Flexible Runtime Channel Pruning via Deep Reinforcement Learning. NeurIPS 2020."
    public static let staticNote = "runtime.static"
    public static let layersNote = "runtime.layers"
    public static let evaluationNote = "runtime.evaluation"
    public static let settingsNote = "runtime.settings"
    public static let calibrationNote = "runtime.calibration"
    public static let uncalibratedNote = "runtime.evaluation_uncalibrated"
    /// Per agent epoch ``RuntimeEpochStatistics``.
    public static let trainingNote = "runtime.training"
    /// Training batches used to calibrate the dynamic shift.
    static let calibrationBatches = 4
    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    var plan: RuntimeTrainingPlan {
        var plan = RuntimeTrainingPlan()
        plan.rounds = settings.rounds ?? 1
        plan.agentEpochs = settings.agentEpochs ?? 2
        plan.baseEpochs = settings.baseEpochs ?? 1
        plan.agentLearningRate = settings.agentLR ?? 3e-4
        plan.baseLearningRate = settings.baseLR ?? 1e-3
        plan.maxBatches = settings.maxBatches
        return plan
    }

    public func plan(_ context: PipelineContext) -> [PlannedPhase] {
        (settings.pretrain ?? true ? [PlannedPhase(name: "pretrain", steps: context.steps(context.spec.train))] : [])
            + [PlannedPhase(name: "runtime-rl", steps: 0), PlannedPhase(name: "static-prune", steps: 0)]
    }

    /// The gated network and its agents for `context` (fresh, seeded).
    public func build(_ context: PipelineContext) throws -> (network: GatedNetwork, policy: RuntimePolicy) {
        guard case let .image(channels, height, width) = context.data.input else {
            throw PruningError.unsupportedModel(method: Self.id, detail: "needs an image data set")
        }
        let network = try GatedNetwork(model: context.model, inputShape: [channels, height, width], seed: context.spec.seed)
        let agents = RuntimePolicy.agents(for: network, hidden: settings.hidden ?? 32, seed: context.spec.seed)
        let policy = RuntimePolicy(network: network, dynamicAgent: agents.dynamic, staticAgent: agents.static,
                                   budget: settings.budget ?? 0.5, dp: settings.dp ?? 0.5, seed: context.spec.seed)
        return (network, policy)
    }

    public func run(_ context: PipelineContext) throws {
        let (network, policy) = try build(context)
        let groups = try context.channelGroups(method: Self.id)
        let convPaths = Set(network.layers.map(\.convPath))
        if settings.pretrain ?? true {
            try context.phase("pretrain") { try context.train(context.spec.train) }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        func json<T: Encodable>(_ value: T) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }
        try context.phase("runtime-rl") {
            var config = context.data.loader.config
            config.batchSize = context.spec.train.batchSize
            config.seed = context.spec.seed &+ 17
            let loader = try DataLoader(dataset: context.data.loader.dataset, config: config)
            let trainer = RuntimeTrainer(network: network, policy: policy, plan: plan, seed: context.spec.seed)
            try trainer.run(loader, log: context.message)
            context.notes[Self.trainingNote] = try json(trainer.statistics)
            if settings.calibrate ?? true {
                let uncalibrated = trainer.evaluate(context.data.test)
                context.notes[Self.uncalibratedNote] = try json(uncalibrated)
                var batches: [Tensor] = []
                for index in 0..<Swift.min(Self.calibrationBatches, loader.batchesPerEpoch) {
                    if case let .dense(x) = try loader.batch(epoch: 0, index: index).input { batches.append(x) }
                }
                let calibration = BudgetCalibration.calibrate(policy: policy, network: network, batches: batches,
                                                              parameterCap: trainer.parameterCap, macCap: trainer.macCap)
                context.notes[Self.calibrationNote] = try json(calibration)
                context.message(String(format: "runtime: uncalibrated MAC fraction %.4f; calibration shifts static %+.4f, dynamic %+.4f",
                                       uncalibrated.macFraction, calibration.staticShift, calibration.dynamicShift))
            }
            let evaluation = trainer.evaluate(context.data.test)
            policy.sample = false
            policy.begin(inputs: 1)
            context.notes[Self.staticNote] = try json(FrozenStatic(ratios: policy.staticRatios, masks: policy.staticMasks))
            context.notes[Self.evaluationNote] = try json(evaluation)
            context.notes[Self.layersNote] = try json(network.layers.map { [$0.convPath, $0.normPath ?? ""] })
            context.notes[Self.settingsNote] = try json(settings)
            for (key, tensor) in RuntimeArtifact.tensors(network: network, policy: policy) {
                context.stash[RuntimeArtifact.stashPrefix + key] = tensor
            }
            context.message(String(format: "runtime: test accuracy %.4f, MAC fraction %.4f (cap %.4f), storage fraction %.4f (cap %.4f)",
                                   evaluation.accuracy, evaluation.macFraction, evaluation.macCap,
                                   evaluation.parameterFraction, evaluation.parameterCap))
        }
        try context.phase("static-prune") {
            guard let json = context.notes[Self.staticNote],
                  let frozen = try? JSONDecoder().decode(FrozenStatic.self, from: Data(json.utf8)) else {
                throw PruningError.invalidMask(path: Self.staticNote, detail: "static decisions missing from the pipeline notes")
            }
            var channels = ChannelMaskSet()
            for (l, layer) in network.layers.enumerated() {
                guard let group = groups.first(where: { $0.producer == layer.convPath }), convPaths.contains(group.producer) else { continue }
                channels[group.name] = ChannelMask(group: group.name, kept: frozen.masks[l].indices.filter { frozen.masks[l][$0] },
                                                   channels: group.channels)
            }
            try context.pruneChannels(channels, groups: groups, event: "runtime RL static masks")
        }
    }
}
