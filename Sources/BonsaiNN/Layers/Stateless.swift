/// Layers without parameters. They are still modules so that `Sequential` numbers its children
/// exactly as PyTorch does (`features.0` conv, `features.1` ReLU, `features.2` conv …).
public final class ReLU: Module, UnaryLayer {
    public override init() { super.init() }
    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor { x.relu() }
}

public final class GELU: Module, UnaryLayer {
    public override init() { super.init() }
    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor { x.gelu() }
}

/// `nn.Flatten()`: merges every axis after the batch axis.
public final class Flatten: Module, UnaryLayer {
    public override init() { super.init() }
    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor { x.flattened(from: 1) }
}

/// `nn.MaxPool2d(kernel, stride)`.
public final class MaxPool2d: Module, UnaryLayer {
    public let kernel: Int, stride: Int
    public init(_ kernel: Int, stride: Int? = nil) {
        self.kernel = kernel
        self.stride = stride ?? kernel
        super.init()
    }
    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor { maxPool2d(x, kernel: kernel, stride: stride) }
}

/// `nn.AdaptiveAvgPool2d(1)`: NCHW → NC11 global average.
public final class GlobalAvgPool: Module, UnaryLayer {
    public override init() { super.init() }
    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        globalAvgPool2d(x).reshaped([x.shape[0], x.shape[1], 1, 1])
    }
}

/// `nn.Sequential`: children named "0", "1", … applied in order.
public final class Sequential: Module, UnaryLayer {
    public private(set) var layers: [any UnaryLayer] = []

    public init(_ layers: [any UnaryLayer]) {
        super.init()
        for layer in layers { append(layer) }
    }

    public func append(_ layer: any UnaryLayer) {
        register(child: String(layers.count), layer)
        layers.append(layer)
    }

    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        layers.reduce(x) { $1.forward($0, context: context) }
    }
}
