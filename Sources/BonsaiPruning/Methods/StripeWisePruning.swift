/// Stripe-wise pruning, SWP (Meng, Cheng, Li, Luo, Guo, Lu, Sun, "Pruning Filter in Filter",
/// NeurIPS 2020; METHODS.md §5, reference `fxmeng/Pruning-Filter-in-Filter` `models/stripe.py`,
/// `main.py`).
///
/// Every prunable `K×K` conv weight (`K > 1`; 1×1 convs such as ResNet shortcuts are left alone, as
/// in the reference) gets a learnable ``FilterSkeleton`` `I ∈ R^{N×K×K}` (ones), so the conv computes
/// with `W ⊙ I[:, None]`. Phases:
///
/// 1. `train` (the spec's `train` config; the optimizer covers the model and the skeletons, with the
///    same learning rate and weight decay, as the reference's single SGD). After every backward pass
///    and before the step (``TrainingHooks/afterBackward``):
///    1. `I.grad += α·sign(I)` — the subgradient of `α·Σ_l ‖I_l‖₁`, accumulated by a second
///       backward pass of that term (sign(0) = 0);
///    2. stripes with `|I| ≤ δ` die: the skeleton's mask gets a 0 there, which zeroes `I`, and the
///       optimizer skips and zeroes the entry, its gradient **and its momentum**. The reference
///       leaves the momentum buffer alone, so a dead entry can briefly hold a tiny value until the
///       next threshold re-zeroes it; with ours dead is exactly 0 (METHODS.md §5.2 step 3.2: a
///       documented, harmless deviation). Masks are only ever intersected, never revived;
///    3. a filter whose stripes are all dead is a dead output channel: its batch norm `γ`, `β` (and
///       bias, and the next layer's input columns) are masked at once, as the reference multiplies
///       `γ`, `β` and their gradients by `out_mask`. Channels follow ``ChannelDependencies``: for
///       ResNets only `conv1` of each block loses filters (its output feeds no residual addition);
///       `conv2` still loses stripes.
/// 2. `prune`: the skeleton is folded into the weights (`W ← W ⊙ I`, the reparameterisation is
///    removed — the function is unchanged), the weight gets the stripe mask (all `C` entries of each
///    dead stripe), and dead filters are removed as channels (recorded for compaction). With
///    `stripe_sparsity` the prune step instead keeps exactly `round((1 − s)·S_total)` stripes by
///    `|I|` over all layers (dead stripes first; ties by position, as ``TopMask``) — our addition,
///    for comparisons at a fixed budget; if training already killed more, only those are pruned
///    (never revived). No fine-tuning, as in the paper, unless `finetune` is set.
///
/// Batch-norm initialisation: the reference builds every batch norm with `γ = 0.5` (following
/// network slimming; METHODS.md §5.2 step 2), and SWP trains from scratch, so at the start of the
/// `train` phase every ``BatchNorm`` scale of the model is set to `bn_gamma_init` (default 0.5, the
/// reference; `1` leaves the zoo's `γ = 1`). A smaller γ halves the post-BN activations' scale,
/// which changes how strongly the cross-entropy gradient reaches the skeletons. Resuming inside the
/// phase restores the checkpointed γ over it.
///
/// The `train` phase also records `skeleton_trace` in the notes: at 10, 25, 50, 75 and 100 % of
/// its steps, the live-stripe count and the 10/50/90 % quantiles of the live `|I|` — whether the L1
/// pull separates the stripes, and when.
///
/// Not implemented (recorded in the report): replacing a ResNet block whose conv has no live stripe
/// by its shortcut (the masked block then still adds `bn2`'s constant `β`); keeping the best
/// checkpoint by test accuracy (we keep the last). Execution in stripe-wise form is ``StripeConv``.
public struct StripeWisePruning: PruningMethod {
    public struct Settings: MethodSettings {
        /// The L1 strength α on the skeletons (`sr` in the reference; 1e-5 on CIFAR-10).
        public var penalty: Double?
        /// The stripe threshold δ (0.01).
        public var threshold: Double?
        /// Optional exact fraction of stripes removed at the prune step (global over layers).
        public var stripeSparsity: Double?
        /// Remove filters whose stripes are all dead as channels (default true).
        public var removeFilters: Bool?
        /// Fine-tune after pruning (the spec's finetune config; default false, as the paper).
        public var finetune: Bool?
        /// Every batch norm's `γ` at the start of training (default 0.5, the reference's init).
        public var bnGammaInit: Double?

        enum CodingKeys: String, CodingKey {
            case penalty, threshold, finetune
            case stripeSparsity = "stripe_sparsity", removeFilters = "remove_filters", bnGammaInit = "bn_gamma_init"
        }

        public init() {}
        public init(penalty: Double, threshold: Double = 0.01, stripeSparsity: Double? = nil) {
            self.penalty = penalty; self.threshold = threshold; self.stripeSparsity = stripeSparsity
        }

        public func validate() throws {
            if let penalty, !(penalty.isFinite && penalty >= 0 && penalty <= 1) {
                throw PruningError.invalidSetting(field: "penalty", detail: "must be in [0, 1], got \(penalty)")
            }
            if let threshold, !(threshold.isFinite && threshold >= 0 && threshold < 1) {
                throw PruningError.invalidSetting(field: "threshold", detail: "must be in [0, 1), got \(threshold)")
            }
            try Check.fraction(stripeSparsity, "stripe_sparsity")
            if let bnGammaInit, !(bnGammaInit.isFinite && bnGammaInit > 0 && bnGammaInit <= 10) {
                throw PruningError.invalidSetting(field: "bn_gamma_init", detail: "must be in (0, 10], got \(bnGammaInit)")
            }
            if let stripeSparsity, stripeSparsity >= 1 {
                throw PruningError.invalidSetting(field: "stripe_sparsity", detail: "must be below 1")
            }
        }

        public static var schema: JSONSchema {
            .object(properties: [
                ("penalty", .number(description: "L1 strength α on the filter skeletons (reference: 1e-5 on CIFAR-10).",
                                    minimum: 0, maximum: 1, defaultValue: 1e-5)),
                ("threshold", .number(description: "Stripes with |skeleton| ≤ δ die.", minimum: 0, exclusiveMaximum: 1, defaultValue: 0.01)),
                ("stripe_sparsity", .number(description: "If set, the prune step removes exactly this fraction of stripes (smallest |skeleton|, all layers).",
                                            minimum: 0, exclusiveMaximum: 1)),
                ("remove_filters", .boolean(description: "Remove filters with no live stripe as channels (with their BN).", defaultValue: true)),
                ("finetune", .boolean(description: "Fine-tune after pruning (not in the paper).", defaultValue: false)),
                ("bn_gamma_init", .number(description: "Every batch norm's scale γ when training starts (reference: 0.5; 1 keeps the model's).",
                                          maximum: 10, exclusiveMinimum: 0, defaultValue: 0.5)),
            ])
        }
    }

    public static let id = "stripe-wise"
    public static let summary = "Learn a filter skeleton with L1 during training, remove stripes (1×1 slices of filters) below a threshold."
    public static let reference = "Meng, Cheng, Li, Luo, Guo, Lu, Sun. Pruning Filter in Filter. NeurIPS 2020."
    public let settings: Settings
    public init(settings: Settings) { self.settings = settings }

    var penalty: Double { settings.penalty ?? 1e-5 }
    var delta: Double { settings.threshold ?? 0.01 }

    public func plan(_ context: PipelineContext) -> [PlannedPhase] {
        [PlannedPhase(name: "train", steps: context.steps(context.spec.train)), PlannedPhase(name: "prune", steps: 0)]
            + (settings.finetune == true ? [PlannedPhase(name: "finetune", steps: context.steps(context.spec.finetuneConfig))] : [])
    }

    /// The prunable `K×K` (K > 1) conv weights of the context.
    static func convPaths(_ context: PipelineContext) -> [String] {
        context.prunablePaths.filter { path in
            guard let shape = context.model.parameter(at: path)?.shape else { return false }
            return shape.count == 4 && shape[2] == shape[3] && shape[2] > 1
        }
    }

    public func run(_ context: PipelineContext) throws {
        let model = context.model
        let paths = Self.convPaths(context)
        guard !paths.isEmpty else {
            throw PruningError.unsupportedModel(method: Self.id, detail: "no prunable K×K convolution (K > 1) to prune stripe-wise")
        }
        let groups = settings.removeFilters ?? true ? (try? ChannelDependencies.groups(of: model)) ?? [] : []
        let skeletons = paths.map { path in
            FilterSkeleton(path: path, weight: model.parameter(at: path)!, initial: context.stash["skeleton.\(path)"],
                           mask: context.stash["skeleton-mask.\(path)"])
        }
        context.beforeSnapshot = {
            for s in skeletons {
                context.stash["skeleton.\(s.path)"] = s.parameter.value.detached()
                context.stash["skeleton-mask.\(s.path)"] = s.parameter.mask
            }
        }
        try context.phase("train") {
            for s in skeletons { s.attach(to: model.parameter(at: s.path)!) }
            defer { for s in skeletons { model.parameter(at: s.path)!.reparameterization = nil } }
            let parameters = model.namedParameters().filter { $0.parameter.trainable } + skeletons.map { (path: "skeleton.\($0.path)", parameter: $0.parameter) }
            let optimizer = try context.spec.train.optimizer.make(parameters: parameters)
            Self.initializeNormScales(model, gamma: settings.bnGammaInit ?? 0.5)
            var hooks = Self.hooks(skeletons, penalty: penalty, threshold: delta, model: model, groups: groups)
            let total = context.steps(context.spec.train)
            let marks = Set([0.1, 0.25, 0.5, 0.75, 1.0].map { Swift.max(1, Int(($0 * Double(total)).rounded())) })
            hooks.afterStep = { position in
                guard marks.contains(position.step) else { return }
                let live = skeletons.map { $0.live(threshold: self.delta) }
                let entry = "step \(position.step): \(Self.skeletonSummary(skeletons, live: live))"
                context.notes["skeleton_trace"] = (context.notes["skeleton_trace"].map { $0 + "; " } ?? "") + entry
            }
            try context.train(context.spec.train, hooks: hooks, optimizer: optimizer)
        }
        try context.phase("prune") {
            var keep = skeletons.map { $0.live(threshold: delta) }
            Self.recordSkeletonNotes(skeletons, live: keep, into: context)
            if let target = settings.stripeSparsity { keep = Self.exactStripes(skeletons, live: keep, sparsity: target) }
            var masks: [String: Tensor] = [:]
            for (s, kept) in zip(skeletons, keep) {
                let weight = model.parameter(at: s.path)!
                weight.assign(Engine.withoutGrad { FilterSkeleton.apply(weight.value.detached(), skeleton: s.parameter.effective.detached()) })
                masks[s.path] = s.weightMask(kept)
            }
            let total = keep.reduce(0) { $0 + $1.count }, live = keep.reduce(0) { $0 + $1.filter { $0 }.count }
            try context.prune(MaskSet(masks), event: "stripe-wise: \(live) of \(total) stripes kept")
            if !groups.isEmpty {
                let channels = Self.channels(groups: groups, skeletons: skeletons, keep: keep, model: model)
                try context.pruneChannels(channels, groups: groups, event: "stripe-wise: dead filters removed")
            }
        }
        context.beforeSnapshot = nil
        if settings.finetune == true {
            try context.phase("finetune") { try context.train(context.spec.finetuneConfig) }
        }
    }

    /// Notes for the report: how many stripes the threshold δ killed during training
    /// (`dead_at_threshold`, before any `stripe_sparsity` budget) and the 10/50/90 % quantiles of
    /// the live stripes' `|I|` (`skeleton_quantiles`) — whether the L1 pull separated the stripes.
    static func recordSkeletonNotes(_ skeletons: [FilterSkeleton], live: [[Bool]], into context: PipelineContext) {
        let total = live.reduce(0) { $0 + $1.count }, alive = live.reduce(0) { $0 + $1.filter { $0 }.count }
        context.notes["dead_at_threshold"] = "\(total - alive) of \(total)"
        if let q = quantiles(skeletons, live: live) { context.notes["skeleton_quantiles"] = q }
        context.notes["live_per_layer"] = zip(skeletons, live).map { "\($0.path) \($1.filter { $0 }.count)/\($1.count)" }.joined(separator: ", ")
    }

    /// The 10/50/90 % quantiles of the live stripes' `|I|` as `a/b/c`, nil if none is live.
    static func quantiles(_ skeletons: [FilterSkeleton], live: [[Bool]]) -> String? {
        var values: [Double] = []
        for (s, alive) in zip(skeletons, live) {
            let v = s.parameter.value.doubles
            for i in v.indices where alive[i] { values.append(Swift.abs(v[i])) }
        }
        values.sort()
        guard !values.isEmpty else { return nil }
        let q = [0.1, 0.5, 0.9].map { values[Swift.min(values.count - 1, Int($0 * Double(values.count)))] }
        return q.map { Format.number($0, digits: 3) }.joined(separator: "/")
    }

    /// `live L/T stripes, |I| p10/p50/p90 a/b/c` (one `skeleton_trace` entry).
    static func skeletonSummary(_ skeletons: [FilterSkeleton], live: [[Bool]]) -> String {
        let total = live.reduce(0) { $0 + $1.count }, alive = live.reduce(0) { $0 + $1.filter { $0 }.count }
        return "live \(alive)/\(total), |I| p10/p50/p90 \(quantiles(skeletons, live: live) ?? "–")"
    }

    /// Sets every ``BatchNorm`` scale `γ` of `model` to `gamma` (the reference's 0.5 init; a no-op at 1).
    public static func initializeNormScales(_ model: any Model, gamma: Double) {
        guard gamma != 1 else { return }
        for (_, module) in model.namedModules() {
            guard let norm = module as? BatchNorm else { continue }
            norm.weight.assign(.full(norm.weight.shape, value: gamma, dtype: norm.weight.value.dtype))
        }
    }

    /// The training hooks: `α·sign(I)` into the skeletons' gradients, then the threshold, then the
    /// dead filters' channels masked.
    public static func hooks(_ skeletons: [FilterSkeleton], penalty: Double, threshold delta: Double,
                             model: any Model, groups: [ChannelGroup]) -> TrainingHooks {
        var deadFilters = 0
        return TrainingHooks(afterBackward: { _ in
            if penalty > 0 {
                let term = Engine.withGrad { () -> Tensor in
                    var sum = skeletons[0].parameter.effective.abs().sum()
                    for s in skeletons.dropFirst() { sum = sum + s.parameter.effective.abs().sum() }
                    return sum.scaled(by: penalty)
                }
                term.backward()
            }
            var died = 0
            for s in skeletons { died += s.threshold(delta) }
            guard died > 0, !groups.isEmpty else { return }
            let dead = skeletons.reduce(0) { $0 + $1.filters - $1.liveFilters(threshold: delta).count }
            guard dead > deadFilters else { return }
            deadFilters = dead
            let keep = skeletons.map { $0.live(threshold: delta) }
            let channels = Self.channels(groups: groups, skeletons: skeletons, keep: keep, model: model)
            try ChannelMasks.elementMasks(channels, groups: groups, model: model).apply(to: model)
        })
    }

    /// Channel masks: a group produced by a skeleton's conv keeps the filters with a kept stripe
    /// (and those still kept otherwise); other groups keep their current channels.
    static func channels(groups: [ChannelGroup], skeletons: [FilterSkeleton], keep: [[Bool]], model: any Model) -> ChannelMaskSet {
        let current = ChannelMasks.current(in: model, groups: groups)
        var result = ChannelMaskSet()
        for group in groups {
            var kept = current[group.name]?.kept ?? Array(0..<group.channels)
            if let index = skeletons.firstIndex(where: { $0.path == group.producer + ".weight" }) {
                let k2 = skeletons[index].kernel * skeletons[index].kernel
                kept = kept.filter { n in (0..<k2).contains { keep[index][n * k2 + $0] } }
                if kept.isEmpty, let best = Self.strongestFilter(skeletons[index]) { kept = [best] }
            }
            result[group.name] = ChannelMask(group: group.name, kept: kept, channels: group.channels)
        }
        return result
    }

    /// A layer never loses all its channels as a group (the network would be cut); if every filter
    /// of a layer died, the one with the largest `Σ|I|` stays as a channel (its stripes stay masked).
    static func strongestFilter(_ s: FilterSkeleton) -> Int? {
        let values = s.parameter.value.doubles, k2 = s.kernel * s.kernel
        return (0..<s.filters).max { a, b in
            (0..<k2).reduce(0.0) { $0 + Swift.abs(values[a * k2 + $1]) } < (0..<k2).reduce(0.0) { $0 + Swift.abs(values[b * k2 + $1]) }
        }
    }

    /// Exactly `round(sparsity·S)` stripes removed over all skeletons by `|I|` (dead stripes first,
    /// ties by position through ``TopMask``), or the dead ones if they are more.
    public static func exactStripes(_ skeletons: [FilterSkeleton], live: [[Bool]], sparsity: Double) -> [[Bool]] {
        var scores: [Double] = []
        for (s, alive) in zip(skeletons, live) {
            let values = s.parameter.value.doubles
            for i in values.indices { scores.append(alive[i] ? Swift.abs(values[i]) : -.infinity) }
        }
        let total = scores.count
        let alive = live.reduce(0) { $0 + $1.filter { $0 }.count }
        let keepCount = Swift.min(alive, total - Int((sparsity * Double(total)).rounded()))
        let flat = TopMask.keepLargest(scores, keep: keepCount)
        var result: [[Bool]] = [], offset = 0
        for alive in live {
            result.append((0..<alive.count).map { flat[offset + $0] != 0 && alive[$0] })
            offset += alive.count
        }
        return result
    }
}
