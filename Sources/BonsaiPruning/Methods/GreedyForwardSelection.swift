import Foundation

/// Greedy forward selection (Ye, Wu, Liu, "Greedy Optimization Provably Wins the Lottery",
/// NeurIPS 2020, and Ye et al., ICML 2020; METHODS.md §6; reference
/// `lushleaf/Network-Pruning-Greedy-Forward-Selection` `mobile2_prune.py`, `mobile2_finetune.py`).
///
/// 1. `pretrain` (optional; the spec's `train` phase).
/// 2. Layer by layer, from input to output, for every channel group of ``ChannelDependencies``
///    (conv filters, or neurons of hidden linear layers for `lenet300`):
///    * `select-<group>`: ``GreedyLayerSelection`` adds channels one at a time by mini-batch
///      cross-entropy (up to `candidates` random candidates per step, uniform-average rule
///      `γ = 1/(n+1)`, the released fixed step), until the eval-train top-1 is back within
///      `tolerance` of the layer's starting top-1. The unselected channels are removed with
///      structured channel masks (so the result compacts), and the factor `D·a_j = D/n` of the
///      reference's `Mask` is folded into the consumers' input columns (`rescale`, default on, as
///      released: the layer output is `(D/n)·Σ_{j∈S} h_j`).
///    * `refine-<group>`: the "intermediate fine-tune", plain SGD (no momentum), lr 2.5e-3, weight
///      decay 4e-5, `intermediate_epochs` = 0.1 epoch, selection fixed.
/// 3. `finetune` (the spec's `finetune` phase; the reference: 150 epochs, cosine, lr 0.1).
///
/// Differences from the release, on purpose: every group is processed (the reference skips the
/// first two and last two of MobileNetV2's 35 masks, a choice specific to that network); the
/// eval-train subset is `eval_samples` evenly strided training samples (the reference takes every
/// 200th ImageNet image, ≈ 6,400; with our small sets a stride of 200 leaves too few); the
/// per-layer reference top-1 is measured at the start of each layer. The NeurIPS paper variant
/// (line search over the step size) is not implemented (METHODS.md §19 item 2).
public struct GreedyForwardSelection: PruningMethod {
    public struct Settings: MethodSettings {
        /// `num_evaluate`: candidates tried per step (50).
        public var candidates: Int?
        /// `top1_tol` (0.02; larger prunes more).
        public var tolerance: Double?
        /// `skip_eval_converge` (0.05).
        public var skipConverge: Double?
        /// Size of the eval-train subset used for stopping.
        public var evalSamples: Int?
        /// Selection mini-batch size (128).
        public var batchSize: Int?
        /// Fold the factor D/n into the consumers (the reference's `Mask` scale).
        public var rescale: Bool?
        /// Intermediate fine-tune after each layer, in epochs (0.1) and its learning rate (2.5e-3).
        public var intermediateEpochs: Double?
        public var intermediateLR: Double?
        public var pretrain: Bool?

        enum CodingKeys: String, CodingKey {
            case candidates, tolerance, rescale, pretrain
            case skipConverge = "skip_converge", evalSamples = "eval_samples", batchSize = "batch_size"
            case intermediateEpochs = "intermediate_epochs", intermediateLR = "intermediate_lr"
        }

        public init() {}

        public func validate() throws {
            try Check.range(candidates, "candidates", 1...100_000)
            try Check.fraction(tolerance, "tolerance")
            try Check.fraction(skipConverge, "skip_converge")
            try Check.range(evalSamples, "eval_samples", 1...10_000_000)
            try Check.range(batchSize, "batch_size", 1...65_536)
            if let e = intermediateEpochs, !(e.isFinite && e >= 0 && e <= 100) {
                throw PruningError.invalidSetting(field: "intermediate_epochs", detail: "must be in [0, 100], got \(e)")
            }
            try Check.positive(intermediateLR, "intermediate_lr")
        }

        public static var schema: JSONSchema {
            .object(properties: [
                ("candidates", .integer(description: "Random candidate channels tried per greedy step (num_evaluate).", minimum: 1, maximum: 100_000, defaultValue: 50)),
                ("tolerance", .number(description: "Stop a layer when eval-train top-1 ≥ (1 − tolerance)·initial (top1_tol; larger prunes more).", minimum: 0, maximum: 1, defaultValue: 0.02)),
                ("skip_converge", .number(description: "Check the eval-train subset only when mini-batch top-1 ≥ (1 − skip_converge)·initial.", minimum: 0, maximum: 1, defaultValue: 0.05)),
                ("eval_samples", .integer(description: "Evenly strided training samples of the eval-train subset.", minimum: 1, maximum: 10_000_000, defaultValue: 1024)),
                ("batch_size", .integer(description: "Mini-batch size of the selection loss.", minimum: 1, maximum: 65_536, defaultValue: 128)),
                ("rescale", .boolean(description: "Fold the reference Mask's factor D/n into the consumers of each pruned layer.", defaultValue: true)),
                ("intermediate_epochs", .number(description: "Fine-tune after each layer, in epochs (plain SGD, weight decay 4e-5).", minimum: 0, maximum: 100, defaultValue: 0.1)),
                ("intermediate_lr", .number(description: "Learning rate of the intermediate fine-tune.", minimum: 0, defaultValue: 2.5e-3)),
                ("pretrain", .boolean(description: "Train the dense model first (the spec's train phase).", defaultValue: true)),
            ])
        }
    }

    public static let id = "greedy-forward"
    public static let summary = "Layer by layer, add channels greedily by mini-batch loss until accuracy recovers; remove the rest, fine-tune."
    public static let reference = "Ye, Wu, Liu. Greedy Optimization Provably Wins the Lottery: Logarithmic Number of Winning Tickets is Enough. NeurIPS 2020."
    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    /// The intermediate fine-tune of one layer.
    func intermediateConfig(_ context: PipelineContext) -> TrainingConfig? {
        let epochs = settings.intermediateEpochs ?? 0.1
        let perEpoch = (context.data.loader.dataset.count + context.spec.train.batchSize - 1) / context.spec.train.batchSize
        let steps = Int((epochs * Double(perEpoch)).rounded())
        guard epochs > 0 else { return nil }
        return TrainingConfig(epochs: nil, steps: Swift.max(steps, 1), batchSize: context.spec.train.batchSize,
                              optimizer: OptimizerConfig(name: "sgd", lr: settings.intermediateLR ?? 2.5e-3, weightDecay: 4e-5))
    }

    public func plan(_ context: PipelineContext) -> [PlannedPhase] {
        let groups = (try? ChannelDependencies.groups(of: context.model)) ?? []
        let refine = intermediateConfig(context).map { context.steps($0) }
        return (settings.pretrain ?? true ? [PlannedPhase(name: "pretrain", steps: context.steps(context.spec.train))] : [])
            + groups.flatMap { g in [PlannedPhase(name: "select-\(g.name)", steps: 0)] + (refine.map { [PlannedPhase(name: "refine-\(g.name)", steps: $0)] } ?? []) }
            + [PlannedPhase(name: "finetune", steps: context.steps(context.spec.finetuneConfig))]
    }

    public func run(_ context: PipelineContext) throws {
        let groups = try context.channelGroups(method: Self.id)
        if settings.pretrain ?? true {
            try context.phase("pretrain") { try context.train(context.spec.train) }
        }
        let evaluation = Self.evalTrainSubset(context.data.loader, samples: settings.evalSamples ?? 1024)
        var loaderConfig = context.data.loader.config
        loaderConfig.batchSize = settings.batchSize ?? 128
        let selector = GreedyLayerSelection(candidates: settings.candidates ?? 50, tolerance: settings.tolerance ?? 0.02,
                                            skipConverge: settings.skipConverge ?? 0.05)
        let rescale = settings.rescale ?? true
        for (index, group) in groups.enumerated() {
            try context.phase("select-\(group.name)") {
                loaderConfig.seed = context.spec.seed &+ 0x6EED &+ UInt64(index)
                let loader = try DataLoader(dataset: context.data.loader.dataset, config: loaderConfig)
                let perEpoch = Swift.max(loader.batchesPerEpoch, 1)
                var rng = RandomGenerator(seed: context.spec.seed &+ 0x5E1EC7 &+ UInt64(index))
                let alive = ChannelMasks.current(in: context.model, groups: [group])[group.name]?.kept ?? Array(0..<group.channels)
                let outcome = try selector.select(context.model, group: group, alive: alive, rescale: rescale,
                                                  batch: { i in loader.batch(at: DataPosition(epoch: i / perEpoch, batchIndex: i % perEpoch)).labeled },
                                                  evaluation: evaluation, rng: &rng,
                                                  cancelled: { context.cancellation?.isCancelled ?? false })
                if rescale {
                    GreedyLayerSelection.fold(context.model, group: group,
                                              scale: GreedyLayerSelection.channelScale(channels: group.channels, selected: outcome.selected, rescale: true))
                }
                let mask = ChannelMask(group: group.name, kept: outcome.selected, channels: group.channels)
                try context.pruneChannels(ChannelMaskSet([mask]), groups: groups, event: "greedy selection of \(group.name)")
                context.message("greedy \(group.name): \(outcome.selected.count) of \(alive.count) channels, eval-train top-1 "
                                + "\(Format.percent(outcome.initialTop1)) → \(Format.percent(outcome.finalTop1))")
            }
            if let config = intermediateConfig(context) {
                try context.phase("refine-\(group.name)") { try context.train(config) }
            }
        }
        try context.phase("finetune") { try context.train(context.spec.finetuneConfig) }
    }

    /// `samples` evenly strided training samples (no augmentation), in batches of 256.
    public static func evalTrainSubset(_ loader: DataLoader, samples: Int) -> [LabeledBatch] {
        let count = loader.dataset.count
        let stride = Swift.max(1, count / Swift.max(samples, 1))
        let indices = Array(Swift.stride(from: 0, to: count, by: stride).prefix(samples))
        return Swift.stride(from: 0, to: indices.count, by: 256).map { start in
            loader.dataset.makeBatch(indices: Array(indices[start..<Swift.min(start + 256, indices.count)]), augmentation: nil).labeled
        }
    }
}
