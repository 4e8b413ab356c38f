import CKernels

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

/// The layer-norm loops. The Float32 paths run the C kernels (`bonsai_layer_norm_*_f32`,
/// Sources/CKernels: the same formulas with Float64 sums on 4 or 8 double lanes), the Swift loops
/// below are the Float64 path and the reference they are tested against. Every row is addressed through its own pointer (`x + r·width`) and
/// indexed from 0: index sums like `base + j` carry overflow checks that kept these loops scalar
/// (layer norm was 9 % of tinybert's step). Row statistics are accumulated in Float64 in four
/// interleaved partial sums, so the loop runs on packed registers while the precision stays that
/// of Float64 accumulation.
enum LayerNormKernel {
    /// Rows per worker below which a loop is not split.
    static func minimumRows(_ width: Int) -> Int { Swift.max(1, 16_384 / Swift.max(width, 1)) }

    /// `Σ_j x_j` in Float64 (four partial sums).
    @inline(__always)
    static func sum<T: TensorScalar>(_ x: UnsafePointer<T>, _ n: Int) -> Double {
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
        var j = 0
        while j + 4 <= n {
            s0 += Double(x[j]); s1 += Double(x[j + 1]); s2 += Double(x[j + 2]); s3 += Double(x[j + 3])
            j += 4
        }
        while j < n { s0 += Double(x[j]); j += 1 }
        return (s0 + s1) + (s2 + s3)
    }

    /// `Σ_j (x_j − μ)²` in Float64 (four partial sums).
    @inline(__always)
    static func squaredDeviations<T: TensorScalar>(_ x: UnsafePointer<T>, _ n: Int, mean mu: Double) -> Double {
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
        var j = 0
        while j + 4 <= n {
            let d0 = Double(x[j]) - mu, d1 = Double(x[j + 1]) - mu, d2 = Double(x[j + 2]) - mu, d3 = Double(x[j + 3]) - mu
            s0 += d0 * d0; s1 += d1 * d1; s2 += d2 * d2; s3 += d3 * d3
            j += 4
        }
        while j < n { let d = Double(x[j]) - mu; s0 += d * d; j += 1 }
        return (s0 + s1) + (s2 + s3)
    }

    /// Per-row mean and `1/√(var + eps)` (two passes in Float64), in parallel over rows.
    static func statistics(_ x: Tensor, rows: Int, width: Int, eps: Double) -> NormStatistics {
        var mean = [Double](repeating: 0, count: rows), inverseStd = mean
        guard rows > 0, width > 0 else {
            return NormStatistics(mean: mean, inverseStd: inverseStd.map { _ in 1 / eps.squareRoot() })
        }
        func run<T: TensorScalar>(_: T.Type) {
            x.withScalars(T.self) { src in
                mean.withUnsafeMutableBufferPointer { pm in
                    inverseStd.withUnsafeMutableBufferPointer { pv in
                        nonisolated(unsafe) let s = src.baseAddress!, m = pm.baseAddress!, v = pv.baseAddress!
                        Parallel.forRanges(rows, minimumPerThread: minimumRows(width)) { range in
                            if T.self == Float.self {
                                bonsai_layer_norm_statistics_f32(SIMDDispatch.level, float(s) + range.lowerBound * width,
                                                                 range.count, width, eps, m + range.lowerBound,
                                                                 v + range.lowerBound)
                                return
                            }
                            for r in range {
                                let row = s + r * width
                                let mu = sum(row, width) / Double(width)
                                m[r] = mu
                                v[r] = 1 / (squaredDeviations(row, width, mean: mu) / Double(width) + eps).squareRoot()
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
        guard rows > 0, width > 0 else { return out }
        func run<T: TensorScalar>(_: T.Type) {
            let gamma = weight?.scalars(as: T.self) ?? [T](repeating: 1, count: width)
            let beta = bias?.scalars(as: T.self) ?? [T](repeating: 0, count: width)
            x.withScalars(T.self) { src in
                out.withMutableScalars(T.self) { dst in
                    gamma.withUnsafeBufferPointer { pg in
                        beta.withUnsafeBufferPointer { pb in
                            saved.mean.withUnsafeBufferPointer { pm in
                                saved.inverseStd.withUnsafeBufferPointer { pv in
                                    nonisolated(unsafe) let s = src.baseAddress!, d = dst.baseAddress!
                                    nonisolated(unsafe) let sg = pg.baseAddress!, sb = pb.baseAddress!
                                    nonisolated(unsafe) let m = pm.baseAddress!, v = pv.baseAddress!
                                    Parallel.forRanges(rows, minimumPerThread: minimumRows(width)) { range in
                                        if T.self == Float.self {
                                            let offset = range.lowerBound * width
                                            bonsai_layer_norm_forward_f32(SIMDDispatch.level, float(s) + offset, range.count, width,
                                                                          m + range.lowerBound, v + range.lowerBound,
                                                                          float(sg), float(sb), mutableFloat(d) + offset)
                                            return
                                        }
                                        for r in range {
                                            let xr = s + r * width, yr = d + r * width
                                            let mu = T(m[r]), inverse = T(v[r])
                                            for j in 0..<width { yr[j] = (xr[j] - mu) * inverse * sg[j] + sb[j] }
                                        }
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
        guard rows > 0, width > 0 else { return out }
        func run<T: TensorScalar>(_: T.Type) {
            let gamma = weight?.scalars(as: T.self) ?? [T](repeating: 1, count: width)
            x.withScalars(T.self) { px in
                g.withScalars(T.self) { pg in
                    out.withMutableScalars(T.self) { po in
                        gamma.withUnsafeBufferPointer { pw in
                            saved.mean.withUnsafeBufferPointer { pm in
                                saved.inverseStd.withUnsafeBufferPointer { pv in
                                    nonisolated(unsafe) let sx = px.baseAddress!, sg = pg.baseAddress!, so = po.baseAddress!
                                    nonisolated(unsafe) let sw = pw.baseAddress!, m = pm.baseAddress!, v = pv.baseAddress!
                                    let d = Double(width)
                                    Parallel.forRanges(rows, minimumPerThread: LayerNormKernel.minimumRows(width)) { range in
                                        if T.self == Float.self {
                                            let offset = range.lowerBound * width
                                            bonsai_layer_norm_input_gradient_f32(
                                                SIMDDispatch.level, float(sx) + offset, float(sg) + offset, float(sw),
                                                m + range.lowerBound, v + range.lowerBound, range.count, width,
                                                mutableFloat(so) + offset)
                                            return
                                        }
                                        // ĝ = g ⊙ γ for one row, then its two sums in Float64.
                                        let scaled = UnsafeMutablePointer<T>.allocate(capacity: width)
                                        defer { scaled.deallocate() }
                                        for r in range {
                                            let xr = sx + r * width, gr = sg + r * width, outRow = so + r * width
                                            let mu = m[r], inverse = v[r]
                                            for j in 0..<width { scaled[j] = gr[j] * sw[j] }
                                            let sumG = LayerNormKernel.sum(scaled, width)
                                            let sumGX = centeredDot(scaled, xr, width, mean: mu)
                                            let meanG = T(sumG / d), meanGXhat = T(sumGX * inverse / d)
                                            let tMu = T(mu), tInverse = T(inverse)
                                            for j in 0..<width {
                                                let xhat = (xr[j] - tMu) * tInverse
                                                outRow[j] = tInverse * (scaled[j] - meanG - xhat * meanGXhat)
                                            }
                                        }
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

    /// `Σ_j a_j·(x_j − μ)` in Float64 (four partial sums).
    @inline(__always)
    private static func centeredDot<T: TensorScalar>(_ a: UnsafePointer<T>, _ x: UnsafePointer<T>, _ n: Int,
                                                     mean mu: Double) -> Double {
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
        var j = 0
        while j + 4 <= n {
            s0 += Double(a[j]) * (Double(x[j]) - mu); s1 += Double(a[j + 1]) * (Double(x[j + 1]) - mu)
            s2 += Double(a[j + 2]) * (Double(x[j + 2]) - mu); s3 += Double(a[j + 3]) * (Double(x[j + 3]) - mu)
            j += 4
        }
        while j < n { s0 += Double(a[j]) * (Double(x[j]) - mu); j += 1 }
        return (s0 + s1) + (s2 + s3)
    }

    /// `dγ_j = Σ_r dy_rj·x̂_rj` and `dβ_j = Σ_r dy_rj`, accumulated in Float64 row by row. The
    /// columns are split over the thread budget (each worker reads every row's share of columns),
    /// so every sum is taken in the same order whatever the number of threads.
    private static func layerNormParameterGradients(_ x: Tensor, _ g: Tensor, rows: Int, width: Int,
                                                    saved: NormStatistics) -> (Tensor, Tensor) {
        var dGamma = [Double](repeating: 0, count: width), dBeta = dGamma
        func run<T: TensorScalar>(_: T.Type) {
            x.withScalars(T.self) { px in
                g.withScalars(T.self) { pg in
                    dGamma.withUnsafeMutableBufferPointer { pw in
                        dBeta.withUnsafeMutableBufferPointer { pb in
                            saved.mean.withUnsafeBufferPointer { pm in
                                saved.inverseStd.withUnsafeBufferPointer { pv in
                                    guard rows > 0, width > 0 else { return }
                                    nonisolated(unsafe) let sx = px.baseAddress!, sg = pg.baseAddress!
                                    nonisolated(unsafe) let w = pw.baseAddress!, b = pb.baseAddress!
                                    nonisolated(unsafe) let m = pm.baseAddress!, v = pv.baseAddress!
                                    Parallel.forRanges(width, minimumPerThread: Swift.max(8, 16_384 / Swift.max(rows, 1))) { columns in
                                        let (start, n) = (columns.lowerBound, columns.count)
                                        let dw = w + start, db = b + start
                                        if T.self == Float.self {
                                            bonsai_layer_norm_parameter_gradients_f32(
                                                SIMDDispatch.level, float(sx), float(sg), m, v, rows, width, start, n, dw, db)
                                            return
                                        }
                                        for r in 0..<rows {
                                            let xr = sx + r * width + start, gr = sg + r * width + start
                                            let mu = m[r], inverse = v[r]
                                            for j in 0..<n {
                                                let dy = Double(gr[j])
                                                dw[j] += dy * ((Double(xr[j]) - mu) * inverse)
                                                db[j] += dy
                                            }
                                        }
                                    }
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

/// A `T` pointer known to be Float (the caller checked `T.self == Float.self`).
@inline(__always)
private func float<T>(_ p: UnsafePointer<T>) -> UnsafePointer<Float> {
    UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
}

@inline(__always)
private func float<T>(_ p: UnsafeMutablePointer<T>) -> UnsafePointer<Float> {
    UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
}

@inline(__always)
private func mutableFloat<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
}
