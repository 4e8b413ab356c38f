/// Iterative structured filter pruning during training with a chosen target — the pruning of
/// Bartoldson, Morcos, Barbu, Erlebacher, "The generalization–stability tradeoff in neural network
/// pruning" (NeurIPS 2020), METHODS.md §15.
///
/// Selected layers (default: the last two convs; for a model without convs, the last two hidden
/// linear layers) lose whole output filters at `J` evenly spaced events inside the training run,
/// following the linear filter-count schedule (``FilterSchedule``) down to `⌈(1 − fraction)·N⌉`
/// filters. Per event and layer, among the filters still alive, the ones removed are
///
/// - `large` (Prune_L, the reference's default `target_large = True`): highest filter norm;
/// - `small` (Prune_S): lowest filter norm;
/// - `random` (Prune_R): a seeded random subset,
///
/// with scores = L2 (default) or L1 norm of the filter's weights; ties by filter index. A pruned
/// filter is masked as a whole (weight row, bias entry and the following BN's γ/β entries, see
/// ``FilterGroup``), which equals the reference's physical removal in the forward pass. Every event
/// goes through ``PipelineContext/prune(_:event:)``, which records its instability
/// `(acc_pre − acc_post)/acc_pre` — the quantity the paper relates to generalization.
///
/// Choices, recorded: events are placed in optimizer steps (`begin_step`, `end_step`, `frequency`)
/// rather than the reference's epochs (`retrain_period`), like every other during-training method
/// here; instability uses the evaluation set (validation when held out), the paper's test accuracy
/// otherwise. The default fractions follow the VGG-11 configuration (`[.3, .3, .3, .9]`, popped
/// from the end): 0.9 for the last selected layer, 0.3 for the others.
public struct StabilityPruning: PruningMethod {
    public enum Target: String, Codable, Sendable, CaseIterable { case small, large, random }

    public struct Settings: MethodSettings {
        /// Weight paths of the layers to prune (conv or linear).
        public var layers: [String]?
        /// Final pruned fraction of filters per layer (one value: all layers).
        public var fractions: [Double]?
        public var target: Target?
        /// "l2" or "l1" filter norm.
        public var score: String?
        public var beginStep: Int?
        public var endStep: Int?
        public var frequency: Int?
        public var finetune: Bool?

        enum CodingKeys: String, CodingKey {
            case layers, fractions, target, score, frequency, finetune
            case beginStep = "begin_step"
            case endStep = "end_step"
        }

        public init() {}

        public func validate() throws {
            if let layers, layers.isEmpty { throw PruningError.invalidSetting(field: "layers", detail: "must name at least one layer") }
            if let fractions {
                guard !fractions.isEmpty else { throw PruningError.invalidSetting(field: "fractions", detail: "must not be empty") }
                for f in fractions { try Check.fraction(f, "fractions") }
                if let layers, fractions.count != 1, fractions.count != layers.count {
                    throw PruningError.invalidSetting(field: "fractions", detail: "give one value or one per layer (\(layers.count))")
                }
            }
            try Check.oneOf(score, "score", ["l2", "l1"])
            try Check.range(beginStep, "begin_step", 0...100_000_000)
            try Check.range(endStep, "end_step", 0...100_000_000)
            if let b = beginStep, let e = endStep, e < b { throw PruningError.invalidSetting(field: "end_step", detail: "must be ≥ begin_step") }
            try Check.range(frequency, "frequency", 1...1_000_000)
        }

        public static var schema: JSONSchema {
            .object(properties: [
                ("layers", .array(description: "Weight paths of the layers whose filters are pruned (default: the last two convs).",
                                  items: .string(description: "parameter path"))),
                ("fractions", .array(description: "Final pruned fraction of filters, one value or one per layer (default 0.9 for the last, 0.3 for the others).",
                                     items: .number(description: "fraction", minimum: 0, maximum: 1))),
                ("target", .string(description: "Which filters go: largest norm (Prune_L), smallest (Prune_S) or random (Prune_R).",
                                   choices: Target.allCases.map(\.rawValue), defaultValue: "large")),
                ("score", .string(description: "Filter norm.", choices: ["l2", "l1"], defaultValue: "l2")),
                ("begin_step", .integer(description: "Train step of the first pruning event (default: 10 % of the train phase).", minimum: 0)),
                ("end_step", .integer(description: "Train step of the last pruning event (default: 75 % of the train phase).", minimum: 0)),
                ("frequency", .integer(description: "Steps between events (default: (end − begin)/9, i.e. 10 events).", minimum: 1)),
                ("finetune", .boolean(description: "Run the spec's finetune phase afterwards.", defaultValue: false)),
            ])
        }
    }

    public static let id = "stability-pruning"
    public static let summary = "Iterative filter pruning during training targeting small, large or random filters; records instability per event."
    public static let reference = "Bartoldson, Morcos, Barbu, Erlebacher. The generalization-stability tradeoff in neural network pruning. NeurIPS 2020."
    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    public func plan(_ context: PipelineContext) -> [PlannedPhase] {
        [PlannedPhase(name: "train", steps: context.steps(context.spec.train))]
            + (settings.finetune == true ? [PlannedPhase(name: "finetune", steps: context.steps(context.spec.finetuneConfig))] : [])
    }

    /// The event steps: `begin, begin + frequency, …` up to `end`.
    func eventSteps(totalSteps: Int) -> [Int] {
        let begin = settings.beginStep ?? Swift.max(1, totalSteps / 10)
        let end = Swift.max(begin, settings.endStep ?? Int(Double(totalSteps) * 0.75))
        let frequency = settings.frequency ?? Swift.max(1, (end - begin) / 9)
        return Array(stride(from: begin, through: end, by: frequency))
    }

    /// The selected groups with their final fractions.
    func targets(_ model: Module) throws -> [(group: FilterGroup, fraction: Double)] {
        let all = try FilterGroup.all(in: model, method: Self.id)
        let chosen: [FilterGroup]
        if let layers = settings.layers {
            chosen = try layers.map { path in
                guard let g = all.first(where: { $0.weightPath == path }) else {
                    throw PruningError.invalidSetting(field: "layers", detail: "'\(path)' is not a conv or linear weight of this model")
                }
                return g
            }
        } else {
            let convs = all.filter { model.parameter(at: $0.weightPath)?.role == .convWeight }
            let pool = convs.isEmpty ? Array(all.dropLast()) : convs
            guard !pool.isEmpty else { throw PruningError.unsupportedModel(method: Self.id, detail: "no layer to prune filters of") }
            chosen = Array(pool.suffix(2))
        }
        let fractions = settings.fractions.map { $0.count == 1 ? Array(repeating: $0[0], count: chosen.count) : $0 }
            ?? chosen.indices.map { $0 == chosen.count - 1 ? 0.9 : 0.3 }
        return Array(zip(chosen, fractions)).map { (group: $0.0, fraction: $0.1) }
    }

    /// Flags of the filters to keep after event `j` of `events` for one group.
    func keep(_ group: FilterGroup, fraction: Double, event j: Int, of events: Int, model: Module, seed: UInt64,
              layerIndex: Int) -> [Bool] {
        var flags = group.alive(in: model)
        let alive = flags.indices.filter { flags[$0] }
        let target = FilterSchedule.kept(filters: group.filters, fraction: fraction, event: j, of: events)
        let remove = alive.count - target
        guard remove > 0 else { return flags }
        let order: [Int]
        switch settings.target ?? .large {
        case .random:
            var rng = RandomGenerator(seed: seed &+ 0x57AB_1E00 &+ UInt64(j) &* 7_919 &+ UInt64(layerIndex) &* 104_729)
            var pool = alive
            for i in 0..<remove {   // partial Fisher–Yates: the first `remove` entries are a uniform subset
                let r = i + Int(rng.next() % UInt64(pool.count - i))
                pool.swapAt(i, r)
            }
            order = pool
        case .small, .large:
            let norms = group.norms(in: model, l1: settings.score == "l1")
            let large = settings.target ?? .large == .large
            order = alive.sorted { a, b in
                norms[a] != norms[b] ? (large ? norms[a] > norms[b] : norms[a] < norms[b]) : a < b
            }
        }
        for f in order.prefix(remove) { flags[f] = false }
        return flags
    }

    public func run(_ context: PipelineContext) throws {
        let targets = try targets(context.model)
        let events = eventSteps(totalSteps: context.steps(context.spec.train))
        try context.phase("train") {
            var hooks = TrainingHooks()
            hooks.afterStep = { position in
                guard let index = events.firstIndex(of: position.step) else { return }
                var masks = MaskSet()
                for (i, t) in targets.enumerated() {
                    let flags = keep(t.group, fraction: t.fraction, event: index + 1, of: events.count, model: context.model,
                                     seed: context.spec.seed, layerIndex: i)
                    for (path, mask) in t.group.masks(keeping: flags, in: context.model).masks { masks[path] = mask }
                }
                try context.prune(masks, event: "filters step \(position.step) (\(index + 1)/\(events.count))")
            }
            try context.train(context.spec.train, hooks: hooks)
        }
        if settings.finetune == true {
            try context.phase("finetune") { try context.train(context.spec.finetuneConfig) }
        }
    }
}
