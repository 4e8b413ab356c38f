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
/// Composite of `linear`, `reshaped`, `permuted`, `sliced`, `matmul`, `softmax` and `+`, so every
/// gradient comes from those ops' rules. Queries are scaled by `1/√(E/H)` before the product (T·Dh
/// multiplications instead of T·T).
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
    let (b, t, dh) = (x.shape[0], x.shape[1], e / heads)
    if let keyPaddingMask {
        precondition(keyPaddingMask.count == b * t, "multiHeadSelfAttention: key padding mask of \(keyPaddingMask.count) flags for input \(x.shape)")
    }
    // Q, K, V from the row blocks of the packed projection (axis-0 slices share storage, and their
    // backward scatters into parameter-sized zeros, not activation-sized ones), each [B, T, E] →
    // [B, T, H, Dh] → [B, H, T, Dh].
    func part(_ i: Int) -> Tensor {
        linear(x, weight: weights.inProjWeight.sliced(axis: 0, start: i * e, length: e),
               bias: weights.inProjBias.sliced(axis: 0, start: i * e, length: e))
            .reshaped([b, t, heads, dh]).permuted([0, 2, 1, 3])
    }
    let q = part(0).scaled(by: 1 / Double(dh).squareRoot()), k = part(1), v = part(2)

    var scores = q.matmul(k.transposed())                                    // [B, H, T, T]
    var emptySequences: [Int] = []
    if let keyPaddingMask {
        let (additive, empty) = AttentionMask.additive(keyPaddingMask, batch: b, length: t, dtype: x.dtype)
        scores = scores + additive
        emptySequences = empty
    }
    var probabilities = scores.softmax()
    if !emptySequences.isEmpty {
        probabilities = probabilities.masked(by: AttentionMask.rowsKept(excluding: emptySequences, shape: probabilities.shape,
                                                                        dtype: x.dtype))
    }
    probabilities = dropout(probabilities, probability: p, training: training, rng: &rng)
    let context = probabilities.matmul(v).permuted([0, 2, 1, 3]).reshaped([b, t, e])
    return linear(context, weight: weights.outProjWeight, bias: weights.outProjBias)
}

enum AttentionMask {
    /// The `[B, 1, 1, T]` additive mask (−∞ at padded keys, 0 elsewhere) and the batch entries whose
    /// keys are all padding. Those entries get no −∞ (their softmax would be 0/0); the caller zeroes
    /// their attention weights instead.
    static func additive(_ padding: [Bool], batch: Int, length: Int, dtype: DType) -> (Tensor, [Int]) {
        var values = [Double](repeating: 0, count: batch * length)
        var empty: [Int] = []
        for s in 0..<batch {
            let row = padding[(s * length)..<((s + 1) * length)]
            if length > 0 && row.allSatisfy({ $0 }) {
                empty.append(s)
                continue
            }
            for j in 0..<length where padding[s * length + j] { values[s * length + j] = -.infinity }
        }
        return (Tensor(shape: [batch, 1, 1, length], scalars: values).cast(to: dtype), empty)
    }

    /// A 0/1 tensor of `shape` (`[B, …]`) that is 0 for the batch entries in `excluding`, 1 elsewhere.
    static func rowsKept(excluding entries: [Int], shape: [Int], dtype: DType) -> Tensor {
        var mask = Tensor.ones(shape, dtype: dtype)
        let perEntry = shape.dropFirst().reduce(1, *)
        func run<T: TensorScalar>(_: T.Type) {
            mask.withMutableScalars(T.self) { m in
                for s in entries {
                    for i in (s * perEntry)..<((s + 1) * perEntry) { m[i] = 0 }
                }
            }
        }
        dispatch(dtype, float: { run(Float.self) }, double: { run(Double.self) })
        return mask
    }
}
