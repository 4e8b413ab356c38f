import CKernels

/// Scaled-dot-product self-attention over a packed projection, as one op with a fused backward.
///
/// `qkv` is `[B, T, 3E]`: for token `t` of sequence `s`, columns `0..<E` are the query, `E..<2E`
/// the key and `2E..<3E` the value, each split into `H` heads of `Dh = E/H` columns (exactly the
/// output of `linear(x, in_proj_weight, in_proj_bias)`). For every `(s, h)`:
///
///     S = Q·Kᵀ/√Dh,  P = softmax over unpadded keys (padded keys get weight 0),
///     P' = P ⊙ M/(1 − p)  (dropout keep-mask M, training only),   O = P'·V
///
/// and the heads are written side by side into `[B, T, E]` (PyTorch's concatenation). A sequence
/// whose keys are all padding gets `P = 0` (output 0, the out-projection then adds only its bias),
/// as PyTorch's safe softmax does.
///
/// Why fused: the composite (three linears, permute copies of Q, K, V and of the context, a scaled
/// copy of Q, a transposed copy of K, a broadcast add of the mask, softmax, masking, and every
/// one of those again in the backward pass, plus 64 tiny GEMMs each split over the threads) spent
/// most of tinybert's attention time moving memory and dispatching. Here the GEMMs read the heads
/// in place through their leading dimension (`3E` or `E`), the work is split over the `B·H`
/// independent `(s, h)` pairs (each worker runs whole single-threaded GEMMs), and the softmax,
/// masking and dropout are applied on the `T×T` block while it is in cache.
///
/// Backward, with `dO` the gradient of the `[B, T, E]` output:
///
///     dP' = dO·Vᵀ,   dV = P'ᵀ·dO,   dP = dP' ⊙ M/(1 − p),
///     dS = P ⊙ (dP − rowsum(dP ⊙ P)),   dQ = dS·K/√Dh,   dK = dSᵀ·Q/√Dh
///
/// The dropout mask is drawn from `rng` as ``dropout(_:probability:training:rng:)`` draws it for a
/// `[B, H, T, T]` tensor, so the random stream is the one the composite consumed.
public func packedSelfAttention(_ qkv: Tensor, heads: Int, keyPaddingMask: [Bool]? = nil, dropout p: Double = 0,
                                training: Bool = false, rng: inout RandomGenerator) -> Tensor {
    precondition(qkv.rank == 3 && qkv.shape[2] % 3 == 0,
                 "packedSelfAttention: input \(qkv.shape) is not [B, T, 3E]")
    let (b, t, e) = (qkv.shape[0], qkv.shape[1], qkv.shape[2] / 3)
    precondition(heads > 0 && e % heads == 0, "packedSelfAttention: \(heads) heads do not divide embedding dimension \(e)")
    precondition(p >= 0 && p <= 1, "packedSelfAttention: dropout probability \(p) outside [0, 1]")
    if let keyPaddingMask {
        precondition(keyPaddingMask.count == b * t,
                     "packedSelfAttention: key padding mask of \(keyPaddingMask.count) flags for input \(qkv.shape)")
    }
    var keep: Tensor?
    if training && p > 0 {
        keep = p < 1 ? dropoutMask([b, heads, t, t], probability: p, dtype: qkv.dtype, rng: &rng)
                     : Tensor.zeros([b, heads, t, t], dtype: qkv.dtype)
    }
    let saved = AttentionSaved(heads: heads, scale: 1 / Double(e / heads).squareRoot(),
                               padding: keyPaddingMask, keep: keep, keepScale: p < 1 ? 1 / (1 - p) : 0)
    var probabilities = Tensor.empty([b, heads, t, t], dtype: qkv.dtype)
    var out = Tensor.empty([b, t, e], dtype: qkv.dtype)
    dispatch(qkv.dtype, float: { AttentionKernel.forward(qkv, saved, into: &out, probabilities: &probabilities, Float.self) },
             double: { AttentionKernel.forward(qkv, saved, into: &out, probabilities: &probabilities, Double.self) })
    var record = saved
    record.probabilities = probabilities
    return out.recording(.attention(qkv, saved: record), inputs: [qkv])
}

/// What the attention op keeps for its backward pass.
struct AttentionSaved {
    var heads: Int
    /// `1/√Dh`.
    var scale: Double
    /// `B·T` flags, true at padded keys.
    var padding: [Bool]?
    /// The `[B, H, T, T]` 0/1 dropout keep-mask, nil without dropout.
    var keep: Tensor?
    /// `1/(1 − p)`.
    var keepScale: Double
    /// The softmax output `P` `[B, H, T, T]` (before dropout), filled in by the forward pass.
    var probabilities = Tensor.zeros([0])
}

/// The per-`(sequence, head)` kernels of ``packedSelfAttention(_:heads:keyPaddingMask:dropout:training:rng:)``.
enum AttentionKernel {
    /// Raw pointers for the workers (each `(s, h)` pair touches disjoint parts of the outputs).
    private struct Pointers<T>: @unchecked Sendable {
        var qkv: UnsafePointer<T>, probabilities: UnsafeMutablePointer<T>, keep: UnsafePointer<T>?
        var out: UnsafeMutablePointer<T>
    }

    /// Pairs per worker below which the loop is not split (one pair is three T×T×Dh GEMMs).
    private static func minimumPairs(_ t: Int, _ dh: Int) -> Int { Swift.max(1, 65_536 / Swift.max(t * t * dh, 1)) }

    static func forward<T: TensorScalar>(_ qkv: Tensor, _ saved: AttentionSaved, into out: inout Tensor,
                                         probabilities: inout Tensor, _: T.Type) {
        let (b, t, e3) = (qkv.shape[0], qkv.shape[1], qkv.shape[2])
        let (e, heads) = (e3 / 3, saved.heads)
        let dh = e / heads
        guard b * t * e > 0 else { return }
        let keepScale = T(saved.keepScale), scale = T(saved.scale)
        let padding = saved.padding
        withOptionalBuffer(saved.keep, T.self) { keep in
            qkv.withScalars(T.self) { src in
                probabilities.withMutableScalars(T.self) { probs in
                    out.withMutableScalars(T.self) { dst in
                        let pointers = Pointers(qkv: src.baseAddress!, probabilities: probs.baseAddress!,
                                                keep: keep?.baseAddress, out: dst.baseAddress!)
                        Parallel.forRanges(b * heads, minimumPerThread: minimumPairs(t, dh), context: pointers) { range, c in
                            let scratch = UnsafeMutablePointer<T>.allocate(capacity: c.keep == nil ? 0 : t * t)
                            defer { scratch.deallocate() }
                            for pair in range {
                                let (s, h) = (pair / heads, pair % heads)
                                let q = c.qkv + s * t * e3 + h * dh, k = q + e, v = q + 2 * e
                                let block = c.probabilities + pair * t * t
                                Gemm.multiply(Gemm.Operands(transB: true, m: t, n: t, k: dh, alpha: scale,
                                                            a: q, lda: e3, b: k, ldb: e3, c: block, ldc: t))
                                maskedSoftmax(block, t: t, padding: padding, offset: s * t)
                                var weights = UnsafePointer(block)
                                if let keep = c.keep {
                                    let m = keep + pair * t * t
                                    for i in 0..<(t * t) { scratch[i] = block[i] * m[i] * keepScale }
                                    weights = UnsafePointer(scratch)
                                }
                                Gemm.multiply(Gemm.Operands(m: t, n: dh, k: t, a: weights, lda: t, b: v, ldb: e3,
                                                            c: c.out + s * t * e + h * dh, ldc: e))
                            }
                        }
                    }
                }
            }
        }
    }

    /// Row-wise softmax of the `t×t` block over the keys that are not padding (`padding[offset + j]`);
    /// padded keys get 0, and a block whose keys are all padding becomes all zeros.
    @inline(__always)
    private static func maskedSoftmax<T: TensorScalar>(_ block: UnsafeMutablePointer<T>, t: Int, padding: [Bool]?,
                                                       offset: Int) {
        if let padding {
            var anyKey = false
            for j in 0..<t where !padding[offset + j] { anyKey = true; break }
            if !anyKey {
                block.update(repeating: 0, count: t * t)
                return
            }
            for i in 0..<t {
                let row = block + i * t
                for j in 0..<t where padding[offset + j] { row[j] = -T.infinity }
            }
        }
        if T.self == Float.self {
            // 8/16-wide exp with FMA where the CPU has it (Sources/CKernels); same formula.
            let rows = UnsafeMutableRawPointer(block).assumingMemoryBound(to: Float.self)
            bonsai_softmax_rows_f32(SIMDDispatch.level, rows, t, t)
            return
        }
        for i in 0..<t {
            let row = block + i * t
            var maximum = -T.infinity
            for j in 0..<t where row[j] > maximum { maximum = row[j] }
            var total: T = 0
            for j in 0..<t {
                let value = T.exp(row[j] - maximum)
                row[j] = value
                total += value
            }
            let inverse = 1 / total
            for j in 0..<t { row[j] *= inverse }
        }
    }

    /// The gradient with respect to `qkv` (see the formulas on
    /// ``packedSelfAttention(_:heads:keyPaddingMask:dropout:training:rng:)``).
    static func backward(qkv: Tensor, saved: AttentionSaved, grad g: Tensor) -> Tensor {
        precondition(g.dtype == qkv.dtype && g.shape == [qkv.shape[0], qkv.shape[1], qkv.shape[2] / 3],
                     "attention backward: grad \(g.shape) for input \(qkv.shape)")
        var result = Tensor.empty(qkv.shape, dtype: qkv.dtype)
        dispatch(qkv.dtype, float: { backward(qkv, saved, g, into: &result, Float.self) },
                 double: { backward(qkv, saved, g, into: &result, Double.self) })
        return result
    }

    private struct BackwardPointers<T>: @unchecked Sendable {
        var qkv: UnsafePointer<T>, probabilities: UnsafePointer<T>, keep: UnsafePointer<T>?
        var grad: UnsafePointer<T>, result: UnsafeMutablePointer<T>
    }

    private static func backward<T: TensorScalar>(_ qkv: Tensor, _ saved: AttentionSaved, _ g: Tensor,
                                                  into result: inout Tensor, _: T.Type) {
        let (b, t, e3) = (qkv.shape[0], qkv.shape[1], qkv.shape[2])
        let (e, heads) = (e3 / 3, saved.heads)
        let dh = e / heads
        guard b * t * e > 0 else { return }
        let keepScale = T(saved.keepScale), scale = T(saved.scale)
        withOptionalBuffer(saved.keep, T.self) { keep in
            qkv.withScalars(T.self) { src in
                saved.probabilities.withScalars(T.self) { probs in
                    g.withScalars(T.self) { grad in
                        result.withMutableScalars(T.self) { dst in
                            let pointers = BackwardPointers(qkv: src.baseAddress!, probabilities: probs.baseAddress!,
                                                            keep: keep?.baseAddress, grad: grad.baseAddress!,
                                                            result: dst.baseAddress!)
                            Parallel.forRanges(b * heads, minimumPerThread: minimumPairs(t, dh), context: pointers) { range, c in
                                let scratch = UnsafeMutablePointer<T>.allocate(capacity: (c.keep == nil ? 1 : 2) * t * t)
                                defer { scratch.deallocate() }
                                for pair in range {
                                    let (s, h) = (pair / heads, pair % heads)
                                    let column = s * t * e3 + h * dh
                                    let q = c.qkv + column, k = q + e, v = q + 2 * e
                                    let dq = c.result + column, dk = dq + e, dv = dq + 2 * e
                                    let dO = c.grad + s * t * e + h * dh
                                    let p = c.probabilities + pair * t * t
                                    let dP = scratch
                                    // dP' = dO·Vᵀ
                                    Gemm.multiply(Gemm.Operands(transB: true, m: t, n: t, k: dh, a: dO, lda: e,
                                                                b: v, ldb: e3, c: dP, ldc: t))
                                    // dV = P'ᵀ·dO, then dP = dP' ⊙ M/(1 − p)
                                    var weights = p
                                    if let keep = c.keep {
                                        let m = keep + pair * t * t, dropped = scratch + t * t
                                        for i in 0..<(t * t) {
                                            let factor = m[i] * keepScale
                                            dropped[i] = p[i] * factor
                                            dP[i] *= factor
                                        }
                                        weights = UnsafePointer(dropped)
                                    }
                                    Gemm.multiply(Gemm.Operands(transA: true, m: t, n: dh, k: t, a: weights, lda: t,
                                                                b: dO, ldb: e, c: dv, ldc: e3))
                                    // dS = P ⊙ (dP − rowsum(dP ⊙ P)), in place
                                    for i in 0..<t {
                                        let row = dP + i * t, pr = p + i * t
                                        var dot: T = 0
                                        for j in 0..<t { dot += row[j] * pr[j] }
                                        for j in 0..<t { row[j] = pr[j] * (row[j] - dot) }
                                    }
                                    // dQ = dS·K/√Dh, dK = dSᵀ·Q/√Dh
                                    Gemm.multiply(Gemm.Operands(m: t, n: dh, k: t, alpha: scale, a: dP, lda: t,
                                                                b: k, ldb: e3, c: dq, ldc: e3))
                                    Gemm.multiply(Gemm.Operands(transA: true, m: t, n: dh, k: t, alpha: scale, a: dP, lda: t,
                                                                b: q, ldb: e3, c: dk, ldc: e3))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `body` with the scalars of `tensor`, or with nil when there is no tensor.
private func withOptionalBuffer<T: TensorScalar, R>(_ tensor: Tensor?, _: T.Type, _ body: (UnsafeBufferPointer<T>?) -> R) -> R {
    guard let tensor else { return body(nil) }
    return tensor.withScalars(T.self) { body($0) }
}
