/// Filter pruning by L1 norm (Li, Kadav, Durdanovic, Samet, Graf, "Pruning Filters for Efficient
/// ConvNets", ICLR 2017): train, remove the output channels whose filters have the smallest
/// `‖W_j‖₁` — the same fraction in every layer (`layerwise`, the paper's per-layer setting) or one
/// ranking over all layers (`global`) — then fine-tune the smaller network.
///
/// Channels follow ``ChannelDependencies``: for VGG/conv/LeNet every conv and hidden linear
/// layer's outputs (with their batch norm and the next layer's inputs); for ResNets only the
/// inner channel of each block, exactly as the paper does for ResNet-56/110 ("we only prune the
/// first layer of each residual block"). Counts are exact (`round(ratio·C)` per layer, at least
/// one channel kept); the paper's "prune sensitive layers less" tuning is left to the user via
/// `scope`/`ratio`. Pruning is one-shot ("prune once and retrain", the paper's main setting).
public struct FilterL1Pruning: PruningMethod {
    public struct Settings: MethodSettings {
        /// Fraction of channels removed.
        public var ratio: Double?
        public var scope: Scope?
        public var pretrain: Bool?

        public init() {}
        public init(ratio: Double, scope: Scope = .layerwise, pretrain: Bool = true) {
            self.ratio = ratio; self.scope = scope; self.pretrain = pretrain
        }

        public func validate() throws {
            try Check.fraction(ratio, "ratio")
            if let ratio, ratio >= 1 { throw PruningError.invalidSetting(field: "ratio", detail: "must be below 1 (every layer keeps a channel)") }
        }

        public static var schema: JSONSchema {
            .object(properties: [
                ("ratio", .number(description: "Fraction of channels (filters) removed.", minimum: 0, exclusiveMaximum: 1, defaultValue: 0.5)),
                ("scope", .string(description: "The same fraction in every layer, or one L1 ranking over all layers.",
                                  choices: Scope.allCases.map(\.rawValue), defaultValue: "layerwise")),
                ("pretrain", .boolean(description: "Train the dense model first (the spec's train phase).", defaultValue: true)),
            ])
        }
    }

    public static let id = "filter-l1"
    public static let summary = "Train, remove the filters (output channels) with the smallest L1 norm, fine-tune."
    public static let reference = "Li, Kadav, Durdanovic, Samet, Graf. Pruning Filters for Efficient ConvNets. ICLR 2017."
    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    public func plan(_ context: PipelineContext) -> [PlannedPhase] {
        (settings.pretrain ?? true ? [PlannedPhase(name: "pretrain", steps: context.steps(context.spec.train))] : [])
            + [PlannedPhase(name: "prune", steps: 0), PlannedPhase(name: "finetune", steps: context.steps(context.spec.finetuneConfig))]
    }

    public func run(_ context: PipelineContext) throws {
        let groups = try context.channelGroups(method: Self.id)
        if settings.pretrain ?? true {
            try context.phase("pretrain") { try context.train(context.spec.train) }
        }
        try context.phase("prune") {
            let scores = ChannelScores.filterL1(context.model, groups: groups)
            let current = ChannelMasks.current(in: context.model, groups: groups)
            let channels = ChannelSelection.select(scores, groups: groups, ratio: settings.ratio ?? 0.5,
                                                   scope: settings.scope ?? .layerwise, current: current)
            try context.pruneChannels(channels, groups: groups, event: "filter L1")
        }
        try context.phase("finetune") { try context.train(context.spec.finetuneConfig) }
    }
}
