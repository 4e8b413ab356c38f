/// Hybrid tickets (Su et al., NeurIPS 2020; METHODS.md §9.4): the smart-ratio per-layer counts of
/// ``RandomTicket``, but inside each layer the weights of largest magnitude of the loaded model are
/// kept instead of a random subset.
///
/// Pipeline (the paper's variant, learning-rate rewinding with smart-ratio budgets): `pretrain`
/// (the spec's train phase) → `prune` (per-layer top-|w| with the smart-ratio counts, exact, ties by
/// position) → `retrain` (the train phase's full schedule again, from the trained weights). With
/// `pretrain: false` the initial weights are ranked and the ticket trains from initialisation (the
/// code's `--model` pointing at the initial checkpoint). The `sanity` setting runs the §9.2 checks
/// (random labels during pretraining; rearranged mask, shuffled or re-initialised weights before
/// retraining).
public struct HybridTicket: PruningMethod {
    public struct Settings: MethodSettings, HasPrunableSet {
        public var sparsity: Double?
        public var linearKeepRatio: Double?
        public var decay: SmartRatio.Decay?
        public var family: SmartRatio.Family?
        public var pretrain: Bool?
        public var sanity: SanityCheck?
        public var prunable: PrunableSet?

        enum CodingKeys: String, CodingKey {
            case sparsity, decay, family, pretrain, sanity, prunable
            case linearKeepRatio = "linear_keep_ratio"
        }

        public init() {}

        public func validate() throws {
            try Check.fraction(sparsity, "sparsity")
            try Check.fraction(linearKeepRatio, "linear_keep_ratio")
            if pretrain == false, sanity == .randomLabels {
                throw PruningError.invalidSetting(field: "sanity", detail: "random-labels corrupts the pretraining; it needs pretrain")
            }
        }

        public static var schema: JSONSchema {
            .object(properties: SmartRatio.schemaProperties + [
                ("pretrain", .boolean(description: "Rank the trained weights and retrain with the full schedule (learning-rate rewinding); false ranks the initial weights.", defaultValue: true)),
                ("sanity", SanityCheck.schema),
                ("prunable", JSONSchema.prunable),
            ])
        }
    }

    public static let id = "hybrid-ticket"
    public static let summary = "Hybrid ticket: smart per-layer ratios with the largest-|w| weights of the trained model in each layer, retrained with the full schedule."
    public static let reference = "Su, Chen, Cai, Wu, Gao, Wang, Lee. Sanity-Checking Pruning Methods: Random Tickets can Win the Jackpot. NeurIPS 2020."
    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    var pretrain: Bool { settings.pretrain ?? true }

    public func plan(_ context: PipelineContext) -> [PlannedPhase] {
        let steps = context.steps(context.spec.train)
        return (pretrain ? [PlannedPhase(name: "pretrain", steps: steps)] : [])
            + [PlannedPhase(name: "prune", steps: 0), PlannedPhase(name: pretrain ? "retrain" : "train", steps: steps)]
    }

    public func run(_ context: PipelineContext) throws {
        let sanity = settings.sanity ?? .none
        if pretrain {
            try context.phase("pretrain") {
                try context.train(context.spec.train, variant: TrainingVariant(dataset: sanity.pruningData(context)))
            }
        }
        try context.phase("prune") {
            let kept = try SmartRatio.keptCounts(context.model, paths: context.prunablePaths, sparsity: settings.sparsity ?? 0.9,
                                                 linearKeepRatio: settings.linearKeepRatio ?? 0.3, decay: settings.decay ?? .quadratic,
                                                 family: settings.family ?? .auto)
            let scores = MagnitudeScore.scores(context.model, paths: context.prunablePaths)
            var masks = MaskSet()
            for (i, entry) in scores.entries.enumerated() {
                let n = entry.scores.count
                let selected = TopK.select(ScoreSet([entry]), sparsity: Double(n - kept[i].count) / Double(n), scope: .global, model: context.model)
                masks[entry.path] = selected[entry.path]
            }
            let dense = ModelState(context.model).tensors
            try context.prune(masks, event: "hybrid ticket")
            try sanity.prepareTicket(context, dense: dense)
        }
        try context.phase(pretrain ? "retrain" : "train") { try context.train(context.spec.train) }
    }
}
