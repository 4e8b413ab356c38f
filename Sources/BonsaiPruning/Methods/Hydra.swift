import Foundation

/// HYDRA (Sehwag et al., NeurIPS 2020; METHODS.md §7): pruning as robust empirical risk minimisation.
///
/// Phases: `pretrain` (the spec's `train` phase with the robust loss), `prune` (weights and biases
/// frozen; a score per weight, initialised *scaled* `s = √(6/fan_in)·w/max|w|` so the first mask is the
/// layer-wise least-weight-magnitude (LWM) mask; forward with `w ⊙ TopK(|s|, k)` per layer and the
/// straight-through gradient `sign(s) ⊙ (∂L/∂w_eff ⊙ w)`; `prune_epochs` of the robust loss with the
/// train phase's optimizer; BN stays trainable as in the reference), `mask` (the final top-k becomes the
/// mask), `finetune` (the spec's `finetune` phase with the robust loss, mask fixed). With
/// `prune_epochs: 0` it is the LWM baseline of the same code. Top-k keeps `n − ⌊(1 − k)·n⌋` per layer,
/// as the reference (it zeroes the lowest ⌊(1 − k)·n⌋). Robust loss: TRADES (β = 6, the reference
/// trainer), PGD adversarial training, or natural cross-entropy; the attack is L∞ PGD in pixel space.
public struct Hydra: PruningMethod {
    public struct Settings: MethodSettings, HasPrunableSet {
        public var keep: Double?
        public var loss: String?
        public var epsilon: Double?
        public var stepSize: Double?
        public var steps: Int?
        public var beta: Double?
        public var pruneEpochs: Int?
        public var prunable: PrunableSet?

        enum CodingKeys: String, CodingKey {
            case keep, loss, epsilon, steps, beta, prunable
            case stepSize = "step_size"
            case pruneEpochs = "prune_epochs"
        }

        public init() {}

        public func validate() throws {
            try Check.fraction(keep, "keep", open: true)
            try Check.oneOf(loss, "loss", ["trades", "pgd", "natural"])
            try Check.range(epsilon, "epsilon", 0...1)
            try Check.range(stepSize, "step_size", 0...1)
            try Check.range(steps, "steps", 1...200)
            try Check.range(beta, "beta", 0...100)
            try Check.range(pruneEpochs, "prune_epochs", 0...1000)
        }

        public static var schema: JSONSchema {
            .object(properties: [
                ("keep", .number(description: "Fraction k of weights kept per layer (0.01 = 99 % pruned).", exclusiveMinimum: 0, exclusiveMaximum: 1, defaultValue: 0.1)),
                ("loss", .string(description: "Robust objective of every phase.", choices: ["trades", "pgd", "natural"], defaultValue: "trades")),
                ("epsilon", .number(description: "L∞ radius in pixel units ([0, 1] images); 8/255 for CIFAR, 0.1 for MNIST.", minimum: 0, maximum: 1, defaultValue: 8.0 / 255)),
                ("step_size", .number(description: "PGD step in pixel units.", minimum: 0, maximum: 1, defaultValue: 2.0 / 255)),
                ("steps", .integer(description: "PGD steps.", minimum: 1, maximum: 200, defaultValue: 10)),
                ("beta", .number(description: "TRADES β.", minimum: 0, maximum: 100, defaultValue: 6)),
                ("prune_epochs", .integer(description: "Epochs of score optimisation (0 = the LWM baseline).", minimum: 0, maximum: 1000, defaultValue: 20)),
                ("prunable", JSONSchema.prunable),
            ])
        }
    }

    public static let id = "hydra"
    public static let summary = "Learn per-weight importance scores on the robust (adversarial) loss, initialised from |w|; prune, then robustly fine-tune."
    public static let reference = "Sehwag, Wang, Mittal, Jana. HYDRA: Pruning Adversarially Robust Neural Networks. NeurIPS 2020."
    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    var keep: Double { settings.keep ?? 0.1 }

    func attack(_ context: PipelineContext) -> AdversarialAttack {
        AdversarialAttack(epsilon: settings.epsilon ?? 8.0 / 255, stepSize: settings.stepSize ?? 2.0 / 255,
                          steps: settings.steps ?? 10, normalization: context.data.info.normalization)
    }

    func pruneConfig(_ context: PipelineContext) -> TrainingConfig {
        var config = context.spec.train
        config.epochs = settings.pruneEpochs ?? 20
        config.steps = nil
        return config
    }

    public func plan(_ context: PipelineContext) -> [PlannedPhase] {
        [PlannedPhase(name: "pretrain", steps: context.steps(context.spec.train)),
         PlannedPhase(name: "prune", steps: context.steps(pruneConfig(context))), PlannedPhase(name: "mask", steps: 0),
         PlannedPhase(name: "finetune", steps: context.steps(context.spec.finetuneConfig))]
    }

    /// The robust loss hook for every training phase.
    func hooks(_ context: PipelineContext) -> TrainingHooks {
        var hooks = TrainingHooks()
        let attack = attack(context), beta = settings.beta ?? 6, model = context.model
        switch settings.loss ?? "trades" {
        case "pgd": hooks.loss = { batch, forward in attack.pgdLoss(model, batch: batch, context: forward) }
        case "natural": break
        default: hooks.loss = { batch, forward in attack.tradesLoss(model, batch: batch, beta: beta, context: forward) }
        }
        return hooks
    }

    /// Scaled score initialisation `s = √(6/fan_in) · w / max|w|`.
    public static func scaledScores(_ w: Tensor) -> Tensor {
        let scale = (6.0 / Double(Initializer.fans(w.shape).fanIn)).squareRoot()
        let maxAbs = w.doubles.map { Swift.abs($0) }.max() ?? 1
        return Engine.withoutGrad { w.detached().scaled(by: scale / Swift.max(maxAbs, 1e-30)) }
    }

    /// `TopK(|s|, k)` keeping `n − ⌊(1 − k)·n⌋` entries.
    public static func topMask(_ scores: Tensor, keep: Double) -> Tensor {
        let n = scores.count
        let kept = n - Int((1 - keep) * Double(n))
        return Tensor(shape: scores.shape, scalars: TopMask.keepLargest(scores.doubles.map { Swift.abs($0) }, keep: kept))
    }

    public func run(_ context: PipelineContext) throws {
        let model = context.model
        let hooks = hooks(context)
        try context.phase("pretrain") { try context.train(context.spec.train, hooks: hooks) }
        var scores: [(path: String, parameter: Parameter)] = []
        if !context.completedPhases.contains("mask") {
            for path in context.prunablePaths {
                let initial = context.stash["score.\(path)"] ?? Hydra.scaledScores(model.parameter(at: path)!.value)
                scores.append(("score.\(path)", Parameter(initial, role: .other)))
            }
            context.beforeSnapshot = { for (name, score) in scores { context.stash[name] = score.value.detached() } }
        }
        try context.phase("prune") {
            let k = keep
            let frozen = model.namedParameters().filter { context.prunablePaths.contains($0.path) || $0.parameter.role == .bias }
            for (_, parameter) in frozen { parameter.trainable = false }
            for (name, score) in scores {
                model.parameter(at: String(name.dropFirst(6)))!.reparameterization = { w in
                    let mask = Hydra.topMask(score.value.detached(), keep: k).cast(to: w.dtype)
                    let magnitude = score.value.abs()
                    return w * (mask + (magnitude - magnitude.detached()))
                }
            }
            defer {
                for (_, parameter) in frozen { parameter.trainable = true }
                for path in context.prunablePaths { model.parameter(at: path)!.reparameterization = nil }
            }
            if (settings.pruneEpochs ?? 20) > 0 {
                let trainable = model.namedParameters().filter { $0.parameter.trainable }
                let optimizer = try context.spec.train.optimizer.make(parameters: scores + trainable)
                try context.train(pruneConfig(context), hooks: hooks, optimizer: optimizer)
            }
        }
        try context.phase("mask") {
            var masks: [String: Tensor] = [:]
            for (name, score) in scores { masks[String(name.dropFirst(6))] = Hydra.topMask(score.value, keep: keep) }
            try context.prune(MaskSet(masks), event: "hydra top-k")
        }
        context.beforeSnapshot = nil
        try context.phase("finetune") { try context.train(context.spec.finetuneConfig, hooks: hooks) }
        if settings.loss != "natural" {
            let robust = attack(context).robustAccuracy(model, batches: context.data.test, seed: context.spec.seed)
            context.notes["robust_accuracy"] = "\(robust)"
            context.message("robust accuracy (PGD-\(settings.steps ?? 10), ε = \(settings.epsilon ?? 8.0 / 255)): \(robust)")
        }
    }
}
