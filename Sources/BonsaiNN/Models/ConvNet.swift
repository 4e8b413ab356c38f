/// Conv-2/4/6 of the lottery-ticket paper (Frankle & Carbin 2019): 3×3 convs (padding 1) with ReLU
/// and 2×2 max-pools in `features`, then `classifier` = Linear(·, 256), ReLU, Linear(256, 256), ReLU,
/// Linear(256, classes). Keys match `ConvNet(depth)` in the reference.
public final class ConvNet: Module, Model, UnaryLayer {
    public let features: Sequential
    public let classifier: Sequential

    public convenience init(depth: Int = 4, channels: Int = 3, classes: Int = 10, image: Int = 32, rng: inout RandomGenerator) {
        precondition([2, 4, 6].contains(depth), "ConvNet: depth must be 2, 4 or 6, got \(depth)")
        let plan: [Int] = [2: [64, 64, 0], 4: [64, 64, 0, 128, 128, 0], 6: [64, 64, 0, 128, 128, 0, 256, 256, 0]][depth]!
        var layers: [any UnaryLayer] = []
        var c = channels, size = image
        for width in plan {
            if width == 0 {
                layers.append(MaxPool2d(2))
                size /= 2
            } else {
                layers.append(Conv2d(c, width, kernel: 3, padding: 1, rng: &rng))
                layers.append(ReLU())
                c = width
            }
        }
        let classifier = Sequential([Linear(c * size * size, 256, rng: &rng), ReLU(), Linear(256, 256, rng: &rng), ReLU(),
                                     Linear(256, classes, rng: &rng)])
        self.init(features: Sequential(layers), classifier: classifier)
    }

    /// From ready-made `features` and `classifier` of any widths (rebuilding a compacted model).
    public init(features: Sequential, classifier: Sequential) {
        self.features = features
        self.classifier = classifier
        super.init()
        register(child: "features", features)
        register(child: "classifier", classifier)
    }

    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        classifier.forward(features.forward(x, context: context).flattened(from: 1), context: context)
    }

    public func forward(_ input: ModelInput, context: ForwardContext) -> Tensor { forwardDense(input, context: context) }
}

/// CIFAR VGG with batch norm (network slimming / polarization / SWP papers): conv (no bias), BN, ReLU
/// blocks with max-pools, then global average pooling, flatten and one linear layer, all in one
/// `Sequential` (keys `0.weight`, `1.weight`, `1.running_mean` …). `width` scales every conv's
/// channel count (rounded, at least 1).
public enum VGG {
    public static func make(depth: Int = 11, channels: Int = 3, classes: Int = 10, width: Double = 1,
                            rng: inout RandomGenerator) -> Sequential {
        let plans: [Int: [Int]] = [
            11: [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512],
            16: [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512],
        ]
        precondition(plans[depth] != nil, "VGG: depth must be 11 or 16, got \(depth)")
        var layers: [any UnaryLayer] = []
        var c = channels
        for v in plans[depth]! {
            if v == 0 {
                layers.append(MaxPool2d(2))
            } else {
                let w = Swift.max(1, Int((Double(v) * width).rounded(.toNearestOrEven)))
                layers.append(Conv2d(c, w, kernel: 3, padding: 1, bias: false, rng: &rng))
                layers.append(BatchNorm(w))
                layers.append(ReLU())
                c = w
            }
        }
        layers += [GlobalAvgPool(), Flatten(), Linear(c, classes, rng: &rng)]
        return Sequential(layers)
    }
}
