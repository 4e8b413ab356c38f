/// `nn.Linear(in, out, bias)`: `y = x·Wᵀ + b` with `weight [out, in]` and `bias [out]`, initialised as
/// PyTorch does (Kaiming-uniform with a = √5, i.e. U(±1/√in), for both).
public final class Linear: Module, UnaryLayer {
    public let weight: Parameter
    public let bias: Parameter?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, rng: inout RandomGenerator) {
        let shape = [outFeatures, inFeatures]
        weight = Parameter(Initializer.kaimingUniform(shape, using: &rng), role: .linearWeight)
        self.bias = bias ? Parameter(Initializer.biasUniform(count: outFeatures, weightShape: shape, using: &rng), role: .bias) : nil
        super.init()
        register(parameter: "weight", weight)
        if let b = self.bias { register(parameter: "bias", b) }
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        linear(x, weight: weight.effective, bias: bias?.effective)
    }
}

/// `nn.Conv2d(in, out, k, stride, padding, groups, bias)` on NCHW inputs, weight `[out, in/groups, k, k]`,
/// initialised as PyTorch does (Kaiming-uniform a = √5; bias U(±1/√fan_in)).
public final class Conv2d: Module, UnaryLayer {
    public let weight: Parameter
    public let bias: Parameter?
    public let stride: Int, padding: Int, groups: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                groups: Int = 1, bias: Bool = true, rng: inout RandomGenerator) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0,
                     "Conv2d: channels \(inChannels)→\(outChannels) not divisible by groups \(groups)")
        let shape = [outChannels, inChannels / groups, kernel, kernel]
        weight = Parameter(Initializer.kaimingUniform(shape, using: &rng), role: .convWeight)
        self.bias = bias ? Parameter(Initializer.biasUniform(count: outChannels, weightShape: shape, using: &rng), role: .bias) : nil
        self.stride = stride
        self.padding = padding
        self.groups = groups
        super.init()
        register(parameter: "weight", weight)
        if let b = self.bias { register(parameter: "bias", b) }
    }

    public var inChannels: Int { weight.shape[1] * groups }
    public var outChannels: Int { weight.shape[0] }
    public var kernel: Int { weight.shape[2] }

    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        conv2d(x, weight: weight.effective, bias: bias?.effective, stride: stride, padding: padding, groups: groups)
    }
}
