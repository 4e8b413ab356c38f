/// One batch of labelled examples.
public struct LabeledBatch: Sendable {
    public var input: ModelInput
    public var labels: [Int]

    public init(input: ModelInput, labels: [Int]) {
        precondition(input.batchSize == labels.count, "LabeledBatch: \(labels.count) labels for a batch of \(input.batchSize)")
        self.input = input
        self.labels = labels
    }

    public var count: Int { labels.count }
}

/// A source of training batches whose batch at `(epoch, index)` is a pure function of those two
/// numbers (and the source's seed). That is what makes a resumed run bit-identical: the
/// checkpoint stores only the position, never a half-consumed iterator.
public protocol BatchProvider: Sendable {
    /// Batches in one epoch.
    var batchesPerEpoch: Int { get }
    /// Examples in one epoch.
    var examplesPerEpoch: Int { get }
    func batch(epoch: Int, index: Int) throws -> LabeledBatch
}

/// Where a training run is: the next batch to train on and the number of optimizer steps taken.
public struct TrainingPosition: Codable, Sendable, Equatable {
    public var epoch: Int
    public var batchIndex: Int
    public var step: Int

    public init(epoch: Int = 0, batchIndex: Int = 0, step: Int = 0) {
        self.epoch = epoch
        self.batchIndex = batchIndex
        self.step = step
    }
}
