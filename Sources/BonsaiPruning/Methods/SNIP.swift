/// SNIP: single-shot network pruning at initialisation by connection sensitivity (Lee, Ajanthan,
/// Torr, ICLR 2019; METHODS.md §3.1).
///
/// Pipeline: `prune` scores `|g ⊙ w|` (``SNIPScore``) at initialisation on `samples` training
/// examples (default `10 × #classes`, SynFlow's benchmark setting; the SNIP paper used one batch
/// of 100 MNIST / 128 CIFAR images) in batches of `batch_size` (gradients summed over batches
/// before the absolute value), keeps the top `1 − s` fraction globally (default) or per tensor with
/// the exact selector, then `train` trains the sparse network from its initial values with the
/// masks fixed (the spec's `train` phase).
///
/// Choices: only the prunable set (conv and linear weights by default) is scored and pruned, as in
/// the SynFlow re-implementation (the TF original also prunes biases); batch norm uses batch
/// statistics while scoring (`train_mode`, default true, as the original's training-mode graph),
/// and the running statistics are left untouched.
public struct SNIP: PruningMethod {
    public struct Settings: MethodSettings, HasPrunableSet {
        public var sparsity: Double?
        public var scope: Scope?
        public var samples: Int?
        public var batchSize: Int?
        public var trainMode: Bool?
        public var train: Bool?
        public var prunable: PrunableSet?

        enum CodingKeys: String, CodingKey {
            case sparsity, scope, samples, train, prunable
            case batchSize = "batch_size"
            case trainMode = "train_mode"
        }

        public init() {}

        public func validate() throws {
            try Check.fraction(sparsity, "sparsity")
            try Check.range(samples, "samples", 1...100_000)
            try Check.range(batchSize, "batch_size", 1...4096)
        }

        public static var schema: JSONSchema {
            .object(properties: [
                ("sparsity", .number(description: "Fraction of prunable weights removed at initialisation.", minimum: 0, maximum: 1, defaultValue: 0.9)),
                ("scope", .string(description: "One threshold over all prunable tensors (the paper), or the same sparsity per tensor.",
                                  choices: Scope.allCases.map(\.rawValue), defaultValue: "global")),
                ("samples", .integer(description: "Training examples scored on (default 10 × number of classes).", minimum: 1, maximum: 100_000)),
                ("batch_size", .integer(description: "Batch size of the scoring passes; gradients are summed over batches.", minimum: 1, maximum: 4096, defaultValue: 256)),
                ("train_mode", .boolean(description: "Batch norm uses batch statistics while scoring.", defaultValue: true)),
                ("train", .boolean(description: "Train the pruned network afterwards (the spec's train phase).", defaultValue: true)),
                ("prunable", JSONSchema.prunable),
            ])
        }
    }

    public static let id = "snip"
    public static let summary = "Prune at initialisation by connection sensitivity |g ⊙ w| on a few batches, then train (SNIP)."
    public static let reference = "Lee, Ajanthan, Torr. SNIP: Single-shot Network Pruning based on Connection Sensitivity. ICLR 2019."
    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    public func plan(_ context: PipelineContext) -> [PlannedPhase] {
        [PlannedPhase(name: "prune", steps: 0)]
            + (settings.train ?? true ? [PlannedPhase(name: "train", steps: context.steps(context.spec.train))] : [])
    }

    public func run(_ context: PipelineContext) throws {
        try context.phase("prune") {
            let batches = try PruneData.firstExamples(context.data.loader, count: settings.samples ?? 10 * context.data.classes,
                                                      batchSize: settings.batchSize ?? 256)
            let scores = SNIPScore.scores(context.model, paths: context.prunablePaths, batches: batches,
                                          training: settings.trainMode ?? true)
            let masks = TopK.select(scores, sparsity: settings.sparsity ?? 0.9, scope: settings.scope ?? .global, model: context.model)
            try context.prune(masks, event: "snip at init")
        }
        if settings.train ?? true {
            try context.phase("train") { try context.train(context.spec.train) }
        }
    }
}
