/// Gradual magnitude pruning (Zhu & Gupta 2017): sparsity rises along the cubic schedule during
/// training, `s_t = s_f + (s_i − s_f)(1 − p)³`, with a mask update (largest |w| kept, on top of the
/// previous mask) every `frequency` steps inside `[begin, end]`; training goes on at the final
/// sparsity afterwards, then the spec's `finetune` phase runs if `finetune` is true.
public struct GradualMagnitudePruning: PruningMethod {
    public struct Settings: MethodSettings, HasPrunableSet {
        public var sparsity: Double?
        public var initialSparsity: Double?
        /// First and last pruning step of the train phase (default 0 and 75 % of its steps).
        public var beginStep: Int?
        public var endStep: Int?
        public var frequency: Int?
        public var power: Double?
        public var scope: Scope?
        public var finetune: Bool?
        public var prunable: PrunableSet?

        enum CodingKeys: String, CodingKey {
            case sparsity, frequency, power, scope, finetune, prunable
            case initialSparsity = "initial_sparsity"
            case beginStep = "begin_step"
            case endStep = "end_step"
        }

        public init() {}

        public func validate() throws {
            try Check.fraction(sparsity, "sparsity")
            try Check.fraction(initialSparsity, "initial_sparsity")
            if let s = sparsity, let i = initialSparsity, i > s {
                throw PruningError.invalidSetting(field: "initial_sparsity", detail: "must not exceed sparsity")
            }
            try Check.range(beginStep, "begin_step", 0...100_000_000)
            try Check.range(endStep, "end_step", 0...100_000_000)
            if let b = beginStep, let e = endStep, e < b { throw PruningError.invalidSetting(field: "end_step", detail: "must be ≥ begin_step") }
            try Check.range(frequency, "frequency", 1...1_000_000)
            try Check.range(power, "power", 0.5...10)
        }

        public static var schema: JSONSchema {
            .object(properties: [
                ("sparsity", .number(description: "Final sparsity s_f.", minimum: 0, maximum: 1, defaultValue: 0.9)),
                ("initial_sparsity", .number(description: "Initial sparsity s_i.", minimum: 0, maximum: 1, defaultValue: 0)),
                ("begin_step", .integer(description: "Train step of the first mask update.", minimum: 0, defaultValue: 0)),
                ("end_step", .integer(description: "Train step of the last mask update (default: 75 % of the train phase).", minimum: 0)),
                ("frequency", .integer(description: "Steps between mask updates (TF-MOT default 100).", minimum: 1, defaultValue: 100)),
                ("power", .number(description: "Exponent of the ramp (3 = cubic).", minimum: 0.5, maximum: 10, defaultValue: 3)),
                ("scope", .string(description: "Per-tensor (Zhu & Gupta) or global threshold.", choices: Scope.allCases.map(\.rawValue), defaultValue: "layerwise")),
                ("finetune", .boolean(description: "Run the spec's finetune phase afterwards.", defaultValue: false)),
                ("prunable", JSONSchema.prunable),
            ])
        }
    }

    public static let id = "gradual-magnitude"
    public static let summary = "Raise sparsity along a cubic schedule during training, keeping the largest |w| (GMP)."
    public static let reference = "Zhu, Gupta. To prune, or not to prune: exploring the efficacy of pruning for model compression. 2017."
    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    public func plan(_ context: PipelineContext) -> [PlannedPhase] {
        [PlannedPhase(name: "train", steps: context.steps(context.spec.train))]
            + (settings.finetune == true ? [PlannedPhase(name: "finetune", steps: context.steps(context.spec.finetuneConfig))] : [])
    }

    /// The window `[begin, end]` in train steps.
    func window(totalSteps: Int) -> (begin: Int, end: Int) {
        let begin = settings.beginStep ?? 0
        return (begin, Swift.max(begin, settings.endStep ?? Int(Double(totalSteps) * 0.75)))
    }

    public func run(_ context: PipelineContext) throws {
        let total = context.steps(context.spec.train)
        let (begin, end) = window(totalSteps: total)
        let frequency = settings.frequency ?? 100
        try context.phase("train") {
            var hooks = TrainingHooks()
            hooks.afterStep = { position in
                // position.step = steps completed; the update after step t uses s_t.
                let t = position.step
                guard SparsitySchedule.isUpdateStep(t, begin: begin, end: end, frequency: frequency) || t == end else { return }
                let target = SparsitySchedule.polynomial(step: t, begin: begin, end: end, initial: settings.initialSparsity ?? 0,
                                                         final: settings.sparsity ?? 0.9, power: settings.power ?? 3)
                guard target > context.sparsity + 1e-12 else { return }
                let masks = TopK.select(MagnitudeScore.scores(context.model, paths: context.prunablePaths), sparsity: target,
                                        scope: settings.scope ?? .layerwise, model: context.model)
                try context.prune(masks, event: "gmp step \(t)")
            }
            try context.train(context.spec.train, hooks: hooks)
        }
        if settings.finetune == true {
            try context.phase("finetune") { try context.train(context.spec.finetuneConfig) }
        }
    }
}
