/// The data loader feeds the trainer: its batch at a position is a pure function of its seed and
/// that position, which is exactly the ``BatchProvider`` contract that makes resumption exact.
extension DataLoader: BatchProvider {
    public var examplesPerEpoch: Int {
        config.dropLast ? batchesPerEpoch * config.batchSize : dataset.count
    }

    public func batch(epoch: Int, index: Int) throws -> LabeledBatch {
        batch(at: DataPosition(epoch: epoch, batchIndex: index)).labeled
    }
}

extension Batch {
    /// What the model consumes: token ids and mask for text, the tensor for images.
    public var modelInput: ModelInput {
        if let ids = tokenIDs {
            let (b, l) = (inputs.shape[0], inputs.shape.count > 1 ? inputs.shape[1] : 1)
            let mask = attentionMask.map { $0.floats.map { Int($0) } } ?? Array(repeating: 1, count: ids.count)
            return .tokens(TokenBatch(ids: ids, mask: mask, batch: b, length: l))
        }
        return .dense(inputs)
    }

    public var labeled: LabeledBatch { LabeledBatch(input: modelInput, labels: labels) }
}

extension LabeledDataset {
    /// The whole set in batches of `size`, in order, without augmentation (for evaluation).
    public func evaluationBatches(size: Int = 256) -> [LabeledBatch] {
        stride(from: 0, to: count, by: Swift.max(size, 1)).map { start in
            makeBatch(indices: Array(start..<Swift.min(start + size, count)), augmentation: nil).labeled
        }
    }
}
