/// Random tickets with smart ratios (Su et al., NeurIPS 2020; METHODS.md §9.3): data-free per-layer
/// keep counts from ``SmartRatio`` (linear layers fixed at keep ratio 0.3, the rest decaying
/// quadratically with depth, scaled to the target), and a uniformly random mask inside each layer.
/// The network then trains from its initialisation.
///
/// Pipeline: `prune` (at initialisation, no data) → `train` (the spec's train phase). Seeded by the
/// job seed (or the `seed` setting). See ``SmartRatio`` for the formula and the three small,
/// recorded departures from the reference code (full overflow carry, exact total, all-linear rule).
public struct RandomTicket: PruningMethod {
    public struct Settings: MethodSettings, HasPrunableSet {
        public var sparsity: Double?
        public var linearKeepRatio: Double?
        public var decay: SmartRatio.Decay?
        public var family: SmartRatio.Family?
        public var seed: UInt64?
        public var prunable: PrunableSet?

        enum CodingKeys: String, CodingKey {
            case sparsity, decay, family, seed, prunable
            case linearKeepRatio = "linear_keep_ratio"
        }

        public init() {}

        public func validate() throws {
            try Check.fraction(sparsity, "sparsity")
            try Check.fraction(linearKeepRatio, "linear_keep_ratio")
        }

        public static var schema: JSONSchema {
            .object(properties: SmartRatio.schemaProperties + [
                ("seed", .integer(description: "Mask seed (default: derived from the job seed).", minimum: 0)),
                ("prunable", JSONSchema.prunable),
            ])
        }
    }

    public static let id = "random-ticket"
    public static let summary = "Random ticket: smart per-layer ratios (quadratic decay, linear layers 30 %) and random masks inside each layer, at initialisation."
    public static let reference = "Su, Chen, Cai, Wu, Gao, Wang, Lee. Sanity-Checking Pruning Methods: Random Tickets can Win the Jackpot. NeurIPS 2020."
    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    public func plan(_ context: PipelineContext) -> [PlannedPhase] {
        [PlannedPhase(name: "prune", steps: 0), PlannedPhase(name: "train", steps: context.steps(context.spec.train))]
    }

    public func run(_ context: PipelineContext) throws {
        try context.phase("prune") {
            let kept = try SmartRatio.keptCounts(context.model, paths: context.prunablePaths, sparsity: settings.sparsity ?? 0.9,
                                                 linearKeepRatio: settings.linearKeepRatio ?? 0.3, decay: settings.decay ?? .quadratic,
                                                 family: settings.family ?? .auto)
            try context.prune(RandomMasks.masks(context.model, kept: kept, seed: settings.seed ?? (context.spec.seed ^ 0x5A47_7000)),
                              event: "random ticket")
        }
        try context.phase("train") { try context.train(context.spec.train) }
    }
}
