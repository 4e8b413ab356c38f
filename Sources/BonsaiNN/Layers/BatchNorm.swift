/// `nn.BatchNorm1d` / `nn.BatchNorm2d`: per-channel normalisation of `[N, C]` or `[N, C, H, W]`
/// with learnable scale (`weight`, γ) and shift (`bias`, β) and running statistics buffers
/// (`running_mean`, `running_var`, `num_batches_tracked`) — the same state-dict keys as PyTorch.
///
/// Training mode normalises with the batch statistics and updates the running ones with momentum
/// (unbiased variance); evaluation mode uses the running statistics.
public final class BatchNorm: Module, UnaryLayer {
    public let weight: Parameter
    public let bias: Parameter
    public let runningMean: Buffer
    public let runningVar: Buffer
    public let batchesTracked: Buffer
    public let momentum: Double
    public let eps: Double

    public init(_ channels: Int, momentum: Double = 0.1, eps: Double = 1e-5) {
        weight = Parameter(.ones([channels]), role: .normWeight)
        bias = Parameter(.zeros([channels]), role: .normBias)
        runningMean = Buffer(.tensor(.zeros([channels])))
        runningVar = Buffer(.tensor(.ones([channels])))
        batchesTracked = Buffer(.count(0))
        self.momentum = momentum
        self.eps = eps
        super.init()
        register(parameter: "weight", weight)
        register(parameter: "bias", bias)
        register(buffer: "running_mean", runningMean)
        register(buffer: "running_var", runningVar)
        register(buffer: "num_batches_tracked", batchesTracked)
    }

    public var channels: Int { weight.shape[0] }

    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        var mean = runningMean.tensor ?? .zeros([channels])
        var variance = runningVar.tensor ?? .ones([channels])
        let out = batchNorm(x, weight: weight.effective, bias: bias.effective, runningMean: &mean,
                            runningVar: &variance, training: context.training, momentum: momentum, eps: eps)
        if context.training {
            runningMean.value = .tensor(mean)
            runningVar.value = .tensor(variance)
            if case let .count(n) = batchesTracked.value { batchesTracked.value = .count(n + 1) }
        }
        return out
    }
}

/// `nn.LayerNorm(dim)` over the last axis, with `weight` and `bias`.
public final class LayerNorm: Module, UnaryLayer {
    public let weight: Parameter
    public let bias: Parameter
    public let eps: Double

    public init(_ dim: Int, eps: Double = 1e-5) {
        weight = Parameter(.ones([dim]), role: .normWeight)
        bias = Parameter(.zeros([dim]), role: .normBias)
        self.eps = eps
        super.init()
        register(parameter: "weight", weight)
        register(parameter: "bias", bias)
    }

    public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
        layerNorm(x, weight: weight.effective, bias: bias.effective, eps: eps)
    }
}
