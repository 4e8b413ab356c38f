import Foundation

/// A data set a user supplied in one of the formats the built-in loaders read, kept in a folder of
/// its own: the files as uploaded (each gzip'd or not) plus a `dataset.json` manifest written after
/// validation. The folder is self-describing, so a job only needs its path.
///
/// Parts by format (roles are also the file names inside the folder):
///
/// | format  | required                           | optional                     |
/// |---------|------------------------------------|------------------------------|
/// | `idx`   | `train_images` `[N,H,W]` u8, `train_labels` `[N]` u8 | `test_images`, `test_labels`, `classes` |
/// | `cifar` | `train` (CIFAR-10 binary records), `classes` | `test`               |
/// | `tsv`   | `train` (label TAB text), `classes` | `test`                      |
///
/// `classes` is one class name per line. Without it an IDX set gets the names `0 … K−1` with
/// `K = max label + 1`. Without a test part, a fixed stratified 20 % test split is carved from
/// `train` exactly as for the built-in `digits` set. Image sets are normalised per channel with the
/// mean and population standard deviation of the *training part after the test split is carved*
/// (the same rule as the built-in sets), recorded in the manifest so a PyTorch user can reproduce it.
public enum UploadedDataset {
    public static let manifestFile = "dataset.json"

    /// What `dataset.json` records.
    public struct Manifest: Codable, Sendable, Equatable {
        public enum Format: String, Codable, Sendable, CaseIterable { case idx, cifar, tsv }
        public var format: Format
        /// The user's label for the set (free text).
        public var name: String
        public var kind: DatasetKind
        /// `[C, H, W]` for images, `[L]` (default sequence length) for text.
        public var inputShape: [Int]
        public var classNames: [String]
        public var normalization: Normalization?
        /// IDX only: the largest pixel value (pixels are scaled by `1 / pixelMax`).
        public var pixelMax: Int?
        public var trainSamples: Int
        public var testSamples: Int
        /// Whether the test split was carved from `train` (no test part uploaded).
        public var carvedTest: Bool
        /// The parts present (their roles).
        public var parts: [String]

        enum CodingKeys: String, CodingKey {
            case format, name, kind, classNames = "class_names", normalization, parts
            case inputShape = "input_shape", pixelMax = "pixel_max", trainSamples = "train_samples"
            case testSamples = "test_samples", carvedTest = "carved_test"
        }
    }

    /// The roles a format needs and may have.
    public static func roles(for format: Manifest.Format) -> (required: [String], optional: [String]) {
        switch format {
        case .idx: (["train_images", "train_labels"], ["test_images", "test_labels", "classes"])
        case .cifar: (["train", "classes"], ["test"])
        case .tsv: (["train", "classes"], ["test"])
        }
    }

    /// Default sequence length of an uploaded text set (tokens incl. `[CLS]`/`[SEP]`).
    public static let defaultSequenceLength = 64

    /// Validates the parts in `folder` (named by role) by loading them completely, and writes the
    /// manifest. Throws ``DataError`` naming the part for anything wrong.
    @discardableResult
    public static func inspect(folder: String, format: Manifest.Format, name: String, pixelMax: Int = 255,
                               limits: DataLimits = .standard) throws -> Manifest {
        let present = Set((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
        let (required, optional) = roles(for: format)
        if let missing = required.first(where: { !present.contains($0) }) {
            throw DataError.invalidConfiguration("format '\(format.rawValue)' needs the part '\(missing)'")
        }
        if format == .idx, present.contains("test_images") != present.contains("test_labels") {
            throw DataError.invalidConfiguration("'test_images' and 'test_labels' must be given together")
        }
        guard (1...255).contains(pixelMax) else { throw DataError.invalidConfiguration("pixel_max must be in 1…255") }
        var manifest = Manifest(format: format, name: name, kind: format == .tsv ? .text : .image, inputShape: [],
                                classNames: [], normalization: nil, pixelMax: format == .idx ? pixelMax : nil,
                                trainSamples: 0, testSamples: 0, carvedTest: false,
                                parts: (required + optional).filter { present.contains($0) })
        let splits = try load(folder: folder, manifest: manifest, options: DatasetOptions(validationFraction: 0, limits: limits),
                              measure: true)
        manifest.classNames = splits.info.classNames
        manifest.inputShape = splits.info.inputShape
        manifest.normalization = splits.info.normalization
        manifest.trainSamples = splits.train.count
        manifest.testSamples = splits.test.count
        manifest.carvedTest = !manifest.parts.contains(format == .idx ? "test_images" : "test")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(manifest).write(to: URL(fileURLWithPath: folder + "/" + manifestFile), options: .atomic)
        return manifest
    }

    /// Loads a validated upload folder with the same split rules as the built-in sets.
    public static func load(folder: String, options: DatasetOptions = DatasetOptions(),
                            vocabulary: Vocabulary? = nil) throws -> LoadedDataset {
        let path = folder + "/" + manifestFile
        let manifest: Manifest
        do { manifest = try JSONDecoder().decode(Manifest.self, from: Data(DataFile.readRaw(path))) } catch let error as DataError {
            throw error
        } catch {
            throw DataError.invalidConfiguration("\(path): not a data set manifest (\(error))")
        }
        return try load(folder: folder, manifest: manifest, options: options, vocabulary: vocabulary, measure: false)
    }

    private static func load(folder: String, manifest: Manifest, options: DatasetOptions, vocabulary: Vocabulary? = nil,
                             measure: Bool) throws -> LoadedDataset {
        try options.validate()
        let limits = options.limits
        func file(_ role: String) -> String? { manifest.parts.contains(role) ? folder + "/" + role : nil }
        func bytes(_ role: String) throws -> [UInt8] { try DataFile.read(folder + "/" + role, limits: limits) }
        var classNames = try file("classes").map { _ in try TSVFormat.parseClasses(bytes("classes"), file: "classes") }
        switch manifest.format {
        case .idx:
            let pixelMax = UInt8(clamping: manifest.pixelMax ?? 255)
            let trainImages = try IDXFormat.parse(bytes("train_images"), file: "train_images", expectedRank: 3, limits: limits)
            let trainLabels = try IDXFormat.parse(bytes("train_labels"), file: "train_labels", expectedRank: 1, limits: limits)
            var testPair: (IDXArray, IDXArray)?
            if file("test_images") != nil {
                testPair = (try IDXFormat.parse(bytes("test_images"), file: "test_images", expectedRank: 3, limits: limits),
                            try IDXFormat.parse(bytes("test_labels"), file: "test_labels", expectedRank: 1, limits: limits))
            }
            if classNames == nil {
                let top = (trainLabels.data + (testPair?.1.data ?? [])).max().map(Int.init) ?? 0
                classNames = (0...top).map { "\($0)" }
            }
            let names = classNames!
            func set(_ images: IDXArray, _ labels: IDXArray, _ role: String) throws -> ImageDataset {
                try ImageDataset.fromIDX(name: manifest.name, images: images, labels: labels, labelsFile: role,
                                         classNames: names, pixelMax: pixelMax)
            }
            let train = try set(trainImages, trainLabels, "train_labels")
            let test = try testPair.map { try set($0.0, $0.1, "test_labels") }
            return .image(try splitImages(manifest, train: train, test: test, options: options, measure: measure))
        case .cifar:
            let names = classNames!
            func set(_ role: String) throws -> ImageDataset {
                let records = try CIFARFormat.parse(bytes(role), file: role, classCount: names.count)
                guard records.count > 0 else { throw DataError.empty(file: role) }
                return try ImageDataset(name: manifest.name, pixels: records.pixels, count: records.count,
                                        channels: CIFARFormat.channels, height: CIFARFormat.height, width: CIFARFormat.width,
                                        pixelMax: 255, labels: records.labels, classNames: names)
            }
            let test = try file("test").map { _ in try set("test") }
            return .image(try splitImages(manifest, train: try set("train"), test: test, options: options, measure: measure))
        case .tsv:
            let names = classNames!
            let train = try TSVFormat.parse(bytes("train"), file: "train", classCount: names.count)
            let test = try file("test").map { _ in try TSVFormat.parse(bytes("test"), file: "test", classCount: names.count) }
            let info = DatasetInfo(name: manifest.name, kind: .text, inputShape: [options.sequenceLength ?? manifest.inputShape.first ?? defaultSequenceLength],
                                   classNames: names, normalization: nil, folder: folder, summary: "uploaded text set")
            return .text(try DatasetRegistry.splitText(info, train: train, test: test, official: nil, options: options,
                                                        vocabulary: vocabulary))
        }
    }

    /// Carves the fixed test split when needed, measures normalisation on the training part (when
    /// validating) or takes it from the manifest, then carves validation.
    private static func splitImages(_ manifest: Manifest, train: ImageDataset, test: ImageDataset?, options: DatasetOptions,
                                    measure: Bool) throws -> DatasetSplits<ImageDataset> {
        var (train, test) = (train, test)
        if let given = test, given.sampleShape != train.sampleShape {
            throw DataError.sizeMismatch(file: "test", reason: "test images are \(given.sampleShape), training images \(train.sampleShape)")
        }
        if test == nil {
            let fixed = try DataSplit.stratified(labels: train.labels, fraction: BuiltinDatasets.fixedTestFraction,
                                                 seed: BuiltinDatasets.fixedTestSeed)
            guard !fixed.kept.isEmpty, !fixed.heldOut.isEmpty else {
                throw DataError.invalidConfiguration("too few training samples (\(train.count)) to carve a test split; upload a test part")
            }
            test = train.subset(fixed.heldOut)
            train = train.subset(fixed.kept)
        }
        let normalization = measure ? Normalization.measure(train.images) : manifest.normalization
        train.normalization = normalization
        test!.normalization = normalization
        let info = DatasetInfo(name: manifest.name, kind: .image, inputShape: train.sampleShape, classNames: train.classNames,
                               normalization: normalization, folder: "", summary: "uploaded image set")
        return try DatasetRegistry.splitValidation(info, train: train, test: test!, options: options)
    }
}
