/// Magnitude pruning, train → prune → fine-tune (Han et al., NeurIPS 2015), one-shot or iterative.
///
/// Pipeline: `pretrain` (the spec's `train` phase, unless `pretrain` is false), then for each round
/// `r = 1…n`: `prune-r` keeps the largest-|w| weights to reach sparsity `1 − (1 − s)^{r/n}` (layer-wise
/// or global, exact counts, on top of the previous mask), and `finetune-r` trains with the masks fixed
/// (the spec's `finetune` phase). The quality-parameter threshold `q·std(W)` of the paper is replaced
/// by an exact target density, as METHODS.md §1.2 suggests.
public struct MagnitudePruning: PruningMethod {
    public struct Settings: MethodSettings, HasPrunableSet {
        public var sparsity: Double?
        public var scope: Scope?
        public var iterations: Int?
        public var pretrain: Bool?
        public var prunable: PrunableSet?

        public init() {}
        public init(sparsity: Double, scope: Scope = .global, iterations: Int = 1, pretrain: Bool = true) {
            self.sparsity = sparsity; self.scope = scope; self.iterations = iterations; self.pretrain = pretrain
        }

        public func validate() throws {
            try Check.fraction(sparsity, "sparsity")
            try Check.range(iterations, "iterations", 1...50)
        }

        public static var schema: JSONSchema {
            .object(properties: [
                ("sparsity", .number(description: "Target fraction of prunable weights removed.", minimum: 0, maximum: 1, defaultValue: 0.9)),
                ("scope", .string(description: "One threshold over all prunable tensors, or the same sparsity per tensor.",
                                  choices: Scope.allCases.map(\.rawValue), defaultValue: "global")),
                ("iterations", .integer(description: "Prune/fine-tune rounds (1 = one-shot).", minimum: 1, maximum: 50, defaultValue: 1)),
                ("pretrain", .boolean(description: "Train the dense model first (the spec's train phase).", defaultValue: true)),
                ("prunable", JSONSchema.prunable),
            ])
        }
    }

    public static let id = "magnitude"
    public static let summary = "Train, prune the smallest |w| (one-shot or iterative, global or layer-wise), fine-tune."
    public static let reference = "Han, Pool, Tran, Dally. Learning both Weights and Connections for Efficient Neural Networks. NeurIPS 2015."
    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    var rounds: Int { settings.iterations ?? 1 }

    public func plan(_ context: PipelineContext) -> [PlannedPhase] {
        var phases: [PlannedPhase] = settings.pretrain ?? true ? [PlannedPhase(name: "pretrain", steps: context.steps(context.spec.train))] : []
        for r in 1...rounds {
            phases.append(PlannedPhase(name: "prune-\(r)", steps: 0))
            phases.append(PlannedPhase(name: "finetune-\(r)", steps: context.steps(context.spec.finetuneConfig)))
        }
        return phases
    }

    public func run(_ context: PipelineContext) throws {
        if settings.pretrain ?? true {
            try context.phase("pretrain") { try context.train(context.spec.train) }
        }
        for r in 1...rounds {
            try context.phase("prune-\(r)") {
                let target = SparsitySchedule.iterativeSparsity(round: r, of: rounds, final: settings.sparsity ?? 0.9)
                let masks = TopK.select(MagnitudeScore.scores(context.model, paths: context.prunablePaths),
                                        sparsity: target, scope: settings.scope ?? .global, model: context.model)
                try context.prune(masks, event: "magnitude round \(r)")
            }
            try context.phase("finetune-\(r)") { try context.train(context.spec.finetuneConfig) }
        }
    }
}
