/// The model classes a compaction rebuilds into. They have the same children, parameter paths and
/// forward functions as the zoo's `ConvNet`, `LeNet5` and `ResNet`/`BasicBlock`, but take their
/// layers ready-made, so every width can differ (a ResNet block's inner width in particular).
/// Chains of the zoo that are one `Sequential` (`vgg*`, `lenet300`) are rebuilt as a `Sequential`.

/// `ConvNet` with given layers: `classifier(features(x).flatten(1))`.
public final class CompactConvNet: Module, Model, UnaryLayer {
    public let features: Sequential
    public let classifier: Sequential

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

    public func forward(_ input: ModelInput, context: ForwardContext) -> Tensor { forward(denseInput(input, of: self), context: context) }
}

/// `LeNet5` with given layers: `fc2(relu(fc1(flatten(pool(relu(conv2(pool(relu(conv1(x))))))))))`.
public final class CompactLeNet5: Module, Model, UnaryLayer {
    public let conv1: Conv2d, conv2: Conv2d, fc1: Linear, fc2: Linear

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

    public func forward(_ input: ModelInput, context: ForwardContext) -> Tensor { forward(denseInput(input, of: self), context: context) }
}

/// `BasicBlock` whose inner width (`conv1` outputs, `bn1`, `conv2` inputs) may be smaller than its
/// output width: `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`.
public final class CompactBasicBlock: Module, UnaryLayer {
    public let conv1: Conv2d, bn1: BatchNorm, conv2: Conv2d, bn2: BatchNorm
    public let shortcut: Sequential

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

/// `ResNet` with given stem, stages of blocks and classifier.
public final class CompactResNet: Module, Model, UnaryLayer {
    public let conv1: Conv2d, bn1: BatchNorm
    public let layer1: Sequential, layer2: Sequential, layer3: Sequential
    public let fc: Linear

    public init(conv1: Conv2d, bn1: BatchNorm, stages: [Sequential], fc: Linear) {
        precondition(stages.count == 3, "CompactResNet: expected 3 stages, got \(stages.count)")
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

    public func forward(_ input: ModelInput, context: ForwardContext) -> Tensor { forward(denseInput(input, of: self), context: context) }
}

func denseInput(_ input: ModelInput, of model: Module) -> Tensor {
    guard case let .dense(x) = input else { preconditionFailure("\(type(of: model)): expects a dense (image or feature) input, got tokens") }
    return x
}
