/// The sanity checks of Su et al. (NeurIPS 2020; METHODS.md §9.2), as one `sanity` setting on the
/// methods that find a ticket (`lottery-ticket`, `hybrid-ticket`).
///
/// Each check changes one thing about how the ticket is found or started, then the ticket is
/// trained with the method's normal schedule on clean data:
///
/// * `random-labels` — the training that *finds* the mask (IMP's levels before the last, the hybrid
///   ticket's pretraining) sees labels drawn uniformly at random per sample (fixed per sample, seeded);
/// * `rearrange` — each layer's final mask is permuted at random (same count per layer, new
///   positions); the weights are those the method would start from, at the new positions;
/// * `shuffle-weights` — the mask is kept, the starting values of the kept weights are permuted
///   among the kept positions of their layer;
/// * `reinit` — the mask is kept, all weights are drawn afresh from the architecture's initialiser
///   (a different seed), as with a different `--model` checkpoint in the reference code.
///
/// A method whose accuracy does not drop under these checks only contributed its per-layer ratios.
/// Data-free methods (`random`, `random-ticket`) have nothing to check and no such setting. Why one
/// setting rather than separate methods: the check must run *inside* the method's pipeline (between
/// finding the mask and training the ticket), and one enum keeps the checks mutually exclusive.
public enum SanityCheck: String, Codable, Sendable, CaseIterable {
    case none
    case randomLabels = "random-labels"
    case rearrange
    case shuffleWeights = "shuffle-weights"
    case reinit

    static var schema: JSONSchema {
        .string(description: "Sanity check of Su et al. 2020: corrupt the pruning-time labels, or rearrange the mask / shuffle the kept weights / re-initialise before training the ticket.",
                choices: allCases.map(\.rawValue), defaultValue: "none")
    }

    /// The seed of the check's random draws (kept apart from the method's other streams).
    static func seed(_ context: PipelineContext) -> UInt64 { context.spec.seed ^ 0x5A_17C0_DE }

    /// Applies `rearrange`, `shuffle-weights` or `reinit` to the ticket about to be trained: the model
    /// holds the found mask and its starting weights; `dense` are those starting values before
    /// masking (by path, prunable tensors at least), which `rearrange` puts at the new positions.
    /// The other checks do nothing here.
    func prepareTicket(_ context: PipelineContext, dense: [String: Tensor]) throws {
        let masks = context.currentMasks
        switch self {
        case .none, .randomLabels:
            return
        case .rearrange:
            for path in masks.paths {
                guard let parameter = context.model.parameter(at: path) else { continue }
                parameter.mask = nil
                if let value = dense[path] { parameter.assign(value) }
            }
            try RandomMasks.rearranged(masks, seed: Self.seed(context)).apply(to: context.model)
        case .shuffleWeights:
            RandomMasks.shuffleKeptWeights(context.model, masks: masks, seed: Self.seed(context))
        case .reinit:
            let fresh = try context.data.makeModel(context.spec.model, seed: Self.seed(context) &+ 0x1_0000)
            try ModelState(fresh).load(into: context.model)
        }
        context.message("sanity check '\(rawValue)' applied to the ticket")
    }

    /// The training samples of the mask-finding runs: random labels for `random-labels`, else nil.
    func pruningData(_ context: PipelineContext) -> (any LabeledDataset)? {
        guard self == .randomLabels else { return nil }
        return RandomLabelDataset(base: context.data.loader.dataset, seed: Self.seed(context))
    }
}

/// A data set with every label replaced by a class drawn uniformly at random (one fixed draw per
/// sample, seeded), for the corrupted-data sanity check.
public struct RandomLabelDataset: LabeledDataset {
    public let base: any LabeledDataset
    public let labels: [Int]

    public init(base: any LabeledDataset, seed: UInt64) {
        self.base = base
        var rng = RandomGenerator(seed: seed)
        let classes = Swift.max(base.classNames.count, 1)
        labels = (0..<base.count).map { _ in RandomMasks.uniform(below: classes, using: &rng) }
    }

    init(base: any LabeledDataset, labels: [Int]) {
        self.base = base
        self.labels = labels
    }

    public var name: String { base.name + " (random labels)" }
    public var count: Int { base.count }
    public var classNames: [String] { base.classNames }
    public var sampleShape: [Int] { base.sampleShape }

    public func subset(_ indices: [Int]) -> RandomLabelDataset {
        RandomLabelDataset(base: base.subset(indices), labels: indices.map { labels[$0] })
    }

    public func makeBatch(indices: [Int], augmentation: AugmentationContext?) -> Batch {
        var batch = base.makeBatch(indices: indices, augmentation: augmentation)
        batch.labels = indices.map { labels[$0] }
        return batch
    }
}
