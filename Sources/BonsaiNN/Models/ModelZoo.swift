/// What a data set feeds a model: images `[C, H, W]` (or flat features) or token sequences.
public enum InputKind: Codable, Sendable, Equatable {
    case image(channels: Int, height: Int, width: Int)
    case tokens(vocabulary: Int, maxLength: Int)
}

/// Architecture settings a job may override (all optional; defaults are the papers').
public struct ArchitectureOptions: Codable, Sendable, Equatable {
    /// MLP hidden widths (lenet300: [300, 100]).
    public var hidden: [Int]?
    /// VGG channel multiplier, or ResNet first-stage width when integral (default 1.0 / 16).
    public var width: Double?
    /// Transformer width, heads and layers (tinybert: 128, 2, 2).
    public var dim: Int?
    public var heads: Int?
    public var layers: Int?

    public init(hidden: [Int]? = nil, width: Double? = nil, dim: Int? = nil, heads: Int? = nil, layers: Int? = nil) {
        self.hidden = hidden; self.width = width; self.dim = dim; self.heads = heads; self.layers = layers
    }
}

public enum ModelZooError: Error, Equatable, CustomStringConvertible, Sendable {
    case unknownArchitecture(String)
    case incompatibleInput(architecture: String, detail: String)
    case invalidOption(field: String, detail: String)

    public var description: String {
        switch self {
        case let .unknownArchitecture(name):
            return "unknown architecture '\(name)' (known: \(ModelZoo.architectures.joined(separator: ", ")))"
        case let .incompatibleInput(architecture, detail): return "\(architecture): \(detail)"
        case let .invalidOption(field, detail): return "model option \(field): \(detail)"
        }
    }
}

/// The model zoo of `reference/models.py`, built for a data set's input and class count.
public enum ModelZoo {
    public static let architectures = ["lenet300", "lenet5", "conv2", "conv4", "conv6", "vgg11", "vgg16",
                                       "resnet20", "resnet56", "tinybert"]

    /// Builds `name` for `input` and `classes`, initialised from `rng` as PyTorch initialises it.
    /// Throws for unknown names, options out of range, and inputs the architecture cannot take.
    public static func make(_ name: String, input: InputKind, classes: Int, options: ArchitectureOptions = .init(),
                            rng: inout RandomGenerator) throws -> any Model {
        guard architectures.contains(name) else { throw ModelZooError.unknownArchitecture(name) }
        guard classes >= 2, classes <= 100_000 else { throw ModelZooError.invalidOption(field: "classes", detail: "must be in 2…100000") }
        if name == "tinybert" {
            guard case let .tokens(vocabulary, maxLength) = input else {
                throw ModelZooError.incompatibleInput(architecture: name, detail: "needs a text data set")
            }
            let dim = options.dim ?? 128, heads = options.heads ?? 2, layers = options.layers ?? 2
            guard dim > 0, dim <= 4096, heads > 0, dim % heads == 0 else {
                throw ModelZooError.invalidOption(field: "dim/heads", detail: "dim must be a positive multiple of heads (≤ 4096)")
            }
            guard (1...48).contains(layers) else { throw ModelZooError.invalidOption(field: "layers", detail: "must be in 1…48") }
            return TinyBert(vocabulary: vocabulary, dim: dim, heads: heads, layers: layers, maxLength: maxLength,
                            classes: classes, rng: &rng)
        }
        guard case let .image(channels, height, width) = input else {
            throw ModelZooError.incompatibleInput(architecture: name, detail: "needs an image data set")
        }
        switch name {
        case "lenet300":
            let hidden = options.hidden ?? [300, 100]
            guard !hidden.isEmpty, hidden.allSatisfy({ (1...65_536).contains($0) }) else {
                throw ModelZooError.invalidOption(field: "hidden", detail: "widths must be in 1…65536")
            }
            return MLP.make(inputs: channels * height * width, hidden: hidden, classes: classes, rng: &rng)
        case "lenet5":
            guard height == width, height >= 16, ((height - 4) / 2 - 4) / 2 >= 1 else {
                throw ModelZooError.incompatibleInput(architecture: name, detail: "needs square images of at least 16×16")
            }
            return LeNet5(channels: channels, classes: classes, image: height, rng: &rng)
        case "conv2", "conv4", "conv6":
            let depth = Int(name.dropFirst(4))!
            guard height == width, height % 8 == 0 || (depth == 2 && height % 2 == 0) else {
                throw ModelZooError.incompatibleInput(architecture: name, detail: "needs square images with a side divisible by 8")
            }
            return ConvNet(depth: depth, channels: channels, classes: classes, image: height, rng: &rng)
        case "vgg11", "vgg16":
            let multiplier = options.width ?? 1
            guard multiplier > 0, multiplier <= 4 else { throw ModelZooError.invalidOption(field: "width", detail: "must be in (0, 4]") }
            guard height >= 16, width >= 16 else {
                throw ModelZooError.incompatibleInput(architecture: name, detail: "needs images of at least 16×16 (four 2×2 pools)")
            }
            return VGG.make(depth: name == "vgg11" ? 11 : 16, channels: channels, classes: classes, width: multiplier, rng: &rng)
        default: // resnet20, resnet56
            let firstWidth = Int(options.width ?? 16)
            guard (1...512).contains(firstWidth) else { throw ModelZooError.invalidOption(field: "width", detail: "must be in 1…512") }
            guard height >= 4, width >= 4 else {
                throw ModelZooError.incompatibleInput(architecture: name, detail: "needs images of at least 4×4")
            }
            return ResNet(depth: name == "resnet20" ? 20 : 56, channels: channels, classes: classes, width: firstWidth, rng: &rng)
        }
    }
}
