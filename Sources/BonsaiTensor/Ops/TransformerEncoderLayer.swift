/// The parameters of PyTorch's `nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward)`, by
/// their state-dict names.
public struct TransformerEncoderLayerWeights {
    /// `self_attn.*`.
    public var selfAttention: MultiHeadAttentionWeights
    /// `linear1.weight` `[F, E]`, `linear1.bias` `[F]`.
    public var linear1Weight: Tensor, linear1Bias: Tensor
    /// `linear2.weight` `[E, F]`, `linear2.bias` `[E]`.
    public var linear2Weight: Tensor, linear2Bias: Tensor
    /// `norm1.weight`, `norm1.bias`, `norm2.weight`, `norm2.bias`, each `[E]`.
    public var norm1Weight: Tensor, norm1Bias: Tensor
    public var norm2Weight: Tensor, norm2Bias: Tensor

    /// The PyTorch names, in state-dict order.
    public static let parameterNames = MultiHeadAttentionWeights.parameterNames.map { "self_attn." + $0 }
        + ["linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
           "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"]

    public init(selfAttention: MultiHeadAttentionWeights, linear1Weight: Tensor, linear1Bias: Tensor,
                linear2Weight: Tensor, linear2Bias: Tensor, norm1Weight: Tensor, norm1Bias: Tensor,
                norm2Weight: Tensor, norm2Bias: Tensor) {
        self.selfAttention = selfAttention
        self.linear1Weight = linear1Weight; self.linear1Bias = linear1Bias
        self.linear2Weight = linear2Weight; self.linear2Bias = linear2Bias
        self.norm1Weight = norm1Weight; self.norm1Bias = norm1Bias
        self.norm2Weight = norm2Weight; self.norm2Bias = norm2Bias
    }

    /// Reads every tensor named `prefix + name` (e.g. prefix `"encoder.layers.0."`) and checks the
    /// shapes; throws a ``TensorError`` naming a missing or misshapen parameter.
    public init(parameters: [String: Tensor], prefix: String = "") throws {
        func take(_ name: String) throws -> Tensor {
            guard let tensor = parameters[prefix + name] else {
                throw TensorError.invalidArgument(op: "TransformerEncoderLayerWeights", detail: "missing parameter \(prefix + name)")
            }
            return tensor
        }
        self.init(selfAttention: try MultiHeadAttentionWeights(parameters: parameters, prefix: prefix + "self_attn."),
                  linear1Weight: try take("linear1.weight"), linear1Bias: try take("linear1.bias"),
                  linear2Weight: try take("linear2.weight"), linear2Bias: try take("linear2.bias"),
                  norm1Weight: try take("norm1.weight"), norm1Bias: try take("norm1.bias"),
                  norm2Weight: try take("norm2.weight"), norm2Bias: try take("norm2.bias"))
        try validateShapes(prefix: prefix)
    }

    /// The model dimension `E`.
    public var modelDim: Int { selfAttention.embedDim }
    /// The feed-forward dimension `F`.
    public var feedForwardDim: Int { linear1Weight.shape.first ?? 0 }

    /// Every tensor by its PyTorch name (without prefix), in state-dict order.
    public var namedParameters: [(name: String, tensor: Tensor)] {
        selfAttention.namedParameters.map { ("self_attn." + $0.name, $0.tensor) }
            + [("linear1.weight", linear1Weight), ("linear1.bias", linear1Bias),
               ("linear2.weight", linear2Weight), ("linear2.bias", linear2Bias),
               ("norm1.weight", norm1Weight), ("norm1.bias", norm1Bias),
               ("norm2.weight", norm2Weight), ("norm2.bias", norm2Bias)]
    }

    /// Throws unless every shape fits one `E` and one `F`.
    public func validateShapes(prefix: String = "") throws {
        try selfAttention.validateShapes(prefix: prefix + "self_attn.")
        let (e, f) = (modelDim, feedForwardDim)
        let expected: [String: [Int]] = [
            "linear1.weight": [f, e], "linear1.bias": [f], "linear2.weight": [e, f], "linear2.bias": [e],
            "norm1.weight": [e], "norm1.bias": [e], "norm2.weight": [e], "norm2.bias": [e],
        ]
        for (name, tensor) in namedParameters {
            if let shape = expected[name], tensor.shape != shape {
                throw TensorError.shapeMismatch(op: "TransformerEncoderLayerWeights", shapes: [tensor.shape, shape],
                                                detail: "\(prefix + name) should have shape \(shape) (E = \(e), F = \(f))")
            }
        }
    }
}

/// One post-norm encoder layer exactly as PyTorch's
/// `nn.TransformerEncoderLayer(E, heads, F, dropout=0, activation="gelu", batch_first=True)` computes
/// `layer(x, src_key_padding_mask=mask)`:
///
///     x = norm1(x + self_attn(x))
///     x = norm2(x + linear2(gelu(linear1(x))))
///
/// with exact (erf) GELU and layer norms over the last axis. `x` is `[B, T, E]`; `keyPaddingMask`
/// holds `B·T` flags laid out `[B, T]`, true at padding.
public func transformerEncoderLayer(_ x: Tensor, weights: TransformerEncoderLayerWeights, heads: Int,
                                    keyPaddingMask: [Bool]? = nil, eps: Double = 1e-5) -> Tensor {
    var unused = RandomGenerator(seed: 0)
    return transformerEncoderLayer(x, weights: weights, heads: heads, keyPaddingMask: keyPaddingMask, eps: eps,
                                   dropout: 0, training: false, rng: &unused)
}

/// ``transformerEncoderLayer(_:weights:heads:keyPaddingMask:eps:)`` with PyTorch's dropout sites, all
/// of probability `p` and active only in training, drawn from `rng` in this order: the attention
/// weights, the attention block's output (`dropout1`), after the activation (`dropout`), and the
/// feed-forward block's output (`dropout2`).
public func transformerEncoderLayer(_ x: Tensor, weights w: TransformerEncoderLayerWeights, heads: Int,
                                    keyPaddingMask: [Bool]?, eps: Double = 1e-5, dropout p: Double,
                                    training: Bool, rng: inout RandomGenerator) -> Tensor {
    precondition(x.rank == 3 && x.shape[2] == w.modelDim,
                 "transformerEncoderLayer: input \(x.shape) for model dimension \(w.modelDim)")
    var attended = multiHeadSelfAttention(x, weights: w.selfAttention, heads: heads, keyPaddingMask: keyPaddingMask,
                                          dropout: p, training: training, rng: &rng)
    attended = dropout(attended, probability: p, training: training, rng: &rng)
    let h = layerNorm(x + attended, weight: w.norm1Weight, bias: w.norm1Bias, eps: eps)

    var hidden = linear(h, weight: w.linear1Weight, bias: w.linear1Bias).gelu()
    hidden = dropout(hidden, probability: p, training: training, rng: &rng)
    var fed = linear(hidden, weight: w.linear2Weight, bias: w.linear2Bias)
    fed = dropout(fed, probability: p, training: training, rng: &rng)
    return layerNorm(h + fed, weight: w.norm2Weight, bias: w.norm2Bias, eps: eps)
}
