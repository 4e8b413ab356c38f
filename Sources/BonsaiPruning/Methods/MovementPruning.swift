/// Movement pruning (Sanh, Wolf, Rush, NeurIPS 2020; METHODS.md §14): during fine-tuning, keep the
/// weights moving *away* from zero. A score `S` per weight (initialised 0) learns through the
/// straight-through estimator `∂L/∂S = (∂L/∂W′) ⊙ W`, so `S` accumulates −movement.
///
/// Modes: `hard` (`M = TopK(S, v_t)` per matrix), `soft` (`M = 1[σ(S) > τ_t]` with the L1 penalty
/// `λ_t · mean over matrices of Σσ(S)/numel`, a floor of 0.5 % + 1 kept entries, and the STE through
/// σ), and `magnitude` (`M = TopK(|W|, v_t)`, the paper's baseline with the same schedule). `v_t` / `τ_t`
/// follow ``ThresholdSchedule`` (cubic, warm-ups 1·w and 2·w). Phases: `pretrain-mlm` (optional masked-LM
/// pre-training of a `TinyBert` — the transfer setting of the paper — on the task's training texts, or
/// with `mlm_corpus: "shipped"` on the training parts of every shipped text set, ``PretrainingCorpus``,
/// encoded with the job's vocabulary so words it lacks become `[UNK]`), `teacher`
/// (optional: a dense copy fine-tuned on the task, for distillation `α_ce·CE + α_distil·T²·KL`),
/// `movement` (the spec's `train` phase, embeddings frozen, scores in their own optimizer group with
/// `score_lr`), `finalize` (the final mask is applied: "bertarize"). By default the prunable set is every
/// linear/attention weight except the classifier (the reference prunes the encoder's linear layers only).
public struct MovementPruning: PruningMethod {
    public struct Settings: MethodSettings, HasPrunableSet {
        public var mode: String?
        /// Final kept fraction v (hard, magnitude).
        public var remaining: Double?
        /// Final sigmoid threshold τ_f and final regularisation weight λ (soft).
        public var threshold: Double?
        public var lambda: Double?
        public var warmupSteps: Int?
        public var scoreLR: Double?
        public var mlmEpochs: Int?
        public var mlmCorpus: String?
        public var distill: Bool?
        public var temperature: Double?
        public var alphaDistil: Double?
        public var prunableOverride: PrunableSet?

        enum CodingKeys: String, CodingKey {
            case mode, remaining, threshold, lambda, distill, temperature
            case warmupSteps = "warmup_steps"
            case scoreLR = "score_lr"
            case mlmEpochs = "mlm_epochs"
            case mlmCorpus = "mlm_corpus"
            case alphaDistil = "alpha_distil"
            case prunableOverride = "prunable"
        }

        public var prunable: PrunableSet? { prunableOverride ?? PrunableSet(excludeClassifier: true) }

        public init() {}

        public func validate() throws {
            try Check.oneOf(mode, "mode", ["hard", "soft", "magnitude"])
            try Check.fraction(remaining, "remaining", open: true)
            try Check.fraction(threshold, "threshold", open: true)
            try Check.range(lambda, "lambda", 0...100_000)
            try Check.range(warmupSteps, "warmup_steps", 0...10_000_000)
            try Check.positive(scoreLR, "score_lr")
            try Check.range(mlmEpochs, "mlm_epochs", 0...1000)
            try Check.oneOf(mlmCorpus, "mlm_corpus", ["task", "shipped"])
            try Check.positive(temperature, "temperature")
            try Check.fraction(alphaDistil, "alpha_distil")
        }

        public static var schema: JSONSchema {
            .object(properties: [
                ("mode", .string(description: "hard: top-v of S; soft: σ(S) > τ with an L1 on σ(S); magnitude: top-v of |W| (baseline).",
                                 choices: ["hard", "soft", "magnitude"], defaultValue: "hard")),
                ("remaining", .number(description: "Final fraction of weights kept per matrix (hard, magnitude).", exclusiveMinimum: 0, exclusiveMaximum: 1, defaultValue: 0.1)),
                ("threshold", .number(description: "Final sigmoid threshold τ_f (soft).", exclusiveMinimum: 0, exclusiveMaximum: 1, defaultValue: 0.1)),
                ("lambda", .number(description: "Final L1 weight λ on σ(S) (soft).", minimum: 0, maximum: 100_000, defaultValue: 400)),
                ("warmup_steps", .integer(description: "w: dense for 1·w steps, cubic ramp, final level for the last 2·w (default 10 % of the steps).", minimum: 0)),
                ("score_lr", .number(description: "Learning rate of the score group.", exclusiveMinimum: 0, defaultValue: 0.01)),
                ("mlm_epochs", .integer(description: "Masked-LM pre-training epochs first (tinybert).", minimum: 0, maximum: 1000, defaultValue: 0)),
                ("mlm_corpus", .string(description: "Masked-LM text: the task's training texts, or the training parts of every shipped text set (SST-2, TREC, SMS spam; 16,832 sentences) encoded with the job's vocabulary.",
                                       choices: ["task", "shipped"], defaultValue: "task")),
                ("distill", .boolean(description: "Distil from a dense teacher fine-tuned on the task.", defaultValue: false)),
                ("temperature", .number(description: "Distillation temperature T.", exclusiveMinimum: 0, defaultValue: 2)),
                ("alpha_distil", .number(description: "Weight of the distillation term (α_ce = 1 − α_distil).", minimum: 0, maximum: 1, defaultValue: 0.5)),
                ("prunable", JSONSchema.prunable),
            ])
        }
    }

    public static let id = "movement"
    public static let summary = "Learn scores from weight movement during fine-tuning (hard top-v or soft σ-threshold), on a cubic sparsity schedule."
    public static let reference = "Sanh, Wolf, Rush. Movement Pruning: Adaptive Sparsity by Fine-Tuning. NeurIPS 2020."
    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    var mode: String { settings.mode ?? "hard" }

    func mlmConfig(_ context: PipelineContext) -> TrainingConfig {
        var config = context.spec.train
        config.epochs = settings.mlmEpochs ?? 0
        config.steps = nil
        return config
    }

    /// The masked-LM training set: nil for the task's own training split.
    func mlmDataset(_ context: PipelineContext) throws -> TextDataset? {
        guard settings.mlmCorpus == "shipped" else { return nil }
        guard let vocabulary = context.data.vocabulary, case let .tokens(_, length) = context.data.input else {
            throw PruningError.unsupportedModel(method: Self.id, detail: "mlm_corpus 'shipped' needs a text data set")
        }
        return try PretrainingCorpus.shipped(from: context.data.directory).encoded(with: vocabulary, sequenceLength: length)
    }

    /// Steps of the masked-LM phase (over the shipped corpus when chosen — its sentence count only,
    /// nothing is encoded here; the task's split if the corpus cannot be read — `run` then reports
    /// the error).
    func mlmSteps(_ context: PipelineContext) -> Int {
        let config = mlmConfig(context)
        guard settings.mlmCorpus == "shipped", let corpus = try? PretrainingCorpus.shipped(from: context.data.directory) else {
            return context.steps(config)
        }
        return config.totalSteps(batchesPerEpoch: (corpus.count + config.batchSize - 1) / config.batchSize)
    }

    public func plan(_ context: PipelineContext) -> [PlannedPhase] {
        var phases: [PlannedPhase] = []
        if (settings.mlmEpochs ?? 0) > 0 { phases.append(PlannedPhase(name: "pretrain-mlm", steps: mlmSteps(context))) }
        if settings.distill == true { phases.append(PlannedPhase(name: "teacher", steps: context.steps(context.spec.train))) }
        return phases + [PlannedPhase(name: "movement", steps: context.steps(context.spec.train)), PlannedPhase(name: "finalize", steps: 0)]
    }

    public func schedule(_ context: PipelineContext) -> ThresholdSchedule {
        let total = context.steps(context.spec.train)
        let warmup = settings.warmupSteps ?? Swift.max(total / 10, 1)
        return mode == "soft"
            ? ThresholdSchedule(total: total, warmup: warmup, initial: 0, final: settings.threshold ?? 0.1)
            : ThresholdSchedule(total: total, warmup: warmup, initial: 1, final: settings.remaining ?? 0.1)
    }

    public func run(_ context: PipelineContext) throws {
        let model = context.model
        if (settings.mlmEpochs ?? 0) > 0 {
            guard let bert = model as? TinyBert else {
                throw PruningError.unsupportedModel(method: Self.id, detail: "masked-LM pre-training needs tinybert")
            }
            try context.phase("pretrain-mlm") {
                var rng = RandomGenerator(seed: context.spec.seed ^ 0x313)
                let vocabulary = bert.tokens.weight.shape[0]
                let mlm = MaskedLanguageModeling(dim: bert.tokens.weight.shape[1], vocabulary: vocabulary, rng: &rng)
                var hooks = TrainingHooks()
                hooks.loss = { batch, forward in mlm.loss(bert, batch: batch, context: forward) }
                let optimizer = try context.spec.train.optimizer.make(
                    parameters: model.namedParameters() + mlm.head.namedParameters(prefix: "mlm_head."))
                try context.train(mlmConfig(context), hooks: hooks, optimizer: optimizer,
                                  variant: TrainingVariant(dataset: try mlmDataset(context)))
            }
        }
        if settings.distill == true {
            try context.phase("teacher") {
                let teacher = try context.data.makeModel(context.spec.model, seed: context.spec.seed)
                try copyWeights(from: model, to: teacher)
                let teacherContext = try PipelineContext(model: teacher, data: context.data, spec: context.spec)
                try teacherContext.phase("teacher") { try teacherContext.train(context.spec.train) }
                for (path, p) in teacher.namedParameters() { context.stash["teacher.\(path)"] = p.value.detached() }
                for (path, b) in teacher.namedBuffers() { if let t = b.tensor { context.stash["teacher.\(path)"] = t } }
            }
        }
        try runMovement(context)
    }

    private func copyWeights(from source: Module, to target: Module) throws {
        var tensors: [String: Tensor] = [:], counters: [String: Int] = [:]
        for (key, value) in source.stateDict() {
            if case let .tensor(t) = value { tensors[key] = t }
            if case let .int64(v, _) = value { counters[key] = v.first ?? 0 }
        }
        try target.loadStateDict(tensors, counters: counters)
    }

    /// Mutable step counter shared by the forward passes and the hooks.
    final class Clock: @unchecked Sendable { var step = 0 }

    private func runMovement(_ context: PipelineContext) throws {
        let model = context.model
        let schedule = schedule(context)
        let clock = Clock()
        clock.step = Int(context.notes["movement.step"] ?? "0") ?? 0
        var scores: [(path: String, parameter: Parameter)] = []
        for path in context.prunablePaths {
            let initial = context.stash["score.\(path)"] ?? .zeros(model.parameter(at: path)!.shape)
            scores.append(("score.\(path)", Parameter(initial, role: .other)))
        }
        context.beforeSnapshot = {
            for (name, score) in scores { context.stash[name] = score.value.detached() }
            context.notes["movement.step"] = "\(clock.step)"
        }
        let mode = self.mode
        for (name, score) in scores {
            let path = String(name.dropFirst("score.".count))
            model.parameter(at: path)!.reparameterization = { w in
                MovementPruning.masked(w, score: score.value, mode: mode, level: schedule.threshold(at: clock.step))
            }
        }
        defer { for path in context.prunablePaths { model.parameter(at: path)!.reparameterization = nil } }
        try context.phase("movement") {
            var hooks = TrainingHooks()
            hooks.afterStep = { position in clock.step = position.step }
            if mode == "soft" {
                let lambda = settings.lambda ?? 400
                hooks.regularizer = { _ in
                    let weight = schedule.regularization(at: clock.step, final: lambda)
                    guard weight > 0 else { return nil }
                    let terms = scores.map { $0.parameter.value.sigmoid().mean() }
                    return terms.dropFirst().reduce(terms[0], +).scaled(by: weight / Double(terms.count))
                }
            }
            if settings.distill == true {
                let teacher = try context.data.makeModel(context.spec.model, seed: context.spec.seed)
                var tensors: [String: Tensor] = [:]
                for (key, value) in context.stash where key.hasPrefix("teacher.") { tensors[String(key.dropFirst(8))] = value }
                let counters = Dictionary(uniqueKeysWithValues: teacher.namedBuffers().compactMap { p, b -> (String, Int)? in
                    if case .count = b.value { return (p, 0) } else { return nil } })
                try teacher.loadStateDict(tensors, counters: counters)
                let (t, alpha) = (settings.temperature ?? 2, settings.alphaDistil ?? 0.5)
                hooks.loss = { batch, forward in
                    let logits = model.forward(batch.input, context: forward)
                    let target = Engine.withoutGrad { teacher.forward(batch.input, context: .evaluation) }
                    let loss = crossEntropy(logits: logits, labels: batch.labels).scaled(by: 1 - alpha)
                        + klDivergence(studentLogits: logits, teacherLogits: target, temperature: t).scaled(by: alpha)
                    return CustomLoss(loss: loss, logits: logits)
                }
            }
            // Embeddings stay frozen at their (pre-)trained values during fine-tuning, as in the reference.
            let frozen = model.namedParameters().filter { $0.parameter.role == .embedding }
            for (_, p) in frozen { p.trainable = false }
            defer { for (_, p) in frozen { p.trainable = true } }
            let weights = model.namedParameters().filter { $0.parameter.trainable }
            var groups = [ParameterGroup(parameters: weights, learningRate: context.spec.train.optimizer.lr,
                                         weightDecay: context.spec.train.optimizer.weightDecay ?? 0)]
            if mode != "magnitude" { groups.append(ParameterGroup(parameters: scores, learningRate: settings.scoreLR ?? 0.01)) }
            let config = context.spec.train.optimizer
            let optimizer: any Optimizer = config.name == "sgd"
                ? try SGD(groups: groups, momentum: config.momentum ?? 0, nesterov: config.nesterov ?? false)
                : try Adam(groups: groups, decoupled: config.name == "adamw")
            try context.train(context.spec.train, hooks: hooks, optimizer: optimizer)
        }
        try context.phase("finalize") {
            var masks: [String: Tensor] = [:]
            let level = schedule.final
            for (name, score) in scores {
                let path = String(name.dropFirst("score.".count))
                let w = model.parameter(at: path)!.value
                masks[path] = MovementPruning.mask(w: w, score: score.value, mode: mode, level: level)
                model.parameter(at: path)!.reparameterization = nil
            }
            try context.prune(MaskSet(masks), event: "movement \(mode)")
        }
        context.beforeSnapshot = nil
    }

    /// The binary mask at `level` (kept fraction for hard/magnitude, sigmoid threshold for soft).
    public static func mask(w: Tensor, score: Tensor, mode: String, level: Double) -> Tensor {
        let n = score.count
        switch mode {
        case "magnitude":
            return Tensor(shape: w.shape, scalars: TopMask.keepLargest(w.doubles.map { Swift.abs($0) }, keep: Int((level * Double(n)).rounded())))
        case "soft":
            let sig = Engine.withoutGrad { score.detached().sigmoid() }.doubles
            var mask = sig.map { Float($0 > level ? 1 : 0) }
            let floor = n / 200 + 1
            if Int(mask.reduce(0, +)) < floor { mask = TopMask.keepLargest(sig, keep: floor) }
            return Tensor(shape: score.shape, scalars: mask)
        default:
            return Tensor(shape: score.shape, scalars: TopMask.keepLargest(score.doubles, keep: Int((level * Double(n)).rounded())))
        }
    }

    /// `W ⊙ (M + f(S) − stop_grad(f(S)))` with f = identity (hard) or σ (soft): forward exactly `W ⊙ M`,
    /// and `∂L/∂S = (∂L/∂W′) ⊙ W` (times σ′ for soft). Magnitude mode passes no gradient to S.
    public static func masked(_ w: Tensor, score: Tensor, mode: String, level: Double) -> Tensor {
        let m = mask(w: w.detached(), score: score, mode: mode, level: level).cast(to: w.dtype)
        switch mode {
        case "magnitude": return w * m
        case "soft":
            let s = score.sigmoid()
            return w * (m + (s - s.detached()))
        default:
            return w * (m + (score - score.detached()))
        }
    }
}
