/// A data set made ready for training: the loader over the training split, evaluation batches
/// (validation when held out, and test), and what a model built for it needs to know.
public struct PreparedData: Sendable {
    public let info: DatasetInfo
    public let loader: DataLoader
    public let validation: [LabeledBatch]?
    public let test: [LabeledBatch]
    public let input: InputKind
    public let vocabulary: Vocabulary?
    /// The data directory the set was read from (nil: the default one, ``DataDirectory/locate(explicit:)``).
    public let directory: DataDirectory?

    public var classes: Int { info.classCount }

    /// Loads `spec` from `directory` (nil: the default data directory), with the training order
    /// and augmentation seeded by `seed`. An uploaded set (`spec.upload`) is read from the folder
    /// `uploadFolder` maps its id to (default: the id is itself the folder's path).
    public static func load(_ spec: DatasetSpec, batchSize: Int, seed: UInt64, directory: DataDirectory? = nil,
                            vocabulary: Vocabulary? = nil,
                            uploadFolder: (String) throws -> String = { $0 }) throws -> PreparedData {
        let options = DatasetOptions(validationFraction: spec.validation ?? 0.1, splitSeed: seed,
                                     sequenceLength: spec.sequenceLength)
        try options.validate()
        let loaded = try spec.upload.map { try UploadedDataset.load(folder: uploadFolder($0), options: options, vocabulary: vocabulary) }
            ?? DatasetRegistry.load(spec.name, from: directory, options: options, vocabulary: vocabulary)
        let info = loaded.info
        let augmentation: ImageAugmentation? = info.kind == .image && (spec.augment ?? (spec.name == "cifar10"))
            ? ImageAugmentation(padding: info.inputShape.last.map { $0 >= 32 ? 4 : 2 } ?? 0, horizontalFlip: spec.name == "cifar10")
            : nil
        let loader = try DataLoader(dataset: loaded.train,
                                    config: DataLoaderConfig(batchSize: batchSize, shuffle: true, dropLast: false, seed: seed,
                                                             augmentation: augmentation))
        let input: InputKind
        switch loaded {
        case let .image(splits):
            let shape = splits.train.sampleShape
            input = .image(channels: shape[0], height: shape[1], width: shape[2])
        case let .text(splits):
            input = .tokens(vocabulary: splits.train.vocabulary.count, maxLength: splits.train.sequenceLength)
        }
        return PreparedData(info: info, loader: loader, validation: loaded.validation?.evaluationBatches(),
                            test: loaded.test.evaluationBatches(), input: input, vocabulary: loaded.vocabulary,
                            directory: directory)
    }

    /// Builds `spec`'s architecture for this data (input shape, class count, vocabulary).
    public func makeModel(_ spec: ModelSpec, seed: UInt64) throws -> any Model {
        var rng = RandomGenerator(seed: seed)
        return try ModelZoo.make(spec.architecture, input: input, classes: classes, options: spec.options ?? .init(), rng: &rng)
    }
}
