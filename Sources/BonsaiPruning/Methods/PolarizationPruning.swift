/// Neuron-level structured pruning with the polarization regulariser (Zhuang, Zhang, Huang, Zeng,
/// Shuang, Li, NeurIPS 2020; METHODS.md §11.2, reference `polarizationpruning/PolarizationPruning`
/// `cifar/main.py`).
///
/// 1. `init-scales`: every regularised scale `γ` is set to 0.5 (the reference's BN init).
/// 2. `sparsity-train` (the spec's `train` phase): the loss gets
///    `λ·Σ_l (t·Σ|γ_l| − Σ|γ_l − γ̄|)` (``Polarization/regularizer(_:t:lambda:)``,
///    ``TrainingHooks/regularizer``) and after every optimizer step `γ` is clamped to `[0, a]`
///    (`clamp_bn`, `--clamp 1.0`; ``TrainingHooks/afterStep``).
/// 3. `prune`: per layer, the 100-bin histogram of `γ` on `[0, 1]` and its first valley give the
///    threshold (``Polarization/valleyThreshold(_:bins:)``; `fixed` strategy 0.01 when there is no
///    valley, or when `threshold` is `fixed`); channels with `γ ≤ threshold` are removed, never a
///    whole layer.
/// 4. `finetune` (the spec's `finetune` phase).
///
/// Choices: the regularised factors are the batch-norm scales of the prunable channel groups (see
/// ``ChannelDependencies``) — all of VGG's, and only `bn1` of each ResNet block. The reference also
/// prunes `bn2` channels of a block and zero-pads the block's last conv back to the residual width;
/// we keep block outputs full (no re-expansion), so `bn2`, the stem and the shortcuts are neither
/// regularised nor clamped. The FLOPs-weighted variant and the λ/t search of Algorithm 1 are not
/// implemented. The reference's weight decay on BN (`--bn-wd`) is whatever the spec's optimizer
/// applies.
public struct PolarizationPruning: PruningMethod {
    public struct Settings: MethodSettings {
        public var lambda: Double?
        public var t: Double?
        /// Upper bound `a` of the scales.
        public var clamp: Double?
        /// "grad" (histogram valley, the paper's) or "fixed" (0.01).
        public var threshold: String?

        public init() {}
        public init(lambda: Double, t: Double, clamp: Double = 1, threshold: String = "grad") {
            self.lambda = lambda; self.t = t; self.clamp = clamp; self.threshold = threshold
        }

        public func validate() throws {
            if let lambda, !(lambda.isFinite && lambda >= 0 && lambda <= 1) {
                throw PruningError.invalidSetting(field: "lambda", detail: "must be in [0, 1], got \(lambda)")
            }
            try Check.range(t, "t", -4.0...4.0)
            try Check.positive(clamp, "clamp")
            try Check.oneOf(threshold, "threshold", ["grad", "fixed"])
        }

        public static var schema: JSONSchema {
            .object(properties: [
                ("lambda", .number(description: "Strength λ of the polarization regulariser.", minimum: 0, maximum: 1, defaultValue: 1e-4)),
                ("t", .number(description: "Polarization shape t: the fraction kept tends to 1/2 − t/4.", minimum: -4, maximum: 4, defaultValue: 1.2)),
                ("clamp", .number(description: "Scales are clamped to [0, clamp] after every step.", exclusiveMinimum: 0, defaultValue: 1)),
                ("threshold", .string(description: "Per-layer histogram valley (grad) or a fixed 0.01.", choices: ["grad", "fixed"], defaultValue: "grad")),
            ])
        }
    }

    public static let id = "polarization"
    public static let summary = "Sparsity-train with the polarization regulariser on batch-norm scales, cut at each layer's histogram valley, fine-tune."
    public static let reference = "Zhuang, Zhang, Huang, Zeng, Shuang, Li. Neuron-level Structured Pruning using Polarization Regularizer. NeurIPS 2020."
    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    public func plan(_ context: PipelineContext) -> [PlannedPhase] {
        [PlannedPhase(name: "init-scales", steps: 0), PlannedPhase(name: "sparsity-train", steps: context.steps(context.spec.train)),
         PlannedPhase(name: "prune", steps: 0), PlannedPhase(name: "finetune", steps: context.steps(context.spec.finetuneConfig))]
    }

    /// The sparsity-training hooks: the regulariser on the loss and the clamp after each step.
    public static func hooks(scales: [Parameter], lambda: Double, t: Double, clamp: Double) -> TrainingHooks {
        TrainingHooks(regularizer: { _ in
            lambda > 0 ? Polarization.regularizer(scales.map(\.effective), t: t, lambda: lambda) : nil
        }, afterStep: { _ in
            Polarization.clamp(scales, max: clamp)
        })
    }

    /// The per-layer thresholds of the configured strategy.
    func thresholds(_ scores: [[Double]], context: PipelineContext, groups: [ChannelGroup]) -> [Double] {
        zip(groups, scores).map { group, gammas in
            guard settings.threshold ?? "grad" == "grad" else { return 0.01 }
            guard let value = Polarization.valleyThreshold(gammas) else {
                context.message("\(group.name): no histogram valley, using the fixed threshold 0.01")
                return 0.01
            }
            if value > 0.2 { context.message("\(group.name): valley threshold \(value) exceeds 0.2") }
            return value
        }
    }

    public func run(_ context: PipelineContext) throws {
        let groups = try context.channelGroups(method: Self.id)
        _ = try ChannelScores.normScale(context.model, groups: groups, method: Self.id)
        let scales = groups.compactMap { $0.scalePath.flatMap { context.model.parameter(at: $0) } }
        try context.phase("init-scales") {
            for p in scales { p.assign(.full(p.shape, value: 0.5, dtype: p.value.dtype)) }
        }
        try context.phase("sparsity-train") {
            try context.train(context.spec.train, hooks: Self.hooks(scales: scales, lambda: settings.lambda ?? 1e-4,
                                                                   t: settings.t ?? 1.2, clamp: settings.clamp ?? 1))
        }
        try context.phase("prune") {
            let scores = try ChannelScores.normScale(context.model, groups: groups, method: Self.id)
            let current = ChannelMasks.current(in: context.model, groups: groups)
            let channels = ChannelSelection.threshold(scores, groups: groups,
                                                      thresholds: thresholds(scores, context: context, groups: groups), current: current)
            try context.pruneChannels(channels, groups: groups, event: "polarization valley threshold")
        }
        try context.phase("finetune") { try context.train(context.spec.finetuneConfig) }
    }
}
