/// How to load a built-in data set.
public struct DatasetOptions: Sendable, Equatable, Codable {
    /// Fraction of the training split held out as validation (seeded permutation); 0 for none.
    public var validationFraction: Double
    /// Seed of the validation split.
    public var splitSeed: UInt64
    /// Use the set's official validation file instead of carving one (only `sst2` has one, `dev.tsv`).
    public var preferOfficialValidation: Bool
    /// Text: tokens per sample including `[CLS]`/`[SEP]`; nil for the set's default.
    public var sequenceLength: Int?
    /// Text: how to build the vocabulary from the training part when none is given.
    public var vocabulary: VocabularyOptions
    public var limits: DataLimits

    public init(validationFraction: Double = 0.1, splitSeed: UInt64 = 0, preferOfficialValidation: Bool = false,
                sequenceLength: Int? = nil, vocabulary: VocabularyOptions = VocabularyOptions(),
                limits: DataLimits = .standard) {
        self.validationFraction = validationFraction
        self.splitSeed = splitSeed
        self.preferOfficialValidation = preferOfficialValidation
        self.sequenceLength = sequenceLength
        self.vocabulary = vocabulary
        self.limits = limits
    }

    public func validate() throws {
        guard validationFraction.isFinite, validationFraction >= 0, validationFraction <= 0.5 else {
            throw DataError.invalidConfiguration("validation fraction \(validationFraction) must be in [0, 0.5]")
        }
        if let sequenceLength, !(2...4096).contains(sequenceLength) {
            throw DataError.invalidConfiguration("sequence length \(sequenceLength) must be in 2...4096")
        }
        try vocabulary.validate()
    }
}

/// The splits of one data set.
public struct DatasetSplits<Samples: LabeledDataset>: Sendable {
    public let info: DatasetInfo
    /// The training split minus the validation samples.
    public let train: Samples
    /// Held out from the training split (nil when the fraction is 0).
    public let validation: Samples?
    public let test: Samples
}

/// A loaded built-in data set of either kind.
public enum LoadedDataset: Sendable {
    case image(DatasetSplits<ImageDataset>)
    case text(DatasetSplits<TextDataset>)

    public var info: DatasetInfo {
        switch self { case let .image(s): s.info; case let .text(s): s.info }
    }
    public var train: any LabeledDataset {
        switch self { case let .image(s): s.train; case let .text(s): s.train }
    }
    public var validation: (any LabeledDataset)? {
        switch self { case let .image(s): s.validation; case let .text(s): s.validation }
    }
    public var test: any LabeledDataset {
        switch self { case let .image(s): s.test; case let .text(s): s.test }
    }
    /// The vocabulary of a text set (save it with the model).
    public var vocabulary: Vocabulary? {
        if case let .text(s) = self { return s.train.vocabulary }
        return nil
    }
}

/// Loads the built-in data sets by name from a ``DataDirectory``.
public enum DatasetRegistry {
    /// Loads `name` (one of ``BuiltinDatasets/names``). For text sets, `vocabulary` (e.g. the one
    /// saved with a model) is used as is; without it one is built from the training part.
    /// `directory` nil means ``DataDirectory/locate(explicit:environment:)``.
    public static func load(_ name: String, from directory: DataDirectory? = nil, options: DatasetOptions = DatasetOptions(),
                            vocabulary: Vocabulary? = nil) throws -> LoadedDataset {
        let info = try BuiltinDatasets.info(named: name)
        let directory = try directory ?? DataDirectory.locate()
        switch info.kind {
        case .image: return .image(try loadImages(info, from: directory, options: options))
        case .text: return .text(try loadText(info, from: directory, options: options, vocabulary: vocabulary))
        }
    }

    /// Loads an image set by name.
    public static func images(_ name: String, from directory: DataDirectory? = nil,
                              options: DatasetOptions = DatasetOptions()) throws -> DatasetSplits<ImageDataset> {
        let info = try BuiltinDatasets.info(named: name)
        let directory = try directory ?? DataDirectory.locate()
        guard info.kind == .image else { throw DataError.invalidConfiguration("'\(name)' is a text data set") }
        return try loadImages(info, from: directory, options: options)
    }

    /// Loads a text set by name.
    public static func text(_ name: String, from directory: DataDirectory? = nil, options: DatasetOptions = DatasetOptions(),
                            vocabulary: Vocabulary? = nil) throws -> DatasetSplits<TextDataset> {
        let info = try BuiltinDatasets.info(named: name)
        let directory = try directory ?? DataDirectory.locate()
        guard info.kind == .text else { throw DataError.invalidConfiguration("'\(name)' is an image data set") }
        return try loadText(info, from: directory, options: options, vocabulary: vocabulary)
    }

    // MARK: Images

    /// The training file(s) and test file(s) of an image set, as un-split data sets.
    static func rawImageSplits(_ info: DatasetInfo, from directory: DataDirectory,
                               limits: DataLimits) throws -> (train: ImageDataset, test: ImageDataset?) {
        let folder = directory.file(info.folder)
        let norm = info.normalization
        switch info.name {
        case "mnist", "fashion-mnist":
            let train = try idxImages(info, folder, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", pixelMax: 255, limits)
            let test = try idxImages(info, folder, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", pixelMax: 255, limits)
            return (train, test)
        case "digits":
            return (try idxImages(info, folder, "digits-images-idx3-ubyte", "digits-labels-idx1-ubyte", pixelMax: 16, limits), nil)
        case "cifar10":
            let names = try TSVFormat.loadClasses(DataFile.join(folder, "batches.meta.txt"), limits: limits)
            guard names == info.classNames else {
                throw DataError.sizeMismatch(file: DataFile.join(folder, "batches.meta.txt"), reason: "class names \(names), expected \(info.classNames)")
            }
            func cifar(_ file: String) throws -> ImageDataset {
                try ImageDataset.loadCIFAR(name: info.name, paths: [DataFile.join(folder, file)], classNames: names,
                                           normalization: norm, limits: limits)
            }
            return (try cifar("data_batch_1-first1000.bin.gz"), try cifar("test_batch-first1000.bin.gz"))
        default:
            throw DataError.unknownDataset(name: info.name, known: BuiltinDatasets.names)
        }
    }

    static func loadImages(_ info: DatasetInfo, from directory: DataDirectory,
                           options: DatasetOptions) throws -> DatasetSplits<ImageDataset> {
        try options.validate()
        var (train, test) = try rawImageSplits(info, from: directory, limits: options.limits)
        if test == nil {
            let fixed = try DataSplit.stratified(labels: train.labels, fraction: BuiltinDatasets.fixedTestFraction,
                                                 seed: BuiltinDatasets.fixedTestSeed)
            test = train.subset(fixed.heldOut)
            train = train.subset(fixed.kept)
        }
        return try splitValidation(info, train: train, test: test!, options: options)
    }

    /// Carves the seeded validation part out of `train` (none when the fraction is 0).
    static func splitValidation(_ info: DatasetInfo, train: ImageDataset, test: ImageDataset,
                                options: DatasetOptions) throws -> DatasetSplits<ImageDataset> {
        let carved = try DataSplit.carve(count: train.count, fraction: options.validationFraction, seed: options.splitSeed)
        if carved.heldOut.isEmpty { return DatasetSplits(info: info, train: train, validation: nil, test: test) }
        return DatasetSplits(info: info, train: train.subset(carved.kept), validation: train.subset(carved.heldOut), test: test)
    }

    /// An image set from an IDX image file (or parts) and its label file (or parts).
    static func idxImages(_ info: DatasetInfo, _ folder: String, _ imagesBase: String, _ labelsBase: String,
                          pixelMax: UInt8, _ limits: DataLimits) throws -> ImageDataset {
        let images = try IDXFormat.load(directory: folder, baseName: imagesBase, expectedRank: 3, limits: limits)
        let labels = try IDXFormat.load(directory: folder, baseName: labelsBase, expectedRank: 1, limits: limits)
        return try ImageDataset.fromIDX(name: info.name, images: images, labels: labels,
                                        labelsFile: DataFile.join(folder, labelsBase), classNames: info.classNames,
                                        pixelMax: pixelMax, normalization: info.normalization)
    }

    // MARK: Text

    static func loadText(_ info: DatasetInfo, from directory: DataDirectory, options: DatasetOptions,
                         vocabulary given: Vocabulary?) throws -> DatasetSplits<TextDataset> {
        try options.validate()
        let raw = try rawTextSplits(info, from: directory, options: options)
        return try splitText(info, train: raw.train, test: raw.test, official: raw.official, options: options, vocabulary: given)
    }

    /// The training part, test part and (SST-2, when preferred) official validation part of a text
    /// set as raw samples, before any validation carve or encoding.
    static func rawTextSplits(_ info: DatasetInfo, from directory: DataDirectory,
                              options: DatasetOptions) throws -> (train: TextSamples, test: TextSamples, official: TextSamples?) {
        let folder = directory.file(info.folder)
        let limits = options.limits
        let classesFile = DataFile.join(folder, "classes.txt")
        let names = try TSVFormat.loadClasses(classesFile, limits: limits)
        guard names == info.classNames else {
            throw DataError.sizeMismatch(file: classesFile, reason: "class names \(names), expected \(info.classNames)")
        }
        func tsv(_ file: String) throws -> TextSamples {
            try TSVFormat.load(DataFile.join(folder, file), classCount: names.count, limits: limits)
        }
        switch info.name {
        case "sst2":
            return (try tsv("train.tsv"), try tsv("test.tsv"), options.preferOfficialValidation ? try tsv("dev.tsv") : nil)
        case "trec":
            return (try tsv("train.tsv"), try tsv("test.tsv"), nil)
        case "sms-spam":
            let all = try tsv("sms_spam.tsv")
            let fixed = try DataSplit.stratified(labels: all.labels, fraction: BuiltinDatasets.fixedTestFraction,
                                                 seed: BuiltinDatasets.fixedTestSeed)
            return (all.subset(fixed.kept), all.subset(fixed.heldOut), nil)
        default:
            throw DataError.unknownDataset(name: info.name, known: BuiltinDatasets.names)
        }
    }

    /// Builds the text splits: the official validation part or a seeded one carved from `train`,
    /// the vocabulary (given, or built from the training part), and the encoded sets.
    static func splitText(_ info: DatasetInfo, train: TextSamples, test: TextSamples?, official: TextSamples?,
                          options: DatasetOptions, vocabulary given: Vocabulary?) throws -> DatasetSplits<TextDataset> {
        var (train, test) = (train, test)
        if test == nil {
            let fixed = try DataSplit.stratified(labels: train.labels, fraction: BuiltinDatasets.fixedTestFraction,
                                                 seed: BuiltinDatasets.fixedTestSeed)
            (train, test) = (train.subset(fixed.kept), train.subset(fixed.heldOut))
        }
        var validation = official
        if validation == nil {
            let carved = try DataSplit.carve(count: train.count, fraction: options.validationFraction, seed: options.splitSeed)
            if !carved.heldOut.isEmpty {
                validation = train.subset(carved.heldOut)
                train = train.subset(carved.kept)
            }
        }
        let vocabulary = try given ?? Vocabulary.build(from: train.texts, options: options.vocabulary)
        let length = options.sequenceLength ?? info.inputShape[0]
        let names = info.classNames
        func encode(_ samples: TextSamples) throws -> TextDataset {
            try TextDataset(name: info.name, samples: samples, vocabulary: vocabulary, sequenceLength: length, classNames: names)
        }
        return DatasetSplits(info: info, train: try encode(train), validation: try validation.map(encode), test: try encode(test!))
    }
}
