/// The JSON record of a compacted model: its architecture family, every layer in forward order
/// with its new shape and hyper-parameters, which original output channels and input channels
/// each layer kept, and the channel masks it came from. With the state dict it rebuilds the model
/// (``Compaction/rebuild(record:stateDict:counters:)``), here or in PyTorch (see ``Compaction``).
public struct CompactionRecord: Codable, Sendable, Equatable {
    /// Bumped when the layout changes incompatibly.
    public var format: Int
    /// `sequential` (vgg*, lenet300), `convnet` (conv*), `lenet5`, `resnet`.
    public var architecture: String
    public var layers: [LayerRecord]
    /// The kept channel indices per group.
    public var channels: [ChannelMask]

    public static let currentFormat = 1

    public init(architecture: String, layers: [LayerRecord], channels: [ChannelMask]) {
        self.format = Self.currentFormat
        self.architecture = architecture
        self.layers = layers
        self.channels = channels
    }

    public func layer(_ path: String) -> LayerRecord? { layers.first { $0.path == path } }
}

/// One layer of a compacted model. Weight layers carry their new `shape` (conv `[out, in, k, k]`,
/// linear `[out, in]`, batch norm `[C]`) and `original_shape`; `kept_outputs` are the original
/// output channels kept (in order), `kept_inputs` the original input channels kept, each covering
/// `input_block` consecutive input columns (the `H·W` of a flattened map, else 1).
public struct LayerRecord: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case conv2d, batchnorm, linear, relu, maxpool, globalavgpool, flatten
    }

    public var path: String
    public var kind: Kind
    public var shape: [Int]?
    public var originalShape: [Int]?
    public var bias: Bool?
    public var stride: Int?
    public var padding: Int?
    public var kernel: Int?
    public var momentum: Double?
    public var eps: Double?
    public var keptOutputs: [Int]?
    public var keptInputs: [Int]?
    public var inputBlock: Int?

    enum CodingKeys: String, CodingKey {
        case path, kind, shape, bias, stride, padding, kernel, momentum, eps
        case originalShape = "original_shape"
        case keptOutputs = "kept_outputs"
        case keptInputs = "kept_inputs"
        case inputBlock = "input_block"
    }

    public init(path: String, kind: Kind) {
        self.path = path
        self.kind = kind
    }

    /// A fresh (randomly initialised) layer of this record's shape; its values come from the state dict.
    func make() throws -> any UnaryLayer {
        var rng = RandomGenerator(seed: 0)
        switch kind {
        case .conv2d:
            guard let s = shape, s.count == 4, s[2] == s[3] else { throw invalid("conv2d needs a square [out, in, k, k] shape") }
            return Conv2d(s[1], s[0], kernel: s[2], stride: stride ?? 1, padding: padding ?? 0, bias: bias ?? false, rng: &rng)
        case .linear:
            guard let s = shape, s.count == 2 else { throw invalid("linear needs an [out, in] shape") }
            return Linear(s[1], s[0], bias: bias ?? false, rng: &rng)
        case .batchnorm:
            guard let s = shape, s.count == 1 else { throw invalid("batchnorm needs a [C] shape") }
            return BatchNorm(s[0], momentum: momentum ?? 0.1, eps: eps ?? 1e-5)
        case .relu: return ReLU()
        case .maxpool:
            guard let kernel else { throw invalid("maxpool needs a kernel") }
            return MaxPool2d(kernel, stride: stride ?? kernel)
        case .globalavgpool: return GlobalAvgPool()
        case .flatten: return Flatten()
        }
    }

    func invalid(_ detail: String) -> PruningError {
        PruningError.invalidSetting(field: "compaction.layers.\(path)", detail: detail)
    }

    /// The record of an existing layer (no channel information yet).
    static func describe(_ module: Module, path: String) throws -> LayerRecord {
        switch module {
        case let conv as Conv2d:
            guard conv.groups == 1 else { throw PruningError.unsupportedModel(method: "compaction", detail: "grouped convolution '\(path)'") }
            var r = LayerRecord(path: path, kind: .conv2d)
            r.shape = conv.weight.shape; r.bias = conv.bias != nil; r.stride = conv.stride; r.padding = conv.padding
            return r
        case let linear as Linear:
            var r = LayerRecord(path: path, kind: .linear)
            r.shape = linear.weight.shape; r.bias = linear.bias != nil
            return r
        case let norm as BatchNorm:
            var r = LayerRecord(path: path, kind: .batchnorm)
            r.shape = [norm.channels]; r.momentum = norm.momentum; r.eps = norm.eps
            return r
        case is ReLU: return LayerRecord(path: path, kind: .relu)
        case let pool as MaxPool2d:
            var r = LayerRecord(path: path, kind: .maxpool)
            r.kernel = pool.kernel; r.stride = pool.stride
            return r
        case is GlobalAvgPool: return LayerRecord(path: path, kind: .globalavgpool)
        case is Flatten: return LayerRecord(path: path, kind: .flatten)
        default:
            throw PruningError.unsupportedModel(method: "compaction", detail: "cannot compact layer '\(path)' of type \(type(of: module))")
        }
    }
}
