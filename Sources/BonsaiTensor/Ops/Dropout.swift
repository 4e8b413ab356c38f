/// Inverted dropout (PyTorch `F.dropout`): in training each element is zeroed with probability `p`
/// and the survivors are scaled by `1/(1 − p)`, so `E[dropout(x)] = x` and evaluation needs no
/// rescaling. Identity (and no random numbers drawn) when not training or when `p == 0`; all zeros
/// when `p == 1`.
///
/// The mask is drawn from `rng`, one uniform number per element in row-major order (element `i` is
/// kept when `u_i ≥ p`), so the same generator state gives the same mask and a checkpointed
/// generator resumes the same stream. The result is `(x ⊙ m)·1/(1 − p)` with
/// ``Tensor/masked(by:)``, whose gradient is exactly zero at dropped elements.
///
/// `p` is configuration, validated where the config is read; outside `[0, 1]` it is a contract
/// violation here.
public func dropout(_ x: Tensor, probability p: Double, training: Bool, rng: inout RandomGenerator) -> Tensor {
    precondition(p >= 0 && p <= 1, "dropout: probability \(p) outside [0, 1]")
    guard training, p > 0 else { return x }
    let keep = p < 1 ? dropoutMask(x.shape, probability: p, dtype: x.dtype, rng: &rng) : Tensor.zeros(x.shape, dtype: x.dtype)
    let masked = x.masked(by: keep)
    return p < 1 ? masked.scaled(by: 1 / (1 - p)) : masked
}

/// A 0/1 keep-mask of `shape`: 1 where a uniform draw is at least `p`.
func dropoutMask(_ shape: [Int], probability p: Double, dtype: DType, rng: inout RandomGenerator) -> Tensor {
    var mask = Tensor.empty(shape, dtype: dtype)
    func run<T: TensorScalar>(_: T.Type) {
        mask.withMutableScalars(T.self) { m in
            for i in 0..<m.count { m[i] = rng.nextUnit() < p ? 0 : 1 }
        }
    }
    dispatch(dtype, float: { run(Float.self) }, double: { run(Double.self) })
    return mask
}
