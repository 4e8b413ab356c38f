/// Softmax and log-softmax over the last axis, computed stably (subtract the row maximum).
extension Tensor {
    /// `softmax(x)_i = e^{x_i − max} / Σ_j e^{x_j − max}` along the last axis.
    public func softmax() -> Tensor {
        let out = SoftmaxKernel.run(self, log: false)
        return out.recording(.softmax(self, output: out.detached()), inputs: [self])
    }

    /// `log softmax(x)_i = x_i − max − log Σ_j e^{x_j − max}` along the last axis.
    public func logSoftmax() -> Tensor {
        let out = SoftmaxKernel.run(self, log: true)
        return out.recording(.logSoftmax(self, output: out.detached()), inputs: [self])
    }
}

enum SoftmaxKernel {
    static func run(_ x: Tensor, log: Bool) -> Tensor {
        precondition(x.rank >= 1, "softmax: needs at least one axis")
        func kernel<T: TensorScalar>(_: T.Type) -> Tensor {
            var out = Tensor.empty(x.shape, dtype: x.dtype)
            let width = x.shape[x.rank - 1]
            let rows = x.count / Swift.max(width, 1)
            x.withScalars(T.self) { src in
                out.withMutableScalars(T.self) { dst in
                    nonisolated(unsafe) let s = src, d = dst
                    Parallel.forRanges(rows, minimumPerThread: Swift.max(1, 16_384 / Swift.max(width, 1))) { range in
                        for r in range {
                            let base = r * width
                            var maximum = -T.infinity
                            for j in 0..<width where s[base + j] > maximum { maximum = s[base + j] }
                            if maximum == -T.infinity { maximum = 0 }
                            var total: T = 0
                            for j in 0..<width {
                                let e = T.exp(s[base + j] - maximum)
                                d[base + j] = e
                                total += e
                            }
                            if log {
                                let logTotal = T.log(total) + maximum
                                for j in 0..<width { d[base + j] = s[base + j] - logTotal }
                            } else {
                                let inverse = 1 / total
                                for j in 0..<width { d[base + j] *= inverse }
                            }
                        }
                    }
                }
            }
            return out
        }
        return dispatch(x.dtype, float: { kernel(Float.self) }, double: { kernel(Double.self) })
    }
}
