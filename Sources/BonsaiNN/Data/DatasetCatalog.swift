/// Image or text.
public enum DatasetKind: String, Sendable, Codable, Equatable {
    case image, text
}

/// What a built-in data set is: its name, sample shape, classes and normalisation constants.
public struct DatasetInfo: Sendable, Equatable, Codable {
    /// The registry name (`"mnist"`, `"sst2"`, …).
    public let name: String
    public let kind: DatasetKind
    /// One sample: `[C, H, W]` for images, `[L]` (the default sequence length) for text.
    public let inputShape: [Int]
    public let classNames: [String]
    /// Per-channel constants (images only); see ``Normalization`` for the formula.
    public let normalization: Normalization?
    /// Folder below the data directory.
    public let folder: String
    public let summary: String

    public var classCount: Int { classNames.count }
}

/// The data sets shipped in the repository's `data/` folder (see `data/README.md` for provenance,
/// licenses and counts).
public enum BuiltinDatasets {
    /// Fraction and seed of the fixed, stratified test split of the sets that ship without one
    /// (`digits`, `sms-spam`). Never change these: they define those sets' test sets.
    public static let fixedTestFraction = 0.2
    public static let fixedTestSeed: UInt64 = 0x00B0_5A1D

    static let digitNames = (0...9).map { "\($0)" }

    /// MNIST, 60,000 + 10,000 handwritten digits, 28×28 grey.
    /// Normalisation over the 60,000 training images (pixel/255): mean 0.1307, std 0.3081.
    public static let mnist = DatasetInfo(
        name: "mnist", kind: .image, inputShape: [1, 28, 28], classNames: digitNames,
        normalization: Normalization(mean: [0.130660476], std: [0.308107804]),
        folder: "mnist", summary: "MNIST handwritten digits, 60,000 train + 10,000 test, 28×28 grey")

    /// Fashion-MNIST, first 20,000 training + 10,000 test images, 28×28 grey.
    /// Normalisation over the 20,000 shipped training images (pixel/255).
    public static let fashionMNIST = DatasetInfo(
        name: "fashion-mnist", kind: .image, inputShape: [1, 28, 28],
        classNames: ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
        normalization: Normalization(mean: [0.285770420], std: [0.353212331]),
        folder: "fashion-mnist", summary: "Fashion-MNIST, first 20,000 train + 10,000 test, 28×28 grey")

    /// scikit-learn digits, 1,797 8×8 images with values 0..16 (scaled by 1/16); fixed stratified
    /// 80/20 train/test split. Normalisation over the 1,438 training images of that split.
    public static let digits = DatasetInfo(
        name: "digits", kind: .image, inputShape: [1, 8, 8], classNames: digitNames,
        normalization: Normalization(mean: [0.305844706], std: [0.376391321]),
        folder: "sklearn-digits", summary: "scikit-learn digits, 1,797 samples 8×8, values 0..16, seeded 80/20 split")

    /// CIFAR-10 subset: first 1,000 records of `data_batch_1` and of `test_batch`, 32×32 RGB.
    /// Normalisation per channel (R, G, B) over the 1,000 training images (pixel/255).
    public static let cifar10 = DatasetInfo(
        name: "cifar10", kind: .image, inputShape: [3, 32, 32],
        classNames: ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
        normalization: Normalization(mean: [0.490339, 0.482853, 0.445516], std: [0.245659, 0.242936, 0.261934]),
        folder: "cifar10-subset", summary: "CIFAR-10 subset, 1,000 train + 1,000 test, 32×32 RGB")

    /// SST-2 sentence level: 6,920 train / 872 dev / 1,821 test, negative/positive.
    public static let sst2 = DatasetInfo(
        name: "sst2", kind: .text, inputShape: [64], classNames: ["negative", "positive"], normalization: nil,
        folder: "text/sst2", summary: "SST-2 sentences, 6,920 train + 1,821 test (872 dev), binary sentiment")

    /// TREC question type, 6 coarse classes: 5,452 train / 500 test.
    public static let trec = DatasetInfo(
        name: "trec", kind: .text, inputShape: [40], classNames: ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"],
        normalization: nil, folder: "text/trec", summary: "TREC question classification, 5,452 train + 500 test, 6 classes")

    /// SMS Spam Collection: 5,574 messages, ham/spam; fixed stratified 80/20 train/test split.
    public static let smsSpam = DatasetInfo(
        name: "sms-spam", kind: .text, inputShape: [80], classNames: ["ham", "spam"], normalization: nil,
        folder: "text/sms-spam", summary: "SMS Spam Collection, 5,574 messages, seeded 80/20 split")

    public static let all: [DatasetInfo] = [mnist, fashionMNIST, digits, cifar10, sst2, trec, smsSpam]

    public static var names: [String] { all.map(\.name) }

    /// The built-in set called `name`.
    public static func info(named name: String) throws -> DatasetInfo {
        guard let info = all.first(where: { $0.name == name }) else {
            throw DataError.unknownDataset(name: name, known: names)
        }
        return info
    }
}
