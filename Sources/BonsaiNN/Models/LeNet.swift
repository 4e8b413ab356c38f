/// LeNet-300-100 (and any MLP): `Flatten, Linear, ReLU, …, Linear` as one `Sequential`, so the keys
/// are `1.weight`, `1.bias`, `3.weight`, … exactly as `mlp()` in the reference.
public enum MLP {
    public static func make(inputs: Int = 784, hidden: [Int] = [300, 100], classes: Int = 10,
                            rng: inout RandomGenerator) -> Sequential {
        var layers: [any UnaryLayer] = [Flatten()]
        var last = inputs
        for width in hidden {
            layers.append(Linear(last, width, rng: &rng))
            layers.append(ReLU())
            last = width
        }
        layers.append(Linear(last, classes, rng: &rng))
        return Sequential(layers)
    }
}

/// The Caffe LeNet-5 (20-50-500) of Han et al. 2015 for 1×28×28 inputs: two 5×5 convs each followed
/// by ReLU and 2×2 max-pooling, then fc1 (800→500) and fc2.
public final class LeNet5: Module, Model, UnaryLayer {
    public let conv1: Conv2d, conv2: Conv2d, fc1: Linear, fc2: Linear

    public convenience init(channels: Int = 1, classes: Int = 10, image: Int = 28, rng: inout RandomGenerator) {
        let size = ((image - 4) / 2 - 4) / 2
        let conv1 = Conv2d(channels, 20, kernel: 5, rng: &rng)
        let conv2 = Conv2d(20, 50, kernel: 5, rng: &rng)
        let fc1 = Linear(50 * size * size, 500, rng: &rng)
        self.init(conv1: conv1, conv2: conv2, fc1: fc1, fc2: Linear(500, classes, rng: &rng))
    }

    /// From ready-made layers of any widths (how a channel-pruned model is rebuilt after compaction).
    public init(conv1: Conv2d, conv2: Conv2d, fc1: Linear, fc2: Linear) {
        self.conv1 = conv1; self.conv2 = conv2; self.fc1 = fc1; self.fc2 = fc2
        super.init()
        register(child: "conv1", conv1)
        register(child: "conv2", conv2)
        register(child: "fc1", fc1)
        register(child: "fc2", fc2)
    }

    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        var h = maxPool2d(conv1.forward(x, context: context).relu(), kernel: 2)
        h = maxPool2d(conv2.forward(h, context: context).relu(), kernel: 2)
        return fc2.forward(fc1.forward(h.flattened(from: 1), context: context).relu(), context: context)
    }

    public func forward(_ input: ModelInput, context: ForwardContext) -> Tensor { forwardDense(input, context: context) }
}
