/// The lottery ticket hypothesis: iterative magnitude pruning (IMP) with the survivors reset to
/// their initial values (Frankle & Carbin, ICLR 2019), rewound to step k of the first training
/// (Frankle et al., ICML 2020), or kept trained while the learning-rate schedule is replayed
/// (learning-rate rewinding, Renda et al., ICLR 2020). METHODS.md §2, open_lth's `lottery/runner.py`.
///
/// Pipeline (T = the spec's train steps, k = the rewind step, θ_k stashed so a resume finds it):
///
/// 1. `level-0`: train the dense network from θ₀ for T steps; with `rewind: weights` the weights
///    at step k are stashed on the way (θ₀ is stashed before training for `rewind: init`).
/// 2. For each level ℓ = 1…L: `prune-ℓ` removes the `ceil(p · remaining)` smallest |θ_T| among the
///    live weights (global by default, or per tensor) and restarts: `init`/`weights` load the whole
///    stashed state (parameters, biases, BN buffers — open_lth reloads the checkpoint) with the new
///    mask on top; `learning-rate` keeps the trained weights. `level-ℓ` then trains from step k to T:
///    the schedule and the data order continue from step k (every level replays the first
///    training's batch order), with a fresh optimizer, as open_lth does.
/// 3. The ticket is the network after `level-L`. Density after L levels is ≈ (1 − p)^L
///    (0.8¹⁰ ≈ 10.7 %); with `sparsity` the last level stops exactly at `N − round(s·N)` kept.
///
/// Choices: exact `ceil(p·remaining)` counts (open_lth's strict `>` threshold removes one more; see
/// ``IMPSchedule``); the classifier is prunable unless `prunable.exclude_classifier` is set (open_lth's
/// default for LeNet and VGG is to exclude it). The `sanity` setting runs the §9.2 checks:
/// `random-labels` trains levels 0…L−1 (the ones whose weights choose the mask) on random labels and
/// only the ticket's own training on clean data; `rearrange`, `shuffle-weights` and `reinit` change
/// the ticket right before `level-L`.
public struct LotteryTicket: PruningMethod {
    public enum Rewind: String, Codable, Sendable, CaseIterable {
        /// Reset survivors to θ₀ (Frankle & Carbin 2019).
        case initial = "init"
        /// Rewind survivors to θ_k, the weights after k steps of the first training (Frankle et al. 2020).
        case weights
        /// Keep the trained weights, replay the learning-rate schedule from step k (Renda et al. 2020).
        case learningRate = "learning-rate"
    }

    public struct Settings: MethodSettings, HasPrunableSet {
        public var levels: Int?
        public var sparsity: Double?
        public var fraction: Double?
        public var rewind: Rewind?
        public var rewindStep: Int?
        public var scope: Scope?
        public var sanity: SanityCheck?
        public var prunable: PrunableSet?

        enum CodingKeys: String, CodingKey {
            case levels, sparsity, fraction, rewind, scope, sanity, prunable
            case rewindStep = "rewind_step"
        }

        public init() {}

        public func validate() throws {
            try Check.range(levels, "levels", 1...100)
            try Check.fraction(sparsity, "sparsity")
            if levels != nil && sparsity != nil {
                throw PruningError.invalidSetting(field: "sparsity", detail: "give levels or sparsity, not both")
            }
            try Check.fraction(fraction, "fraction", open: true)
            try Check.range(rewindStep, "rewind_step", 0...100_000_000)
            if (rewind ?? .initial) == .initial, let k = rewindStep, k != 0 {
                throw PruningError.invalidSetting(field: "rewind_step", detail: "rewind 'init' resets to step 0; use rewind 'weights' to rewind to step \(k)")
            }
        }

        public static var schema: JSONSchema {
            .object(properties: [
                ("levels", .integer(description: "Pruning levels L (density ≈ (1−p)^L). Default 10 unless sparsity is given.", minimum: 1, maximum: 100, defaultValue: 10)),
                ("sparsity", .number(description: "Target sparsity instead of levels: prune until reached, the last level exactly.", minimum: 0, maximum: 1)),
                ("fraction", .number(description: "Fraction p of the remaining weights pruned per level (open_lth: 0.2).", exclusiveMinimum: 0, exclusiveMaximum: 1, defaultValue: 0.2)),
                ("rewind", .string(description: "How each level restarts: reset to θ₀, rewind to θ_k, or keep the weights and rewind the learning rate.",
                                   choices: Rewind.allCases.map(\.rawValue), defaultValue: "init")),
                ("rewind_step", .integer(description: "k: the step rewound to (weights: default 5 % of the train steps; learning-rate: default 0).", minimum: 0)),
                ("scope", .string(description: "Global magnitude threshold (open_lth) or the same fraction per tensor.", choices: Scope.allCases.map(\.rawValue), defaultValue: "global")),
                ("sanity", SanityCheck.schema),
                ("prunable", JSONSchema.prunable),
            ])
        }
    }

    public static let id = "lottery-ticket"
    public static let summary = "Iterative magnitude pruning with reset to θ₀, rewinding to θ_k, or learning-rate rewinding (lottery tickets)."
    public static let reference = "Frankle, Carbin. The Lottery Ticket Hypothesis. ICLR 2019; Frankle, Dziugaite, Roy, Carbin. Linear Mode Connectivity and the Lottery Ticket Hypothesis. ICML 2020; Renda, Frankle, Carbin. Comparing Rewinding and Fine-tuning in Neural Network Pruning. ICLR 2020."
    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    var fraction: Double { settings.fraction ?? 0.2 }
    var rewind: Rewind { settings.rewind ?? .initial }
    var scope: Scope { settings.scope ?? .global }
    var sanity: SanityCheck { settings.sanity ?? .none }

    /// k, clamped to the train phase's length T.
    func rewindStep(totalSteps: Int) -> Int {
        switch rewind {
        case .initial: return 0
        case .weights: return Swift.min(totalSteps, settings.rewindStep ?? Swift.max(1, totalSteps / 20))
        case .learningRate: return Swift.min(totalSteps, settings.rewindStep ?? 0)
        }
    }

    /// Each scope group (the whole prunable set, or each tensor): its size and alive counts per level.
    func schedule(_ context: PipelineContext) -> [(total: Int, alive: [Int])] {
        let counts = context.prunablePaths.map { context.model.parameter(at: $0)!.value.count }
        let groups = scope == .global ? [counts.reduce(0, +)] : counts
        return groups.map { total in
            let target = settings.sparsity.map { total - Int(($0 * Double(total)).rounded()) }
            return (total, IMPSchedule.remaining(total: total, fraction: fraction, levels: target == nil ? (settings.levels ?? 10) : nil,
                                                 targetKept: target))
        }
    }

    /// Alive count of a group after `level` (a group that reached its target early stays there).
    static func alive(_ group: (total: Int, alive: [Int]), level: Int) -> Int {
        group.alive.isEmpty ? group.total : group.alive[Swift.min(level, group.alive.count) - 1]
    }

    public func plan(_ context: PipelineContext) -> [PlannedPhase] {
        let total = context.steps(context.spec.train), k = rewindStep(totalSteps: total)
        let levels = schedule(context).map(\.alive.count).max() ?? 0
        var phases = [PlannedPhase(name: "level-0", steps: total)]
        for level in stride(from: 1, through: levels, by: 1) {
            phases += [PlannedPhase(name: "prune-\(level)", steps: 0), PlannedPhase(name: "level-\(level)", steps: total - k)]
        }
        return phases
    }

    static let rewindPrefix = "lottery.rewind/"

    public func run(_ context: PipelineContext) throws {
        let config = context.spec.train
        let total = context.steps(config), k = rewindStep(totalSteps: total)
        let schedule = schedule(context)
        let levels = schedule.map(\.alive.count).max() ?? 0
        // Every level replays the first training's data order, so rewinding to k resumes it.
        let dataSeed = context.spec.seed &+ 0x10_77E7
        let corrupted = sanity.pruningData(context)
        try context.phase("level-0") {
            var hooks = TrainingHooks()
            if rewind != .learningRate {
                if k == 0 { stashRewindPoint(context) }
                hooks.afterStep = { position in if position.step == k { stashRewindPoint(context) } }
            }
            try context.train(config, hooks: hooks, variant: TrainingVariant(dataSeed: dataSeed, dataset: levels > 0 ? corrupted : nil))
        }
        for level in stride(from: 1, through: levels, by: 1) {
            try context.phase("prune-\(level)") {
                let masks = levelMasks(context, alive: schedule.map { Self.alive($0, level: level) })
                // Dense starting values, for a rearranged ticket's new positions.
                let dense = rewind == .learningRate ? ModelState(context.model) : ModelState(stash: context.stash, prefix: Self.rewindPrefix)
                try context.prune(masks, event: "IMP level \(level)")
                try restart(context)
                if level == levels { try sanity.prepareTicket(context, dense: dense?.tensors ?? [:]) }
            }
            try context.phase("level-\(level)") {
                try context.train(config, variant: TrainingVariant(startStep: k, dataSeed: dataSeed,
                                                                   dataset: level < levels ? corrupted : nil))
            }
        }
    }

    /// Stores the state to rewind to (θ₀ or θ_k) in the stash.
    func stashRewindPoint(_ context: PipelineContext) {
        // A resumed phase already has it (and the model is past the point by then).
        guard ModelState(stash: context.stash, prefix: Self.rewindPrefix) == nil else { return }
        ModelState(context.model).store(in: &context.stash, prefix: Self.rewindPrefix)
    }

    /// Resets the survivors to the rewind point (or keeps them, for learning-rate rewinding).
    func restart(_ context: PipelineContext) throws {
        guard rewind != .learningRate else { return }
        guard let state = ModelState(stash: context.stash, prefix: Self.rewindPrefix) else {
            throw PruningError.invalidSetting(field: "rewind_step", detail: "no weights were stored at step \(rewindStep(totalSteps: context.steps(context.spec.train)))")
        }
        try state.load(into: context.model)
    }

    /// Masks keeping `alive[g]` weights of each scope group by magnitude, on top of the current masks.
    func levelMasks(_ context: PipelineContext, alive: [Int]) -> MaskSet {
        let scores = MagnitudeScore.scores(context.model, paths: context.prunablePaths)
        func select(_ entries: ScoreSet, kept: Int) -> MaskSet {
            let n = entries.entries.reduce(0) { $0 + $1.scores.count }
            return TopK.select(entries, sparsity: Double(n - kept) / Double(n), scope: .global, model: context.model)
        }
        if scope == .global { return select(scores, kept: alive[0]) }
        var result = MaskSet()
        for (i, entry) in scores.entries.enumerated() {
            for (path, mask) in select(ScoreSet([entry]), kept: alive[i]).masks { result[path] = mask }
        }
        return result
    }
}
