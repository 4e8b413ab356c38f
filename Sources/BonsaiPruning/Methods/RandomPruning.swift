/// Random pruning: a uniformly random mask with exact counts, the control every pruning paper
/// compares against (open_lth `randomly_prune` branch; SynFlow's `Rand`). Seeded: the same spec
/// seed (and `seed` setting) gives the same mask.
///
/// * `scope: layerwise` keeps `N_l − round(s·N_l)` weights of every tensor (open_lth `even`);
/// * `scope: global` keeps `N − round(s·N)` weights drawn uniformly from the whole prunable set;
/// * `layer_sparsities` gives each prunable tensor its own sparsity (in prunable-set order), e.g.
///   another method's per-layer ratios: that is the *rearranged* version of its mask (§9.2).
///
/// Pipeline: `prune` at initialisation then `train` (the spec's train phase); with `pretrain`,
/// `pretrain` → `prune` → `finetune` instead.
public struct RandomPruning: PruningMethod {
    public struct Settings: MethodSettings, HasPrunableSet {
        public var sparsity: Double?
        public var scope: Scope?
        public var layerSparsities: [Double]?
        public var pretrain: Bool?
        public var seed: UInt64?
        public var prunable: PrunableSet?

        enum CodingKeys: String, CodingKey {
            case sparsity, scope, pretrain, seed, prunable
            case layerSparsities = "layer_sparsities"
        }

        public init() {}

        public func validate() throws {
            try Check.fraction(sparsity, "sparsity")
            if let layerSparsities {
                if sparsity != nil || scope != nil {
                    throw PruningError.invalidSetting(field: "layer_sparsities", detail: "replaces sparsity and scope; give one or the other")
                }
                for (i, s) in layerSparsities.enumerated() { try Check.fraction(s, "layer_sparsities.\(i)") }
            }
        }

        public static var schema: JSONSchema {
            .object(properties: [
                ("sparsity", .number(description: "Fraction of prunable weights removed.", minimum: 0, maximum: 1, defaultValue: 0.9)),
                ("scope", .string(description: "The same sparsity in every tensor, or one draw over all prunable weights.",
                                  choices: Scope.allCases.map(\.rawValue), defaultValue: "layerwise")),
                ("layer_sparsities", .array(description: "Sparsity of each prunable tensor, in prunable-set order (instead of sparsity/scope).",
                                            items: .number(description: "Sparsity of one tensor", minimum: 0, maximum: 1))),
                ("pretrain", .boolean(description: "Train first, prune, then fine-tune (default: prune at initialisation, then train).", defaultValue: false)),
                ("seed", .integer(description: "Mask seed (default: derived from the job seed).", minimum: 0)),
                ("prunable", JSONSchema.prunable),
            ])
        }
    }

    public static let id = "random"
    public static let summary = "Uniformly random mask with exact counts (global, per layer, or given per-layer ratios); seeded."
    public static let reference = "The random-pruning control of Frankle & Carbin (ICLR 2019) and later work."
    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    public func plan(_ context: PipelineContext) -> [PlannedPhase] {
        settings.pretrain == true
            ? [PlannedPhase(name: "pretrain", steps: context.steps(context.spec.train)), PlannedPhase(name: "prune", steps: 0),
               PlannedPhase(name: "finetune", steps: context.steps(context.spec.finetuneConfig))]
            : [PlannedPhase(name: "prune", steps: 0), PlannedPhase(name: "train", steps: context.steps(context.spec.train))]
    }

    public func run(_ context: PipelineContext) throws {
        if settings.pretrain == true {
            try context.phase("pretrain") { try context.train(context.spec.train) }
        }
        try context.phase("prune") { try context.prune(masks(context), event: "random") }
        if settings.pretrain == true {
            try context.phase("finetune") { try context.train(context.spec.finetuneConfig) }
        } else {
            try context.phase("train") { try context.train(context.spec.train) }
        }
    }

    /// The random masks for `context`'s prunable set.
    public func masks(_ context: PipelineContext) throws -> MaskSet {
        let paths = context.prunablePaths
        let seed = settings.seed ?? (context.spec.seed ^ 0x7A4D_0000)
        let sizes = paths.map { context.model.parameter(at: $0)!.value.count }
        if let layer = settings.layerSparsities {
            guard layer.count == paths.count else {
                throw PruningError.invalidSetting(field: "layer_sparsities", detail: "\(layer.count) values for \(paths.count) prunable tensors (\(paths.joined(separator: ", ")))")
            }
            return RandomMasks.masks(context.model, kept: paths.indices.map { (paths[$0], sizes[$0] - Int((layer[$0] * Double(sizes[$0])).rounded())) }, seed: seed)
        }
        let s = settings.sparsity ?? 0.9
        switch settings.scope ?? .layerwise {
        case .layerwise:
            return RandomMasks.masks(context.model, kept: paths.indices.map { (paths[$0], sizes[$0] - Int((s * Double(sizes[$0])).rounded())) }, seed: seed)
        case .global:
            return RandomMasks.globalMask(context.model, paths: paths, sparsity: s, seed: seed)
        }
    }
}
