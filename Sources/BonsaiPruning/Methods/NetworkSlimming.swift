/// Network slimming (Liu, Li, Shen, Huang, Yan, Zhang, ICCV 2017; METHODS.md §11.3, reference
/// `Eric-mingjie/network-slimming` `main.py::updateBN`, `vggprune.py`).
///
/// 1. `sparsity-train` (the spec's `train` phase): after every backward pass and before the
///    optimizer step, `γ.grad += s·sign(γ)` for the batch-norm scale of every prunable channel
///    group (``TrainingHooks/afterBackward``). The subgradient is accumulated into the leaf by a
///    second backward pass of `s·Σ|γ|`, whose gradient is exactly `s·sign(γ)` (sign(0) = 0, as
///    `torch.sign`).
/// 2. `prune`: one global ranking of `|γ|` over all groups; the `floor(percent·total)` smallest are
///    removed (the reference keeps `|γ| >` the value at that sorted index, which with ties can
///    remove more; we remove exactly that many, ties broken by position). A layer is never emptied
///    (see ``ChannelSelection``).
/// 3. `finetune` (the spec's `finetune` phase) with the channels removed.
///
/// Needs a batch norm after every pruned producer: `vgg*` and `resnet*` (inner block channels, see
/// ``ChannelDependencies``); `conv*` and `lenet*` have none and are rejected.
public struct NetworkSlimming: PruningMethod {
    public struct Settings: MethodSettings {
        /// The L1 strength `s` (1e-4 for VGG, 1e-5 for ResNet-164 in the reference).
        public var penalty: Double?
        /// Fraction of channels removed (0.7 for VGG-19 on CIFAR-10 in the reference README).
        public var percent: Double?

        public init() {}
        public init(penalty: Double, percent: Double) { self.penalty = penalty; self.percent = percent }

        public func validate() throws {
            if let penalty, !(penalty.isFinite && penalty >= 0 && penalty <= 1) {
                throw PruningError.invalidSetting(field: "penalty", detail: "must be in [0, 1], got \(penalty)")
            }
            try Check.fraction(percent, "percent")
            if let percent, percent >= 1 { throw PruningError.invalidSetting(field: "percent", detail: "must be below 1") }
        }

        public static var schema: JSONSchema {
            .object(properties: [
                ("penalty", .number(description: "L1 strength s on the batch-norm scales during sparsity training.",
                                    minimum: 0, maximum: 1, defaultValue: 1e-4)),
                ("percent", .number(description: "Fraction of channels removed by the global |γ| threshold.",
                                    minimum: 0, exclusiveMaximum: 1, defaultValue: 0.7)),
            ])
        }
    }

    public static let id = "network-slimming"
    public static let summary = "Sparsity-train with L1 on batch-norm scales, remove channels below a global |γ| percentile, fine-tune."
    public static let reference = "Liu, Li, Shen, Huang, Yan, Zhang. Learning Efficient Convolutional Networks through Network Slimming. ICCV 2017."
    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    public func plan(_ context: PipelineContext) -> [PlannedPhase] {
        [PlannedPhase(name: "sparsity-train", steps: context.steps(context.spec.train)), PlannedPhase(name: "prune", steps: 0),
         PlannedPhase(name: "finetune", steps: context.steps(context.spec.finetuneConfig))]
    }

    /// The hook adding `s·sign(γ)` to the scales' gradients.
    public static func l1Hook(scales: [Parameter], penalty: Double) -> TrainingHooks {
        TrainingHooks(afterBackward: { _ in
            guard penalty > 0 else { return }
            let term = Engine.withGrad { () -> Tensor in
                var sum = scales[0].effective.abs().sum()
                for p in scales.dropFirst() { sum = sum + p.effective.abs().sum() }
                return sum.scaled(by: penalty)
            }
            term.backward()
        })
    }

    public func run(_ context: PipelineContext) throws {
        let groups = try context.channelGroups(method: Self.id)
        _ = try ChannelScores.normScale(context.model, groups: groups, method: Self.id)
        let scales = groups.compactMap { $0.scalePath.flatMap { context.model.parameter(at: $0) } }
        try context.phase("sparsity-train") {
            try context.train(context.spec.train, hooks: Self.l1Hook(scales: scales, penalty: settings.penalty ?? 1e-4))
        }
        try context.phase("prune") {
            let scores = try ChannelScores.normScale(context.model, groups: groups, method: Self.id)
            let total = groups.reduce(0) { $0 + $1.channels }
            let count = Int((Double(total) * (settings.percent ?? 0.7)).rounded(.down))
            let current = ChannelMasks.current(in: context.model, groups: groups)
            let channels = ChannelSelection.prune(groups, scores, target: count, current: current)
            try context.pruneChannels(channels, groups: groups, event: "network slimming |γ| threshold")
        }
        try context.phase("finetune") { try context.train(context.spec.finetuneConfig) }
    }
}
