/// Layer normalisation over the last axis (PyTorch `nn.LayerNorm(d)` / `F.layer_norm(x, (d,))`):
/// each row of `d` values is normalised with its own mean and biased variance,
///
///     y = (x − μ)/√(var + eps) · γ + β,   γ, β of shape [d] (optional),
///
/// as one fused op (``Op/layerNorm(input:weight:bias:saved:)``) with a fused backward.
public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Double = 1e-5) -> Tensor {
    precondition(x.rank >= 1, "layerNorm: input needs at least one axis, got \(x.shape)")
    let width = x.shape[x.rank - 1]
    for (name, tensor) in [("weight", weight), ("bias", bias)] {
        guard let tensor else { continue }
        precondition(tensor.shape == [width] && tensor.dtype == x.dtype,
                     "layerNorm: \(name) \(tensor.shape) (\(tensor.dtype)) for input \(x.shape) (\(x.dtype))")
    }
    let layout = ChannelLayout(x.shape, axis: x.rank - 1)
    let saved = LayerNormKernel.statistics(x, rows: layout.outer, width: width, eps: eps)
    let out = LayerNormKernel.normalize(x, rows: layout.outer, width: width, saved: saved, weight: weight, bias: bias)
    let inputs: [Tensor] = [x] + (weight.map { [$0] } ?? []) + (bias.map { [$0] } ?? [])
    return out.recording(.layerNorm(input: x, weight: weight, bias: bias, saved: saved), inputs: inputs)
}

enum LayerNormKernel {
    /// Per-row mean and `1/√(var + eps)` (two passes in Float64), in parallel over rows.
    static func statistics(_ x: Tensor, rows: Int, width: Int, eps: Double) -> NormStatistics {
        var mean = [Double](repeating: 0, count: rows), inverseStd = mean
        func run<T: TensorScalar>(_: T.Type) {
            x.withScalars(T.self) { src in
                mean.withUnsafeMutableBufferPointer { pm in
                    inverseStd.withUnsafeMutableBufferPointer { pv in
                        nonisolated(unsafe) let s = src, m = pm, v = pv
                        Parallel.forRanges(rows, minimumPerThread: Swift.max(1, 16_384 / Swift.max(width, 1))) { range in
                            for r in range {
                                let stats = NormKernel.moments(s, runs: stride(from: r * width, to: r * width + 1, by: 1),
                                                               length: width)
                                m[r] = stats.mean
                                v[r] = 1 / (stats.variance + eps).squareRoot()
                            }
                        }
                    }
                }
            }
        }
        dispatch(x.dtype, float: { run(Float.self) }, double: { run(Double.self) })
        return NormStatistics(mean: mean, inverseStd: inverseStd)
    }

    /// `y_rj = (x_rj − μ_r)·σ⁻¹_r·γ_j + β_j`, in parallel over rows.
    static func normalize(_ x: Tensor, rows: Int, width: Int, saved: NormStatistics, weight: Tensor?, bias: Tensor?) -> Tensor {
        var out = Tensor.empty(x.shape, dtype: x.dtype)
        func run<T: TensorScalar>(_: T.Type) {
            let gamma = weight?.scalars(as: T.self) ?? [T](repeating: 1, count: width)
            let beta = bias?.scalars(as: T.self) ?? [T](repeating: 0, count: width)
            x.withScalars(T.self) { src in
                out.withMutableScalars(T.self) { dst in
                    gamma.withUnsafeBufferPointer { pg in
                        beta.withUnsafeBufferPointer { pb in
                            nonisolated(unsafe) let s = src, d = dst, sg = pg, sb = pb
                            Parallel.forRanges(rows, minimumPerThread: Swift.max(1, 16_384 / Swift.max(width, 1))) { range in
                                for r in range {
                                    let base = r * width
                                    let mu = T(saved.mean[r]), inverse = T(saved.inverseStd[r])
                                    for j in 0..<width { d[base + j] = (s[base + j] - mu) * inverse * sg[j] + sb[j] }
                                }
                            }
                        }
                    }
                }
            }
        }
        dispatch(x.dtype, float: { run(Float.self) }, double: { run(Double.self) })
        return out
    }
}

extension NormGradient {
    /// Backward of layer norm. Per row of width `D`, with `x̂ = (x − μ)·σ⁻¹` and `ĝ = dy ⊙ γ`:
    ///
    ///     dx = (σ⁻¹/D)·(D·ĝ − Σ ĝ − x̂·Σ ĝ·x̂),   dγ = Σ_rows dy·x̂,   dβ = Σ_rows dy
    ///
    /// Gradients are ordered `[x, γ?, β?]`.
    static func layerNorm(input x: Tensor, weight: Tensor?, hasBias: Bool, saved: NormStatistics,
                          grad g: Tensor, needs: [Bool]) -> [Tensor?] {
        precondition(g.shape == x.shape && g.dtype == x.dtype, "layerNorm backward: grad \(g.shape) for input \(x.shape)")
        let width = x.shape[x.rank - 1]
        let rows = saved.mean.count
        var results: [Tensor?] = [needs[0] ? layerNormInputGradient(x, g, rows: rows, width: width, saved: saved, weight: weight) : nil]
        let wantWeight = weight != nil && needs[1]
        let wantBias = hasBias && needs[weight != nil ? 2 : 1]
        if wantWeight || wantBias {
            let (dGamma, dBeta) = layerNormParameterGradients(x, g, rows: rows, width: width, saved: saved)
            if weight != nil { results.append(wantWeight ? dGamma : nil) }
            if hasBias { results.append(wantBias ? dBeta : nil) }
        } else {
            if weight != nil { results.append(nil) }
            if hasBias { results.append(nil) }
        }
        return results
    }

    private static func layerNormInputGradient(_ x: Tensor, _ g: Tensor, rows: Int, width: Int, saved: NormStatistics,
                                               weight: Tensor?) -> Tensor {
        var out = Tensor.empty(x.shape, dtype: x.dtype)
        func run<T: TensorScalar>(_: T.Type) {
            let gamma = weight?.scalars(as: T.self) ?? [T](repeating: 1, count: width)
            x.withScalars(T.self) { px in
                g.withScalars(T.self) { pg in
                    out.withMutableScalars(T.self) { po in
                        gamma.withUnsafeBufferPointer { pw in
                            nonisolated(unsafe) let sx = px, sg = pg, so = po, sw = pw
                            let d = Double(width)
                            Parallel.forRanges(rows, minimumPerThread: Swift.max(1, 8_192 / Swift.max(width, 1))) { range in
                                for r in range {
                                    let base = r * width
                                    let mu = saved.mean[r], inverse = saved.inverseStd[r]
                                    var sumG = 0.0, sumGXhat = 0.0
                                    for j in 0..<width {
                                        let gh = Double(sg[base + j] * sw[j])
                                        sumG += gh
                                        sumGXhat += gh * (Double(sx[base + j]) - mu) * inverse
                                    }
                                    let meanG = T(sumG / d), meanGXhat = T(sumGXhat / d)
                                    let tMu = T(mu), tInverse = T(inverse)
                                    for j in 0..<width {
                                        let xhat = (sx[base + j] - tMu) * tInverse
                                        so[base + j] = tInverse * (sg[base + j] * sw[j] - meanG - xhat * meanGXhat)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        dispatch(x.dtype, float: { run(Float.self) }, double: { run(Double.self) })
        return out
    }

    /// `dγ_j = Σ_r dy_rj·x̂_rj` and `dβ_j = Σ_r dy_rj`, accumulated in Float64 row by row (a serial,
    /// cache-friendly pass: two multiply-adds per element).
    private static func layerNormParameterGradients(_ x: Tensor, _ g: Tensor, rows: Int, width: Int,
                                                    saved: NormStatistics) -> (Tensor, Tensor) {
        var dGamma = [Double](repeating: 0, count: width), dBeta = dGamma
        func run<T: TensorScalar>(_: T.Type) {
            x.withScalars(T.self) { px in
                g.withScalars(T.self) { pg in
                    dGamma.withUnsafeMutableBufferPointer { pw in
                        dBeta.withUnsafeMutableBufferPointer { pb in
                            for r in 0..<rows {
                                let base = r * width
                                let mu = saved.mean[r], inverse = saved.inverseStd[r]
                                for j in 0..<width {
                                    let dy = Double(pg[base + j])
                                    pw[j] += dy * (Double(px[base + j]) - mu) * inverse
                                    pb[j] += dy
                                }
                            }
                        }
                    }
                }
            }
        }
        dispatch(x.dtype, float: { run(Float.self) }, double: { run(Double.self) })
        return (Tensor(shape: [width], scalars: dGamma).cast(to: x.dtype),
                Tensor(shape: [width], scalars: dBeta).cast(to: x.dtype))
    }
}
