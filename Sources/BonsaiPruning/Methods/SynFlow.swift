/// SynFlow: data-free pruning at initialisation by iteratively conserving synaptic flow (Tanaka,
/// Kunin, Yamins, Ganguli, NeurIPS 2020; METHODS.md §4, following `ganguli-lab/Synaptic-Flow`
/// `prune.py::prune_loop` and `Pruners/pruners.py::SynFlow`).
///
/// Pipeline: `prune` runs `iterations` (default 100) rounds of: score `|θ ⊙ ∂R/∂θ|` on the
/// linearised network (``SynFlowScore``: every parameter and buffer as its absolute value, eval
/// mode, all-ones input of batch 1, Float64, the previous round's masks applied), then keep the
/// top `ρ_k = ρ^{k/n}` (exponential schedule; `linear`: `1 − (1 − ρ)k/n`) of the prunable weights
/// globally (default) or per tensor. Then `train` trains the sparse network from its initial values
/// with the masks fixed (the spec's `train` phase).
///
/// Differences from the reference, by design: the selector is the framework's exact top-k (ties
/// by position, exactly `round(s·N)` pruned, a pruned weight never revived) instead of `score ≤ τ`,
/// and scoring is always in Float64 (the reference's `model.double()` is commented out after a bug).
/// The model's parameters, signs, dtype and buffers are restored after every scoring pass, and the
/// final masks are applied once, as one pruning event. No data is read: the masks depend only on
/// the weights (and not on their signs).
public struct SynFlow: PruningMethod {
    public struct Settings: MethodSettings, HasPrunableSet {
        public var sparsity: Double?
        public var scope: Scope?
        public var iterations: Int?
        public var schedule: SynFlowSchedule?
        public var train: Bool?
        public var prunable: PrunableSet?

        public init() {}

        public func validate() throws {
            try Check.fraction(sparsity, "sparsity")
            try Check.range(iterations, "iterations", 1...10_000)
        }

        public static var schema: JSONSchema {
            .object(properties: [
                ("sparsity", .number(description: "Fraction of prunable weights removed at initialisation.", minimum: 0, maximum: 1, defaultValue: 0.9)),
                ("scope", .string(description: "One threshold over all prunable tensors (the paper), or the same sparsity per tensor.",
                                  choices: Scope.allCases.map(\.rawValue), defaultValue: "global")),
                ("iterations", .integer(description: "Score-and-prune rounds (paper: 100; 1 = single shot, which collapses).", minimum: 1, maximum: 10_000, defaultValue: 100)),
                ("schedule", .string(description: "How the density falls over the rounds.", choices: SynFlowSchedule.allCases.map(\.rawValue), defaultValue: "exponential")),
                ("train", .boolean(description: "Train the pruned network afterwards (the spec's train phase).", defaultValue: true)),
                ("prunable", JSONSchema.prunable),
            ])
        }
    }

    public static let id = "synflow"
    public static let summary = "Prune at initialisation without data by iteratively conserving synaptic flow (SynFlow, 100 rounds), then train."
    public static let reference = "Tanaka, Kunin, Yamins, Ganguli. Pruning neural networks without any data by iteratively conserving synaptic flow. NeurIPS 2020."
    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    public func plan(_ context: PipelineContext) -> [PlannedPhase] {
        [PlannedPhase(name: "prune", steps: 0)]
            + (settings.train ?? true ? [PlannedPhase(name: "train", steps: context.steps(context.spec.train))] : [])
    }

    /// The shape of one input sample; SynFlow's all-ones input needs a dense input.
    static func sampleShape(_ input: InputKind) throws -> [Int] {
        switch input {
        case let .image(channels, height, width): return [channels, height, width]
        case .tokens:
            throw PruningError.unsupportedModel(method: id, detail: "SynFlow feeds an all-ones dense input; token models are not supported")
        }
    }

    public func run(_ context: PipelineContext) throws {
        try context.phase("prune") {
            let shape = try Self.sampleShape(context.data.input)
            let iterations = settings.iterations ?? 100
            let masks = SynFlowScore.iterativeMasks(context.model, paths: context.prunablePaths, sampleShape: shape,
                                                    sparsity: settings.sparsity ?? 0.9, iterations: iterations,
                                                    schedule: settings.schedule ?? .exponential, scope: settings.scope ?? .global)
            try context.prune(masks, event: "synflow at init (\(iterations) iterations)")
        }
        if settings.train ?? true {
            try context.phase("train") { try context.train(context.spec.train) }
        }
    }
}
