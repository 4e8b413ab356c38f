/// The parameters of PyTorch's `nn.MultiheadAttention(E, H)` (self-attention, packed in-projection),
/// under the names of its state dict.
public struct MultiHeadAttentionWeights {
    /// `in_proj_weight`, `[3E, E]`: rows `0..<E` project queries, `E..<2E` keys, `2E..<3E` values.
    public var inProjWeight: Tensor
    /// `in_proj_bias`, `[3E]`.
    public var inProjBias: Tensor
    /// `out_proj.weight`, `[E, E]`.
    public var outProjWeight: Tensor
    /// `out_proj.bias`, `[E]`.
    public var outProjBias: Tensor

    /// The PyTorch names, in state-dict order.
    public static let parameterNames = ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]

    public init(inProjWeight: Tensor, inProjBias: Tensor, outProjWeight: Tensor, outProjBias: Tensor) {
        self.inProjWeight = inProjWeight
        self.inProjBias = inProjBias
        self.outProjWeight = outProjWeight
        self.outProjBias = outProjBias
    }

    /// Reads the four tensors named `prefix + name` (e.g. prefix `"self_attn."`) from a state-dict-like
    /// dictionary and checks their shapes; throws a ``TensorError`` naming a missing or misshapen one.
    public init(parameters: [String: Tensor], prefix: String = "") throws {
        func take(_ name: String) throws -> Tensor {
            guard let tensor = parameters[prefix + name] else {
                throw TensorError.invalidArgument(op: "MultiHeadAttentionWeights", detail: "missing parameter \(prefix + name)")
            }
            return tensor
        }
        self.init(inProjWeight: try take("in_proj_weight"), inProjBias: try take("in_proj_bias"),
                  outProjWeight: try take("out_proj.weight"), outProjBias: try take("out_proj.bias"))
        try validateShapes(prefix: prefix)
    }

    /// The embedding dimension `E`.
    public var embedDim: Int { inProjWeight.shape.last ?? 0 }

    /// The tensors by PyTorch name (without prefix), in state-dict order.
    public var namedParameters: [(name: String, tensor: Tensor)] {
        zip(Self.parameterNames, [inProjWeight, inProjBias, outProjWeight, outProjBias]).map { ($0, $1) }
    }

    /// Throws unless the shapes are `[3E, E]`, `[3E]`, `[E, E]`, `[E]` for one `E`.
    public func validateShapes(prefix: String = "") throws {
        let e = embedDim
        let expected = [[3 * e, e], [3 * e], [e, e], [e]]
        for ((name, tensor), shape) in zip(namedParameters, expected) where tensor.shape != shape {
            throw TensorError.shapeMismatch(op: "MultiHeadAttentionWeights", shapes: [tensor.shape, shape],
                                            detail: "\(prefix + name) should have shape \(shape) for embedding dimension \(e)")
        }
    }
}

/// Multi-head self-attention exactly as PyTorch's `nn.MultiheadAttention(E, H, batch_first=True)`
/// computes `attn(x, x, x, key_padding_mask=mask, need_weights=False)`:
///
///     [Q K V] = x·in_projᵀ + in_bias                       (each [B, T, E], split into H heads of E/H)
///     A_h     = softmax(Q_h·K_hᵀ/√(E/H) + M) ,  M = −∞ at padded keys, 0 elsewhere
///     out     = concat_h(A_h·V_h)·out_projᵀ + out_bias
///
/// `x` is `[B, T, E]`; `keyPaddingMask`, if given, holds `B·T` flags laid out `[B, T]`, true where the
/// token is padding (PyTorch's boolean `key_padding_mask`). Padded *queries* are still computed, as
/// PyTorch's non-nested path does. A sequence whose keys are all padding gets all-zero attention
/// weights (output `out_bias` only) instead of NaN, like PyTorch's safe softmax in recent versions.
///
/// One `linear` with the whole packed in-projection (`[B, T, 3E]`, so its weight gradient is one
/// GEMM with no slice scatter), the fused ``packedSelfAttention(_:heads:keyPaddingMask:dropout:training:rng:)``
/// and the out-projection `linear`.
public func multiHeadSelfAttention(_ x: Tensor, weights: MultiHeadAttentionWeights, heads: Int,
                                   keyPaddingMask: [Bool]? = nil) -> Tensor {
    var unused = RandomGenerator(seed: 0)
    return multiHeadSelfAttention(x, weights: weights, heads: heads, keyPaddingMask: keyPaddingMask,
                                  dropout: 0, training: false, rng: &unused)
}

/// ``multiHeadSelfAttention(_:weights:heads:keyPaddingMask:)`` with dropout of probability
/// `dropout` on the attention weights in training (PyTorch's `dropout` argument of
/// `nn.MultiheadAttention`), drawn from `rng`.
public func multiHeadSelfAttention(_ x: Tensor, weights: MultiHeadAttentionWeights, heads: Int,
                                   keyPaddingMask: [Bool]?, dropout p: Double, training: Bool,
                                   rng: inout RandomGenerator) -> Tensor {
    let e = weights.embedDim
    precondition(x.rank == 3 && x.shape[2] == e, "multiHeadSelfAttention: input \(x.shape) for embedding dimension \(e)")
    precondition(heads > 0 && e % heads == 0, "multiHeadSelfAttention: \(heads) heads do not divide embedding dimension \(e)")
    if let keyPaddingMask {
        precondition(keyPaddingMask.count == x.shape[0] * x.shape[1],
                     "multiHeadSelfAttention: key padding mask of \(keyPaddingMask.count) flags for input \(x.shape)")
    }
    let qkv = linear(x, weight: weights.inProjWeight, bias: weights.inProjBias)     // [B, T, 3E]
    let context = packedSelfAttention(qkv, heads: heads, keyPaddingMask: keyPaddingMask, dropout: p,
                                      training: training, rng: &rng)               // [B, T, E]
    return linear(context, weight: weights.outProjWeight, bias: weights.outProjBias)
}
