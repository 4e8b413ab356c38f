/// Directional pruning with gRDA (Chao et al., NeurIPS 2020): train with the gRDA optimizer instead
/// of SGD; sparsity emerges from its growing soft threshold, with no pruning step, mask schedule or
/// fine-tuning (METHODS.md §12). The spec's `train` phase runs with `{"name": "grda", "lr": <train lr>,
/// "c": c, "mu": μ}` over every parameter, as the reference scripts do (BN and biases included). At the
/// end, the zero pattern of the prunable weights becomes their mask (a `finalize` pruning event with
/// instability 0, since the weights are already zero), so reports and downloads carry it.
public struct GRDAPruning: PruningMethod {
    public struct Settings: MethodSettings, HasPrunableSet {
        public var c: Double?
        public var mu: Double?
        public var prunable: PrunableSet?

        public init() {}
        public init(c: Double, mu: Double) { self.c = c; self.mu = mu }

        public func validate() throws {
            if let c, !(c >= 0 && c < 1) { throw PruningError.invalidSetting(field: "c", detail: "must be in [0, 1), got \(c)") }
            if let mu, !(mu > 0 && mu <= 2) { throw PruningError.invalidSetting(field: "mu", detail: "must be in (0, 2], got \(mu)") }
        }

        public static var schema: JSONSchema {
            .object(properties: [
                ("c", .number(description: "Scale of the tuning function g(n, γ) = c·γ^{1/2}·(nγ)^μ (small, e.g. 0 < c < 0.005).",
                              minimum: 0, exclusiveMaximum: 1, defaultValue: 0.005)),
                ("mu", .number(description: "Exponent μ; 0.5 < μ < 1, larger is sparser.", maximum: 2, exclusiveMinimum: 0, defaultValue: 0.51)),
                ("prunable", JSONSchema.prunable),
            ])
        }
    }

    public static let id = "grda"
    public static let summary = "Train with gRDA: a growing soft threshold on the dual average makes weights exactly zero (directional pruning)."
    public static let reference = "Chao, Wang, Xing, Cheng. Directional Pruning of Deep Neural Networks. NeurIPS 2020."
    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    /// The train phase's config with gRDA as its optimizer.
    func trainConfig(_ base: TrainingConfig) -> TrainingConfig {
        var config = base
        config.optimizer = OptimizerConfig(name: "grda", lr: base.optimizer.lr, c: settings.c ?? 0.005, mu: settings.mu ?? 0.51)
        return config
    }

    public func plan(_ context: PipelineContext) -> [PlannedPhase] {
        [PlannedPhase(name: "train", steps: context.steps(context.spec.train)), PlannedPhase(name: "finalize", steps: 0)]
    }

    public func run(_ context: PipelineContext) throws {
        try context.phase("train") { try context.train(trainConfig(context.spec.train)) }
        try context.phase("finalize") {
            var masks: [String: Tensor] = [:]
            for path in context.prunablePaths {
                masks[path] = context.model.parameter(at: path)!.value.detached().abs().greater(than: 0)
            }
            try context.prune(MaskSet(masks), event: "grda zeros")
        }
    }
}
