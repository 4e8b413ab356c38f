/// How a pipeline training run departs from a plain run of its config (see
/// ``PipelineContext/train(_:hooks:optimizer:variant:)``).
public struct TrainingVariant {
    /// Start at this optimizer step of the config (the learning-rate schedule and the data order
    /// continue from that step; the run ends at the config's last step). Lottery-ticket rewinding
    /// to iteration k and learning-rate rewinding use it; 0 is a normal run.
    public var startStep: Int
    /// The data-order seed (default: one per phase). Giving every IMP level the same seed replays
    /// the first training's batches, as rewinding to step k assumes.
    public var dataSeed: UInt64?
    /// Train on these samples instead of the training split (e.g. the random-label sanity check).
    public var dataset: (any LabeledDataset)?

    public init(startStep: Int = 0, dataSeed: UInt64? = nil, dataset: (any LabeledDataset)? = nil) {
        precondition(startStep >= 0, "TrainingVariant: startStep \(startStep) < 0")
        self.startStep = startStep
        self.dataSeed = dataSeed
        self.dataset = dataset
    }
}
