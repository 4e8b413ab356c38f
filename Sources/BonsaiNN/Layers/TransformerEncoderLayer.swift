/// `nn.MultiheadAttention(E, H)` as a parameter holder: `in_proj_weight [3E, E]` (Xavier-uniform),
/// `in_proj_bias [3E]` (zeros) and `out_proj` (a Linear whose bias PyTorch zeroes).
public final class MultiHeadAttention: Module {
    public let inProjWeight: Parameter, inProjBias: Parameter
    public let outProj: Linear

    public init(_ dim: Int, rng: inout RandomGenerator) {
        inProjWeight = Parameter(Initializer.xavierUniform([3 * dim, dim], using: &rng), role: .attentionWeight)
        inProjBias = Parameter(.zeros([3 * dim]), role: .bias)
        outProj = Linear(dim, dim, rng: &rng)
        outProj.bias?.assign(.zeros([dim]))
        super.init()
        register(parameter: "in_proj_weight", inProjWeight)
        register(parameter: "in_proj_bias", inProjBias)
        register(child: "out_proj", outProj)
    }

    var weights: MultiHeadAttentionWeights {
        MultiHeadAttentionWeights(inProjWeight: inProjWeight.effective, inProjBias: inProjBias.effective,
                                  outProjWeight: outProj.weight.effective,
                                  outProjBias: outProj.bias?.effective ?? .zeros([outProj.outFeatures]))
    }
}

/// `nn.TransformerEncoderLayer(E, H, F, dropout, activation="gelu", batch_first=True)`, post-norm,
/// with PyTorch's child names (`self_attn`, `linear1`, `linear2`, `norm1`, `norm2`).
public final class TransformerEncoderLayer: Module {
    public let selfAttention: MultiHeadAttention
    public let linear1: Linear, linear2: Linear
    public let norm1: LayerNorm, norm2: LayerNorm
    public let heads: Int
    public let dropout: Double

    public init(dim: Int, heads: Int, feedForward: Int, dropout: Double = 0, rng: inout RandomGenerator) {
        selfAttention = MultiHeadAttention(dim, rng: &rng)
        linear1 = Linear(dim, feedForward, rng: &rng)
        linear2 = Linear(feedForward, dim, rng: &rng)
        norm1 = LayerNorm(dim)
        norm2 = LayerNorm(dim)
        self.heads = heads
        self.dropout = dropout
        super.init()
        register(child: "self_attn", selfAttention)
        register(child: "linear1", linear1)
        register(child: "linear2", linear2)
        register(child: "norm1", norm1)
        register(child: "norm2", norm2)
    }

    /// `x` is `[B, T, E]`; `padding` holds `B·T` flags, true at padding tokens.
    public func forward(_ x: Tensor, padding: [Bool]?, context: ForwardContext) -> Tensor {
        let weights = TransformerEncoderLayerWeights(
            selfAttention: selfAttention.weights,
            linear1Weight: linear1.weight.effective, linear1Bias: linear1.bias?.effective ?? .zeros([linear1.outFeatures]),
            linear2Weight: linear2.weight.effective, linear2Bias: linear2.bias?.effective ?? .zeros([linear2.outFeatures]),
            norm1Weight: norm1.weight.effective, norm1Bias: norm1.bias.effective,
            norm2Weight: norm2.weight.effective, norm2Bias: norm2.bias.effective)
        return transformerEncoderLayer(x, weights: weights, heads: heads, keyPaddingMask: padding, eps: norm1.eps,
                                       dropout: dropout, training: context.training, rng: &context.rng)
    }
}

/// A list of modules named "0", "1", … (PyTorch `nn.ModuleList`).
public final class ModuleList<Element: Module>: Module {
    public private(set) var items: [Element] = []

    public init(_ items: [Element]) {
        super.init()
        for item in items { register(child: String(self.items.count), item); self.items.append(item) }
    }
}
