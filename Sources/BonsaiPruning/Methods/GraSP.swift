/// GraSP: pruning at initialisation by preserving gradient flow (Wang, Zhang, Grosse, ICLR 2020;
/// METHODS.md §3.2, following `alecwangcq/GraSP` `pruner/GraSP.py`).
///
/// Pipeline: `prune` then `train` (the spec's `train` phase, masks fixed, from the initial values).
/// The prune phase follows the reference step by step:
/// 1. Score a *copy* of the network whose linear layers are re-initialised Xavier-normal
///    (`reinit`, default true; seeded by the job seed). The copy is never materialised: the
///    re-initialised values replace the weights for the duration of the scoring only.
/// 2. Sample `samples_per_class` training examples of every class (default 10, the reference's
///    CIFAR configs; its function default is 25), ordered class by class, and split them in two
///    halves (``PruneData/classBalancedHalves(_:classes:perClass:)``); `num_iters = 1`.
/// 3–4. `g = Σ_h ∇L_h` and `Hg = Σ_h ∇⟨g, ∇L_h⟩` with `L_h = CE(f(x_h)/T, y_h)`, `T = 200`
///    (``GraSPScore``; `Hg` by finite differences of gradients in Float64).
/// 5–6. `S = −θ ⊙ Hg` with θ the scored copy's weights; remove the `s·N` weights with the **largest**
///    `S` (global by default), exact counts with ties broken by position (the reference keeps
///    `S/norm ≤ τ`, which can keep one more on ties; the normalisation by `|ΣS| + 1e-10` does not
///    change the ranking and is omitted).
/// 7. Apply the masks to the original network.
///
/// Batch norm uses batch statistics while scoring (`train_mode`, default true: the reference's copy
/// is in training mode); running statistics are restored afterwards.
public struct GraSP: PruningMethod {
    public struct Settings: MethodSettings, HasPrunableSet {
        public var sparsity: Double?
        public var scope: Scope?
        public var samplesPerClass: Int?
        public var temperature: Double?
        public var reinit: Bool?
        public var trainMode: Bool?
        public var train: Bool?
        public var prunable: PrunableSet?

        enum CodingKeys: String, CodingKey {
            case sparsity, scope, temperature, reinit, train, prunable
            case samplesPerClass = "samples_per_class"
            case trainMode = "train_mode"
        }

        public init() {}

        public func validate() throws {
            try Check.fraction(sparsity, "sparsity")
            try Check.range(samplesPerClass, "samples_per_class", 1...10_000)
            try Check.positive(temperature, "temperature")
        }

        public static var schema: JSONSchema {
            .object(properties: [
                ("sparsity", .number(description: "Fraction of prunable weights removed at initialisation.", minimum: 0, maximum: 1, defaultValue: 0.9)),
                ("scope", .string(description: "One threshold over all prunable tensors (the paper), or the same sparsity per tensor.",
                                  choices: Scope.allCases.map(\.rawValue), defaultValue: "global")),
                ("samples_per_class", .integer(description: "Class-balanced sample size per class (reference CIFAR configs: 10).", minimum: 1, maximum: 10_000, defaultValue: 10)),
                ("temperature", .number(description: "Logits are divided by T before the cross-entropy.", exclusiveMinimum: 0, defaultValue: 200)),
                ("reinit", .boolean(description: "Score a copy whose linear layers are re-initialised Xavier-normal (reference default).", defaultValue: true)),
                ("train_mode", .boolean(description: "Batch norm uses batch statistics while scoring.", defaultValue: true)),
                ("train", .boolean(description: "Train the pruned network afterwards (the spec's train phase).", defaultValue: true)),
                ("prunable", JSONSchema.prunable),
            ])
        }
    }

    public static let id = "grasp"
    public static let summary = "Prune at initialisation the weights whose removal least reduces gradient flow, S = −θ ⊙ Hg (GraSP), then train."
    public static let reference = "Wang, Zhang, Grosse. Picking Winning Tickets Before Training by Preserving Gradient Flow. ICLR 2020."
    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    public func plan(_ context: PipelineContext) -> [PlannedPhase] {
        [PlannedPhase(name: "prune", steps: 0)]
            + (settings.train ?? true ? [PlannedPhase(name: "train", steps: context.steps(context.spec.train))] : [])
    }

    /// Xavier-normal values for every linear layer's weight (step 1), drawn in registration order.
    static func reinitializedLinearWeights(_ model: Module, seed: UInt64) -> [String: Tensor] {
        var rng = RandomGenerator(seed: seed ^ 0x4752_6153_505F_5849)  // "GRaSP_XI"
        var result: [String: Tensor] = [:]
        for (path, module) in model.namedModules() {
            guard let linear = module as? Linear else { continue }
            result[path.isEmpty ? "weight" : path + ".weight"] = Initializer.xavierNormal(linear.weight.shape, using: &rng)
        }
        return result
    }

    public func run(_ context: PipelineContext) throws {
        try context.phase("prune") {
            let parts = try PruneData.classBalancedHalves(context.data.loader, classes: context.data.classes,
                                                          perClass: settings.samplesPerClass ?? 10)
            let replacements = settings.reinit ?? true ? Self.reinitializedLinearWeights(context.model, seed: context.spec.seed) : [:]
            let scores = GraSPScore.scores(context.model, paths: context.prunablePaths, parts: parts,
                                           temperature: settings.temperature ?? 200, training: settings.trainMode ?? true,
                                           replacements: replacements)
            let masks = TopK.select(GraSPScore.keepScores(scores), sparsity: settings.sparsity ?? 0.9,
                                    scope: settings.scope ?? .global, model: context.model)
            try context.prune(masks, event: "grasp at init")
        }
        if settings.train ?? true {
            try context.phase("train") { try context.train(context.spec.train) }
        }
    }
}
