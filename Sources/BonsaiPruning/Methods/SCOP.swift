import Foundation

/// SCOP: scientific control for reliable neural network pruning (Tang, Wang, Xu, Tao, Xu, Xu, Xu,
/// NeurIPS 2020; METHODS.md §10; reference `huawei-noah/Pruning` `SCOP_NeurIPS2020/train.py`,
/// `pruning_modules.py`).
///
/// 1. `pretrain` (optional; the spec's `train` phase): the dense network.
/// 2. `knockoff-scales`: every channel group gets `β ∈ [0, 1]^C` (init 0.5). Each step takes a real
///    batch `X`, draws its knockoffs `X̃` (``GaussianKnockoffs``: a second-order Gaussian model-X
///    construction replaces the reference's pretrained GAN — see there for the formula and why),
///    runs `[X ; X̃]` through ``KnockoffMixing`` (`A_real ← β⊙A_real + (1−β)⊙A_knockoff` at each
///    producer, batch statistics over the 2B batch) and minimises the cross-entropy of the real
///    half's logits over `β` only: all network weights, batch-norm affine included, are frozen.
///    Adam, lr 4e-3, betas (0.5, 0.9); after every step `β ← clamp(β, 0, 1)`. `β̃ = 1 − β`.
/// 3. `prune`: score `|γ_j|·(β_j − β̃_j) = |γ_j|·(2β_j − 1)` (the released code; `γ` the batch-norm
///    scale, 1 for a producer without batch norm) or `β_j − β̃_j` (`score: "paper"`); in every group
///    the `⌊ratio·C⌋` lowest-scoring channels are removed (ties by position, at least one channel
///    kept) as structured channel masks (``PipelineContext/pruneChannels(_:groups:event:)``, so the
///    result compacts). Then batch-norm recalibration: one pass over the training set in train mode
///    without gradients, recomputing the running statistics on real data (step 9).
/// 4. `finetune` (the spec's `finetune` phase).
///
/// Channel groups follow ``ChannelDependencies`` (ResNets: inner block channels only; the reference
/// also prunes each block's last conv with a zero scatter). Linear hidden layers (`lenet300`, the
/// classifiers of `conv*`/`lenet5`) are groups too and are treated as 1×1 channels; the paper
/// prunes conv filters only.
public struct SCOP: PruningMethod {
    public struct Settings: MethodSettings {
        /// Fraction of each group's channels removed (`--prune_rate`; the reference default 0.4).
        public var ratio: Double?
        /// `"code"`: `|γ|·(2β − 1)`; `"paper"`: `β − β̃ = 2β − 1`.
        public var score: String?
        public var pretrain: Bool?
        /// Epochs of the β phase (20 in the reference), or an exact step count.
        public var knockoffEpochs: Int?
        public var knockoffSteps: Int?
        /// Adam learning rate for β (4e-3).
        public var lr: Double?
        /// Real images per β step (knockoffs double the batch); default: the train batch size.
        public var batchSize: Int?
        /// Covariance shrinkage α of the knockoff model (see ``GaussianKnockoffs``).
        public var shrinkage: Double?
        /// Training inputs used to fit the knockoff model.
        public var covarianceSamples: Int?
        /// Recompute batch-norm running statistics on real data after pruning.
        public var recalibrate: Bool?

        enum CodingKeys: String, CodingKey {
            case ratio, score, pretrain, lr, shrinkage, recalibrate
            case knockoffEpochs = "knockoff_epochs", knockoffSteps = "knockoff_steps", batchSize = "batch_size"
            case covarianceSamples = "covariance_samples"
        }

        public init() {}

        public func validate() throws {
            try Check.fraction(ratio, "ratio")
            if let ratio, ratio >= 1 { throw PruningError.invalidSetting(field: "ratio", detail: "must be below 1 (every layer keeps a channel)") }
            try Check.oneOf(score, "score", ["code", "paper"])
            try Check.range(knockoffEpochs, "knockoff_epochs", 0...10_000)
            try Check.range(knockoffSteps, "knockoff_steps", 0...10_000_000)
            try Check.positive(lr, "lr")
            try Check.range(batchSize, "batch_size", 1...65_536)
            if let shrinkage, !(shrinkage > 0 && shrinkage <= 1) {
                throw PruningError.invalidSetting(field: "shrinkage", detail: "must be in (0, 1], got \(shrinkage)")
            }
            try Check.range(covarianceSamples, "covariance_samples", 2...1_000_000)
        }

        public static var schema: JSONSchema {
            .object(properties: [
                ("ratio", .number(description: "Fraction of each layer's channels removed (floor(ratio·C)).", minimum: 0, exclusiveMaximum: 1, defaultValue: 0.4)),
                ("score", .string(description: "code: |γ|·(β − β̃) as released; paper: β − β̃.", choices: ["code", "paper"], defaultValue: "code")),
                ("pretrain", .boolean(description: "Train the dense model first (the spec's train phase).", defaultValue: true)),
                ("knockoff_epochs", .integer(description: "Epochs of training the scaling factors β.", minimum: 0, maximum: 10_000, defaultValue: 20)),
                ("knockoff_steps", .integer(description: "Exact β steps (replaces knockoff_epochs).", minimum: 0, maximum: 10_000_000, defaultValue: nil)),
                ("lr", .number(description: "Adam learning rate of β (betas 0.5, 0.9).", minimum: 0, defaultValue: 4e-3)),
                ("batch_size", .integer(description: "Real images per β step (default: the train batch size).", minimum: 1, maximum: 65_536, defaultValue: nil)),
                ("shrinkage", .number(description: "Covariance shrinkage α of the Gaussian knockoff model.", minimum: 0, maximum: 1, defaultValue: 0.2)),
                ("covariance_samples", .integer(description: "Training inputs used to fit the knockoff model.", minimum: 2, maximum: 1_000_000, defaultValue: 2000)),
                ("recalibrate", .boolean(description: "Recompute batch-norm running statistics on real data after pruning.", defaultValue: true)),
            ])
        }
    }

    public static let id = "scop"
    public static let summary = "Learn real-vs-knockoff scaling factors β with frozen weights, remove the filters with the smallest |γ|·(β − β̃), fine-tune."
    public static let reference = "Tang, Wang, Xu, Tao, Xu, Xu, Xu. SCOP: Scientific Control for Reliable Neural Network Pruning. NeurIPS 2020."
    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    static let betaPrefix = "scop.beta."

    public func plan(_ context: PipelineContext) -> [PlannedPhase] {
        (settings.pretrain ?? true ? [PlannedPhase(name: "pretrain", steps: context.steps(context.spec.train))] : [])
            + [PlannedPhase(name: "knockoff-scales", steps: 0), PlannedPhase(name: "prune", steps: 0),
               PlannedPhase(name: "finetune", steps: context.steps(context.spec.finetuneConfig))]
    }

    public func run(_ context: PipelineContext) throws {
        let groups = try context.channelGroups(method: Self.id)
        let mixing = try KnockoffMixing(model: context.model, groups: groups)
        if settings.pretrain ?? true {
            try context.phase("pretrain") { try context.train(context.spec.train) }
        }
        try context.phase("knockoff-scales") {
            let betas = try trainScales(context, groups: groups, mixing: mixing)
            for (name, beta) in betas { context.stash[Self.betaPrefix + name] = beta }
        }
        try context.phase("prune") {
            var betas: [[Double]] = []
            for group in groups {
                guard let beta = context.stash[Self.betaPrefix + group.name] else {
                    throw PruningError.invalidSetting(field: "knockoff-scales", detail: "no β for group '\(group.name)' (phase state lost)")
                }
                betas.append(beta.doubles)
            }
            let scores = Self.scores(context.model, groups: groups, betas: betas, paper: settings.score == "paper")
            let channels = Self.select(scores, groups: groups, ratio: settings.ratio ?? 0.4,
                                       current: ChannelMasks.current(in: context.model, groups: groups))
            try context.pruneChannels(channels, groups: groups, event: "scop knockoff score")
            if settings.recalibrate ?? true { try Self.recalibrateBatchNorm(context) }
        }
        try context.phase("finetune") { try context.train(context.spec.finetuneConfig) }
    }

    /// Filter scores per group: `|γ_j|·(2β_j − 1)` (code) or `2β_j − 1` (paper).
    public static func scores(_ model: Module, groups: [ChannelGroup], betas: [[Double]], paper: Bool) -> [[Double]] {
        precondition(betas.count == groups.count, "SCOP.scores: \(betas.count) β lists for \(groups.count) groups")
        return zip(groups, betas).map { group, beta in
            let gamma = paper ? nil : group.scalePath.flatMap { path in Engine.withoutGrad { model.parameter(at: path)?.effective.doubles } }
            return beta.indices.map { j in (gamma.map { Swift.abs($0[j]) } ?? 1) * (beta[j] - (1 - beta[j])) }
        }
    }

    /// In every group, the `⌊ratio·C⌋` lowest scores are removed (counting channels already removed,
    /// ties by position, at least one channel kept).
    public static func select(_ scores: [[Double]], groups: [ChannelGroup], ratio: Double, current: ChannelMaskSet = ChannelMaskSet()) -> ChannelMaskSet {
        var masks: [ChannelMask] = []
        for (g, group) in groups.enumerated() {
            let target = Swift.min(Int((ratio * Double(group.channels)).rounded(.down)), group.channels - 1)
            masks += ChannelSelection.prune([group], [scores[g]], target: target, current: current).masks.values
        }
        return ChannelMaskSet(masks)
    }

    /// The β phase: weights frozen, Adam on β with clamping; returns β by group name.
    func trainScales(_ context: PipelineContext, groups: [ChannelGroup], mixing: KnockoffMixing) throws -> [String: Tensor] {
        let knockoffs = try GaussianKnockoffs(loader: context.data.loader, limit: settings.covarianceSamples ?? 2000,
                                              shrinkage: settings.shrinkage ?? 0.2)
        context.message("scop: Gaussian knockoff model fitted on p = \(knockoffs.dimension) inputs, s = \(Format.number(knockoffs.s, digits: 6))")
        var loaderConfig = context.data.loader.config
        loaderConfig.batchSize = settings.batchSize ?? context.spec.train.batchSize
        loaderConfig.seed = context.spec.seed &+ 0x5C0F
        let loader = try DataLoader(dataset: context.data.loader.dataset, config: loaderConfig)
        let perEpoch = Swift.max(loader.batchesPerEpoch, 1)
        let steps = settings.knockoffSteps ?? (settings.knockoffEpochs ?? 20) * perEpoch
        let parameters = groups.map { group in (path: group.name, parameter: Parameter(.full([group.channels], value: 0.5), role: .other)) }
        let optimizer = try Adam(groups: [ParameterGroup(parameters: parameters, learningRate: settings.lr ?? 4e-3)], beta1: 0.5, beta2: 0.9)
        // Freeze every network weight for the phase (restored afterwards).
        let frozen = context.model.namedParameters().map(\.parameter)
        let wasTrainable = frozen.map(\.trainable)
        for p in frozen where p.trainable { p.trainable = false }
        defer { for (p, t) in zip(frozen, wasTrainable) where p.trainable != t { p.trainable = t } }
        var rng = RandomGenerator(seed: context.spec.seed &+ 0xC0FF)
        for step in 0..<steps {
            if let flag = context.cancellation, flag.isCancelled { throw TrainingError.cancelled(at: TrainingPosition(step: step)) }
            let batch = loader.batch(at: DataPosition(epoch: step / perEpoch, batchIndex: step % perEpoch))
            let real = batch.inputs
            let knock = knockoffs.sample(real, using: &rng)
            optimizer.zeroGrad()
            let betas = Dictionary(uniqueKeysWithValues: parameters.map { ($0.path, $0.parameter.value) })
            let loss = Engine.withGrad { () -> Tensor in
                let logits = mixing.forward(real: real, knockoff: knock, betas: betas, training: true)
                return crossEntropy(logits: logits.sliced(axis: 0, start: 0, length: real.shape[0]), labels: batch.labels)
            }
            loss.backward()
            optimizer.step()
            for (_, p) in parameters { p.assign(Engine.withoutGrad { p.value.detached().clamped(min: 0, max: 1) }) }
            if step % Swift.max(steps / 5, 1) == 0 || step == steps - 1 {
                context.message("scop β step \(step + 1)/\(steps): real-half loss \(Format.number(loss.item))")
            }
        }
        return Dictionary(uniqueKeysWithValues: parameters.map { ($0.path, $0.parameter.value.detached()) })
    }

    /// One pass over the training set in train mode without gradients: recomputes batch-norm
    /// running statistics on real data (METHODS.md §10.3 step 9). A no-op without batch norm.
    public static func recalibrateBatchNorm(_ context: PipelineContext) throws {
        guard context.model.namedModules().contains(where: { $0.module is BatchNorm }) else { return }
        var loader = context.data.loader
        try loader.seek(to: .start)
        let forward = ForwardContext(training: true, rng: RandomGenerator(seed: context.spec.seed))
        Engine.withoutGrad {
            while let batch = loader.next() { _ = context.model.forward(batch.modelInput, context: forward) }
        }
    }
}
