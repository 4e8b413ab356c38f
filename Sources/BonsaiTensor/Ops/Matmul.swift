/// Matrix products through ``Gemm``.
extension Tensor {
    /// Batched matrix product: `[…, m, k] · […, k, n] → […, m, n]`. The leading dimensions must be
    /// equal, or `other` must be a plain matrix `[k, n]` shared by every batch entry.
    public func matmul(_ other: Tensor) -> Tensor {
        precondition(rank >= 2 && other.rank >= 2 && dtype == other.dtype,
                     "matmul: need matrices of one dtype, got \(shape) (\(dtype)) and \(other.shape) (\(other.dtype))")
        let (m, k) = (shape[rank - 2], shape[rank - 1])
        let (k2, n) = (other.shape[other.rank - 2], other.shape[other.rank - 1])
        let batchShape = Array(shape.dropLast(2))
        let shared = other.rank == 2
        precondition(k == k2 && (shared || Array(other.shape.dropLast(2)) == batchShape),
                     "matmul: shapes \(shape) and \(other.shape) do not multiply")
        var out = Tensor.empty(batchShape + [m, n], dtype: dtype)
        let batch = batchShape.elementCount
        if shared {
            // One GEMM over all batch rows at once.
            Tensor.gemm(self, other, into: &out, m: batch * m, n: n, k: k, transA: false, transB: false, batch: 1)
        } else {
            Tensor.gemm(self, other, into: &out, m: m, n: n, k: k, transA: false, transB: false, batch: batch)
        }
        return out.recording(.matmul(self, other), inputs: [self, other])
    }

    /// `C_b = op(A_b) · op(B_b)` for `batch` consecutive matrix pairs stored contiguously.
    static func gemm(_ a: Tensor, _ b: Tensor, into c: inout Tensor, m: Int, n: Int, k: Int,
                     transA: Bool, transB: Bool, batch: Int, accumulate: Bool = false) {
        func run<T: TensorScalar>(_: T.Type) {
            a.withScalars(T.self) { pa in
                b.withScalars(T.self) { pb in
                    c.withMutableScalars(T.self) { pc in
                        for i in 0..<batch {
                            Gemm.multiply(Gemm.Operands(
                                transA: transA, transB: transB, m: m, n: n, k: k, beta: accumulate ? 1 : 0,
                                a: pa.baseAddress! + i * m * k, lda: transA ? m : k,
                                b: pb.baseAddress! + i * k * n, ldb: transB ? k : n,
                                c: pc.baseAddress! + i * m * n, ldc: n))
                        }
                    }
                }
            }
        }
        guard m > 0, n > 0 else { return }
        dispatch(a.dtype, float: { run(Float.self) }, double: { run(Double.self) })
    }
}

/// `F.linear(x, W, b) = x · Wᵀ + b` over the last axis of `x`; `W` is `[out, in]` as in PyTorch.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
    let inFeatures = x.shape.last ?? 0
    precondition(weight.rank == 2 && weight.shape[1] == inFeatures && x.dtype == weight.dtype,
                 "linear: input \(x.shape) and weight \(weight.shape) do not match")
    let outFeatures = weight.shape[0]
    if let bias { precondition(bias.shape == [outFeatures], "linear: bias \(bias.shape) for weight \(weight.shape)") }
    let rows = x.shape.dropLast().reduce(1, *)  // not count/in: in may be 0
    var out = Tensor.empty([rows, outFeatures], dtype: x.dtype)
    if let bias {
        // The bias rows are written by the GEMM's workers, each into the rows it then accumulates
        // into (a serial broadcast copy before the GEMM was 2 % of tinybert's step).
        linearWithBias(x, weight, bias.detached(), into: &out, rows: rows, outFeatures: outFeatures, inFeatures: inFeatures)
    } else {
        Tensor.gemm(x, weight, into: &out, m: rows, n: outFeatures, k: inFeatures,
                    transA: false, transB: true, batch: 1)
    }
    out = Tensor(storage: out.storage, shape: Array(x.shape.dropLast()) + [outFeatures])
    return out.recording(.linear(input: x, weight: weight, bias: bias), inputs: [x, weight] + (bias.map { [$0] } ?? []))
}

/// `out = bias + x·Wᵀ` through ``Gemm/multiply(_:rowBias:)``.
private func linearWithBias(_ x: Tensor, _ weight: Tensor, _ bias: Tensor, into out: inout Tensor,
                            rows: Int, outFeatures: Int, inFeatures: Int) {
    func run<T: TensorScalar>(_: T.Type) {
        x.withScalars(T.self) { px in weight.withScalars(T.self) { pw in bias.withScalars(T.self) { pb in
            out.withMutableScalars(T.self) { po in
                guard let c = po.baseAddress else { return }
                Gemm.multiply(Gemm.Operands(transB: true, m: rows, n: outFeatures, k: inFeatures,
                                            a: px.baseAddress ?? UnsafePointer(c), lda: Swift.max(inFeatures, 1),
                                            b: pw.baseAddress ?? UnsafePointer(c), ldb: Swift.max(inFeatures, 1),
                                            c: c, ldc: outFeatures),
                              rowBias: pb.baseAddress!)
            }
        } } }
    }
    guard rows > 0, outFeatures > 0 else { return }
    dispatch(x.dtype, float: { run(Float.self) }, double: { run(Double.self) })
}
