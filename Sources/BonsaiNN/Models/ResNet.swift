/// The basic residual block of CIFAR ResNets: `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`,
/// with a projection shortcut (1×1 conv + BN, "option B") when the stride or width changes, and an
/// empty `shortcut` (identity, no keys) otherwise. The inner width (`conv1` outputs) may be smaller than
/// the output width when the block is built from ready-made layers (a channel-pruned, compacted block).
public final class BasicBlock: Module, UnaryLayer {
    public let conv1: Conv2d, bn1: BatchNorm, conv2: Conv2d, bn2: BatchNorm
    public let shortcut: Sequential

    public convenience init(_ cin: Int, _ cout: Int, stride: Int, rng: inout RandomGenerator) {
        let conv1 = Conv2d(cin, cout, kernel: 3, stride: stride, padding: 1, bias: false, rng: &rng)
        let conv2 = Conv2d(cout, cout, kernel: 3, padding: 1, bias: false, rng: &rng)
        let shortcut = stride != 1 || cin != cout
            ? Sequential([Conv2d(cin, cout, kernel: 1, stride: stride, bias: false, rng: &rng), BatchNorm(cout)])
            : Sequential([])
        self.init(conv1: conv1, bn1: BatchNorm(cout), conv2: conv2, bn2: BatchNorm(cout), shortcut: shortcut)
    }

    public init(conv1: Conv2d, bn1: BatchNorm, conv2: Conv2d, bn2: BatchNorm, shortcut: Sequential) {
        self.conv1 = conv1; self.bn1 = bn1; self.conv2 = conv2; self.bn2 = bn2; self.shortcut = shortcut
        super.init()
        register(child: "conv1", conv1)
        register(child: "bn1", bn1)
        register(child: "conv2", conv2)
        register(child: "bn2", bn2)
        register(child: "shortcut", shortcut)
    }

    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        let out = bn1.forward(conv1.forward(x, context: context), context: context).relu()
        let residual = bn2.forward(conv2.forward(out, context: context), context: context)
        return (residual + shortcut.forward(x, context: context)).relu()
    }
}

/// CIFAR ResNet-(6n+2) of He et al. 2016 (depth 20 → n = 3, 56 → n = 9). `width` is the first
/// stage's width; the stages have width, 2·width, 4·width and strides 1, 2, 2.
public final class ResNet: Module, Model, UnaryLayer {
    public let conv1: Conv2d, bn1: BatchNorm
    public let layer1: Sequential, layer2: Sequential, layer3: Sequential
    public let fc: Linear

    public convenience init(depth: Int = 20, channels: Int = 3, classes: Int = 10, width: Int = 16, rng: inout RandomGenerator) {
        precondition(depth >= 8 && (depth - 2) % 6 == 0, "ResNet: depth must be 6n+2 with n ≥ 1, got \(depth)")
        let n = (depth - 2) / 6
        let conv1 = Conv2d(channels, width, kernel: 3, padding: 1, bias: false, rng: &rng)
        var stages: [Sequential] = []
        var cin = width
        for (i, stride) in [1, 2, 2].enumerated() {
            let cout = width << i
            var blocks: [any UnaryLayer] = []
            for b in 0..<n {
                blocks.append(BasicBlock(cin, cout, stride: b == 0 ? stride : 1, rng: &rng))
                cin = cout
            }
            stages.append(Sequential(blocks))
        }
        self.init(conv1: conv1, bn1: BatchNorm(width), stages: stages, fc: Linear(cin, classes, rng: &rng))
    }

    /// From a ready-made stem, three stages of blocks and classifier (rebuilding a compacted model).
    public init(conv1: Conv2d, bn1: BatchNorm, stages: [Sequential], fc: Linear) {
        precondition(stages.count == 3, "ResNet: expected 3 stages, got \(stages.count)")
        self.conv1 = conv1; self.bn1 = bn1
        (layer1, layer2, layer3) = (stages[0], stages[1], stages[2])
        self.fc = fc
        super.init()
        register(child: "conv1", conv1)
        register(child: "bn1", bn1)
        register(child: "layer1", layer1)
        register(child: "layer2", layer2)
        register(child: "layer3", layer3)
        register(child: "fc", fc)
    }

    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        var h = bn1.forward(conv1.forward(x, context: context), context: context).relu()
        h = layer3.forward(layer2.forward(layer1.forward(h, context: context), context: context), context: context)
        return fc.forward(globalAvgPool2d(h), context: context)
    }

    public func forward(_ input: ModelInput, context: ForwardContext) -> Tensor { forwardDense(input, context: context) }
}
