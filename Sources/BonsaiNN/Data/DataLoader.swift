/// Where a ``DataLoader`` stands: the next batch to hand out is batch `batchIndex` of `epoch`.
///
/// Saved in training checkpoints; restoring it with ``DataLoader/seek(to:)`` continues with the
/// very batches (order and augmentation) the interrupted run would have produced next.
public struct DataPosition: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var epoch: Int
    public var batchIndex: Int

    public init(epoch: Int = 0, batchIndex: Int = 0) {
        self.epoch = epoch
        self.batchIndex = batchIndex
    }

    public static let start = DataPosition()

    public static func < (a: DataPosition, b: DataPosition) -> Bool {
        (a.epoch, a.batchIndex) < (b.epoch, b.batchIndex)
    }

    public var description: String { "epoch \(epoch), batch \(batchIndex)" }
}

/// Loader settings, small and `Codable` so they can sit in a job spec.
public struct DataLoaderConfig: Sendable, Equatable, Codable {
    public var batchSize: Int
    /// Shuffle every epoch (training); off keeps data-set order (evaluation).
    public var shuffle: Bool
    /// Drop the last, smaller batch of an epoch.
    public var dropLast: Bool
    public var seed: UInt64
    /// Image augmentation (ignored for text); nil for none.
    public var augmentation: ImageAugmentation?

    public init(batchSize: Int, shuffle: Bool = true, dropLast: Bool = false, seed: UInt64 = 0,
                augmentation: ImageAugmentation? = nil) {
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.seed = seed
        self.augmentation = augmentation
    }

    public func validate() throws {
        guard batchSize >= 1 && batchSize <= 1 << 20 else {
            throw DataError.invalidConfiguration("batch size \(batchSize) must be in 1...\(1 << 20)")
        }
        try augmentation?.validate()
    }
}

/// Hands out mini-batches of a ``LabeledDataset`` epoch after epoch.
///
/// The order of epoch `e` is `SeedMix.permutation(count, seed: hash(seed, e))` — a pure function
/// of seed and epoch, computed on demand — and augmentation is seeded per (seed, epoch, sample).
/// So any batch can be produced from its ``DataPosition`` alone, which is all a checkpoint needs to
/// store. Epoch `e` has ``batchesPerEpoch`` batches of ``DataLoaderConfig/batchSize`` samples (the
/// last one smaller unless `dropLast`); every sample appears exactly once per epoch (with
/// `dropLast`, at most once).
///
/// ```swift
/// var loader = try DataLoader(dataset: splits.train, config: .init(batchSize: 128, seed: 7))
/// while let batch = loader.next() { … }   // one epoch; then loader.position == (epoch 1, batch 0)
/// ```
public struct DataLoader: Sendable {
    public let dataset: any LabeledDataset
    public let config: DataLoaderConfig
    /// The batch ``next()`` will return.
    public private(set) var position: DataPosition
    private var cachedOrder: (epoch: Int, order: [Int])?

    public init(dataset: any LabeledDataset, config: DataLoaderConfig, position: DataPosition = .start) throws {
        try config.validate()
        guard dataset.count > 0 else { throw DataError.empty(file: dataset.name) }
        guard !config.dropLast || dataset.count >= config.batchSize else {
            throw DataError.invalidConfiguration("\(dataset.name): \(dataset.count) samples give no full batch of \(config.batchSize) with dropLast")
        }
        self.dataset = dataset
        self.config = config
        self.position = .start
        try seek(to: position)
    }

    /// Batches in one epoch.
    public var batchesPerEpoch: Int {
        config.dropLast ? dataset.count / config.batchSize : (dataset.count + config.batchSize - 1) / config.batchSize
    }

    /// Sample indices of epoch `epoch`, in the order they are batched.
    public func order(epoch: Int) -> [Int] {
        if let cachedOrder, cachedOrder.epoch == epoch { return cachedOrder.order }
        guard config.shuffle else { return Array(0..<dataset.count) }
        return SeedMix.permutation(count: dataset.count, seed: SeedMix.hash3(config.seed, UInt64(truncatingIfNeeded: epoch), 0x5348_5546))
    }

    /// Moves to `position` (e.g. restored from a checkpoint). `batchIndex` may equal
    /// ``batchesPerEpoch`` (the end of that epoch; ``next()`` then returns nil and moves on).
    public mutating func seek(to position: DataPosition) throws {
        guard position.epoch >= 0, position.batchIndex >= 0, position.batchIndex <= batchesPerEpoch else {
            throw DataError.invalidConfiguration("\(dataset.name): data position \(position) outside 0...\(batchesPerEpoch) batches per epoch")
        }
        self.position = position
    }

    /// The next batch of the current epoch, or nil when the epoch is exhausted; in that case the
    /// position moves to batch 0 of the next epoch, so `while let batch = loader.next()` runs exactly
    /// one epoch (or its remainder after a resume).
    public mutating func next() -> Batch? {
        guard position.batchIndex < batchesPerEpoch else {
            position = DataPosition(epoch: position.epoch + 1, batchIndex: 0)
            return nil
        }
        if cachedOrder?.epoch != position.epoch {
            cachedOrder = (position.epoch, order(epoch: position.epoch))
        }
        let batch = makeBatch(at: position, order: cachedOrder!.order)
        position.batchIndex += 1
        return batch
    }

    /// The batch at `position`, without moving (a pure function of config and position).
    public func batch(at position: DataPosition) -> Batch {
        precondition(position.epoch >= 0 && position.batchIndex >= 0 && position.batchIndex < batchesPerEpoch,
                     "DataLoader.batch(at:): \(position) outside \(batchesPerEpoch) batches per epoch")
        return makeBatch(at: position, order: order(epoch: position.epoch))
    }

    private func makeBatch(at position: DataPosition, order: [Int]) -> Batch {
        let start = position.batchIndex * config.batchSize
        let end = Swift.min(start + config.batchSize, order.count)
        let augmentation = config.augmentation.map {
            AugmentationContext(augmentation: $0, seed: config.seed, epoch: position.epoch)
        }
        var batch = dataset.makeBatch(indices: Array(order[start..<end]), augmentation: augmentation)
        batch.position = position
        return batch
    }
}
