/// Fused backward kernels of the element-wise functions (one pass instead of several temporaries).
enum UnaryGradient {
    @inline(__always)
    private static func zip(_ a: Tensor, _ g: Tensor, _ f32: (Float, Float) -> Float, _ f64: (Double, Double) -> Double) -> Tensor {
        dispatch(a.dtype, float: { Elementwise.zip(a, g, Float.self, f32) },
                 double: { Elementwise.zip(a, g, Double.self, f64) })
    }

    /// g where x > 0, else 0.
    static func relu(x: Tensor, grad: Tensor) -> Tensor {
        zip(x, grad, { $0 > 0 ? $1 : 0 }, { $0 > 0 ? $1 : 0 })
    }

    /// g · (1 − y²).
    static func tanh(output: Tensor, grad: Tensor) -> Tensor {
        zip(output, grad, { $1 * (1 - $0 * $0) }, { $1 * (1 - $0 * $0) })
    }

    /// g · y(1 − y).
    static func sigmoid(output: Tensor, grad: Tensor) -> Tensor {
        zip(output, grad, { $1 * $0 * (1 - $0) }, { $1 * $0 * (1 - $0) })
    }

    /// g where low ≤ x ≤ high.
    static func clamp(x: Tensor, low: Double, high: Double, grad: Tensor) -> Tensor {
        dispatch(x.dtype,
                 float: { Elementwise.zip(x, grad, Float.self, parameter: (Float(low), Float(high))) { $0 >= $2.0 && $0 <= $2.1 ? $1 : 0 } },
                 double: { Elementwise.zip(x, grad, Double.self, parameter: (low, high)) { $0 >= $2.0 && $0 <= $2.1 ? $1 : 0 } })
    }

    /// A zero tensor of `shape` with `grad[i]` added at flat position `indices[i]`.
    static func scatter(grad: Tensor, indices: [Int], shape: [Int]) -> Tensor {
        var out = Tensor.zeros(shape, dtype: grad.dtype)
        func run<T: TensorScalar>(_: T.Type) {
            grad.withScalars(T.self) { g in
                out.withMutableScalars(T.self) { o in
                    for (i, index) in indices.enumerated() { o[index] += g[i] }
                }
            }
        }
        dispatch(grad.dtype, float: { run(Float.self) }, double: { run(Double.self) })
        return out
    }
}

/// Gradients of the matrix products.
enum MatmulGradient {
    /// For C = A·B: dA = dC·Bᵀ, dB = Aᵀ·dC (summed over the batch when B is shared).
    static func matmul(a: Tensor, b: Tensor, grad: Tensor, needs: [Bool]) -> [Tensor?] {
        let (m, k, n) = (a.shape[a.rank - 2], a.shape[a.rank - 1], b.shape[b.rank - 1])
        let batch = a.shape.dropLast(2).reduce(1, *)  // not count/(m·k): k may be 0
        let shared = b.rank == 2
        var ga: Tensor?, gb: Tensor?
        if needs[0] {
            var out = Tensor.empty(a.shape, dtype: a.dtype)
            Tensor.gemm(grad, b, into: &out, m: shared ? batch * m : m, n: k, k: n, transA: false, transB: true,
                        batch: shared ? 1 : batch)
            ga = out
        }
        if needs[1] {
            var out = Tensor.empty(b.shape, dtype: b.dtype)
            Tensor.gemm(a, grad, into: &out, m: k, n: n, k: shared ? batch * m : m, transA: true, transB: false,
                        batch: shared ? 1 : batch)
            gb = out
        }
        return [ga, gb]
    }

    /// For y = x·Wᵀ + b over rows of x: dx = dy·W, dW = dyᵀ·x, db = Σ_rows dy.
    static func linear(input x: Tensor, weight w: Tensor, hasBias: Bool, grad: Tensor, needs: [Bool]) -> [Tensor?] {
        let (outFeatures, inFeatures) = (w.shape[0], w.shape[1])
        let rows = x.shape.dropLast().reduce(1, *)  // not count/in: in may be 0
        var result: [Tensor?] = []
        if needs[0] {
            var gx = Tensor.empty(x.shape, dtype: x.dtype)
            Tensor.gemm(grad, w, into: &gx, m: rows, n: inFeatures, k: outFeatures, transA: false, transB: false, batch: 1)
            result.append(gx)
        } else { result.append(nil) }
        if needs[1] {
            var gw = Tensor.empty(w.shape, dtype: w.dtype)
            Tensor.gemm(grad, x, into: &gw, m: outFeatures, n: inFeatures, k: rows, transA: true, transB: false, batch: 1)
            result.append(gw)
        } else { result.append(nil) }
        if hasBias {
            result.append(needs[2] ? grad.reshaped([rows, outFeatures]).sum(axes: [0]) : nil)
        }
        return result
    }
}
