/// Batch normalisation over axis 1 of `[N, C]`, `[N, C, L]` or `[N, C, H, W]` (PyTorch's
/// `BatchNorm1d` / `BatchNorm2d`, `F.batch_norm`).
///
/// **Training** normalises with the batch statistics of each channel over the `M = N·L` (or `N·H·W`)
/// values it has: `μ = mean`, biased `var = mean((x − μ)²)`, and updates the running buffers exactly as
/// PyTorch does, with the *unbiased* variance:
///
///     running_mean ← (1 − momentum)·running_mean + momentum·μ
///     running_var  ← (1 − momentum)·running_var  + momentum·var·M/(M − 1)
///
/// (PyTorch's `momentum=None`, a cumulative average, is not supported.)
///
/// The op is recorded as the fused ``Op/batchNorm(input:weight:bias:saved:)`` whose backward
/// (``NormGradient/batchNorm(input:weight:hasBias:saved:grad:needs:)``) accounts for μ and var
/// depending on every `x` of the channel.
///
/// **Evaluation** normalises with the running statistics, which are constants: `y = (x − μ_r)·s + β`
/// with `s = γ/√(var_r + eps)`. When a gradient is wanted (e.g. an input gradient of a model in eval
/// mode) it is computed as that composite of broadcasting `sub`/`mul`/`add` ops, so gradients reach
/// `x`, `γ` and `β` through their ordinary rules; without a gradient one fused kernel runs.
///
/// **Running statistics** are passed `inout` because they are state the layer owns and only a
/// training forward changes; they are never part of the graph (the update is plain arithmetic on
/// their values, in their own dtype). ``batchNormInference(_:weight:bias:runningMean:runningVar:eps:)``
/// is the non-mutating evaluation form for callers that hold the buffers as `let`.
///
/// Batch shapes are the caller's data: use ``checkBatchNormInput(_:weight:bias:runningMean:runningVar:training:)``
/// to turn a bad shape (or a training batch with one value per channel, where PyTorch raises too)
/// into a ``TensorError`` before calling; the op itself treats them as contract violations.
public func batchNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, runningMean: inout Tensor, runningVar: inout Tensor,
                      training: Bool, momentum: Double = 0.1, eps: Double = 1e-5) -> Tensor {
    do {
        try checkBatchNormInput(x, weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar,
                                training: training)
    } catch {
        preconditionFailure("\(error)")
    }
    guard training else {
        return BatchNormKernel.evaluate(x, weight: weight, bias: bias, runningMean: runningMean,
                                        runningVar: runningVar, eps: eps)
    }
    let layout = ChannelLayout(x.shape, axis: 1)
    let (mean, variance) = BatchNormKernel.statistics(x, layout)
    let inverseStd = variance.map { 1 / ($0 + eps).squareRoot() }
    let out = BatchNormKernel.normalize(x, layout, mean: mean, inverseStd: inverseStd, weight: weight, bias: bias)

    // Running update with the unbiased variance (M > 1 was checked above).
    let m = Double(layout.perChannel)
    let unbiased = variance.map { $0 * m / (m - 1) }
    runningMean = BatchNormKernel.blend(runningMean, mean, momentum: momentum)
    runningVar = BatchNormKernel.blend(runningVar, unbiased, momentum: momentum)

    let inputs: [Tensor] = [x] + (weight.map { [$0] } ?? []) + (bias.map { [$0] } ?? [])
    return out.recording(.batchNorm(input: x, weight: weight, bias: bias,
                                    saved: NormStatistics(mean: mean, inverseStd: inverseStd)),
                         inputs: inputs)
}

/// Batch norm in evaluation mode with running statistics held as constants (never modified).
public func batchNormInference(_ x: Tensor, weight: Tensor?, bias: Tensor?, runningMean: Tensor, runningVar: Tensor,
                               eps: Double = 1e-5) -> Tensor {
    var mean = runningMean, variance = runningVar
    return batchNorm(x, weight: weight, bias: bias, runningMean: &mean, runningVar: &variance, training: false, eps: eps)
}

/// Validates a batch-norm call and throws a ``TensorError`` naming the shapes when it would be
/// rejected: rank below 2, `γ`/`β`/running statistics not of shape `[C]`, dtypes of `x`, `γ`, `β`
/// differing, or (in training) a single value per channel, whose unbiased variance is undefined.
public func checkBatchNormInput(_ x: Tensor, weight: Tensor?, bias: Tensor?, runningMean: Tensor, runningVar: Tensor,
                                training: Bool) throws {
    let shapes = [x.shape, weight?.shape ?? [], bias?.shape ?? [], runningMean.shape, runningVar.shape]
    guard x.rank >= 2 else {
        throw TensorError.shapeMismatch(op: "batchNorm", shapes: shapes, detail: "input needs shape [N, C, …]")
    }
    let channels = x.shape[1]
    for (name, tensor) in [("weight", weight), ("bias", bias), ("running mean", runningMean), ("running var", runningVar)] {
        guard let tensor else { continue }
        guard tensor.shape == [channels] else {
            throw TensorError.shapeMismatch(op: "batchNorm", shapes: shapes, detail: "\(name) must have shape [\(channels)]")
        }
    }
    for tensor in [weight, bias] {
        if let tensor, tensor.dtype != x.dtype {
            throw TensorError.dtypeMismatch(op: "batchNorm", expected: x.dtype, got: tensor.dtype)
        }
    }
    if training && x.count / Swift.max(channels, 1) <= 1 {
        throw TensorError.invalidArgument(op: "batchNorm",
                                          detail: "expected more than 1 value per channel when training, got input \(x.shape)")
    }
}

enum BatchNormKernel {
    /// Per-channel mean and biased variance (two passes in Float64), in parallel over channels.
    static func statistics(_ x: Tensor, _ layout: ChannelLayout) -> (mean: [Double], variance: [Double]) {
        var mean = [Double](repeating: 0, count: layout.channels), variance = mean
        func run<T: TensorScalar>(_: T.Type) {
            x.withScalars(T.self) { src in
                mean.withUnsafeMutableBufferPointer { pm in
                    variance.withUnsafeMutableBufferPointer { pv in
                        nonisolated(unsafe) let s = src, m = pm, v = pv
                        let step = layout.channels * layout.inner, end = layout.planes * layout.inner
                        Parallel.forRanges(layout.channels, minimumPerThread: Swift.max(1, 32_768 / Swift.max(layout.perChannel, 1))) { range in
                            for c in range {
                                let runs = stride(from: c * layout.inner, to: end, by: step)
                                let stats = T.self == Float.self && layout.inner >= 16
                                    ? RunSums.moments(UnsafeRawPointer(s.baseAddress!).assumingMemoryBound(to: Float.self),
                                                      runs: runs, length: layout.inner)
                                    : NormKernel.moments(s, runs: runs, length: layout.inner)
                                m[c] = stats.mean
                                v[c] = stats.variance
                            }
                        }
                    }
                }
            }
        }
        dispatch(x.dtype, float: { run(Float.self) }, double: { run(Double.self) })
        return (mean, variance)
    }

    /// `y = (x − μ_c)·σ⁻¹_c·γ_c + β_c`, fused as `x·scale_c + shift_c`, in parallel over planes.
    static func normalize(_ x: Tensor, _ layout: ChannelLayout, mean: [Double], inverseStd: [Double],
                          weight: Tensor?, bias: Tensor?) -> Tensor {
        let (scale, shift) = NormKernel.affine(mean: mean, inverseStd: inverseStd, weight: weight, bias: bias)
        var out = Tensor.empty(x.shape, dtype: x.dtype)
        func run<T: TensorScalar>(_: T.Type) {
            let a = scale.map { T($0) }, b = shift.map { T($0) }
            x.withScalars(T.self) { src in
                out.withMutableScalars(T.self) { dst in
                    a.withUnsafeBufferPointer { pa in
                        b.withUnsafeBufferPointer { pb in
                            nonisolated(unsafe) let s = src, d = dst, sa = pa, sb = pb
                            let inner = layout.inner, channels = layout.channels
                            Parallel.forRanges(layout.planes, minimumPerThread: Swift.max(1, 32_768 / Swift.max(inner, 1))) { range in
                                for p in range {
                                    let c = p % channels, base = p * inner
                                    let ac = sa[c], bc = sb[c]
                                    for i in 0..<inner { d[base + i] = s[base + i] * ac + bc }
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

    /// Evaluation mode: fused kernel without a graph, composite ops with one (see ``batchNorm``).
    static func evaluate(_ x: Tensor, weight: Tensor?, bias: Tensor?, runningMean: Tensor, runningVar: Tensor,
                         eps: Double) -> Tensor {
        let mean = runningMean.doubles
        let inverseStd = runningVar.doubles.map { 1 / ($0 + eps).squareRoot() }
        guard Tensor.wouldRecord([x, weight, bias]) else {
            return normalize(x, ChannelLayout(x.shape, axis: 1), mean: mean, inverseStd: inverseStd, weight: weight, bias: bias)
        }
        // Composite: (x − μ_r) · (γ ⊙ σ_r⁻¹) + β, each per-channel tensor shaped [1, C, 1, …].
        var channelShape = [Int](repeating: 1, count: x.rank)
        channelShape[1] = x.shape[1]
        let meanTensor = Tensor(shape: channelShape, scalars: mean).cast(to: x.dtype)
        let inverseTensor = Tensor(shape: channelShape, scalars: inverseStd).cast(to: x.dtype)
        let scale = weight.map { $0.reshaped(channelShape) * inverseTensor } ?? inverseTensor
        let normalized = (x - meanTensor) * scale
        return bias.map { normalized + $0.reshaped(channelShape) } ?? normalized
    }

    /// `(1 − momentum)·running + momentum·statistic`, in the running buffer's dtype, outside the graph.
    static func blend(_ running: Tensor, _ statistic: [Double], momentum: Double) -> Tensor {
        let old = running.doubles
        var blended = old
        for c in 0..<old.count { blended[c] = (1 - momentum) * old[c] + momentum * statistic[c] }
        return Tensor(shape: running.shape, scalars: blended).cast(to: running.dtype).detached()
    }
}

extension NormGradient {
    /// Backward of training-mode batch norm. With `x̂ = (x − μ)·σ⁻¹`, per channel over its `M` values:
    ///
    ///     dβ = Σ dy,   dγ = Σ dy·x̂,   dx = (γ·σ⁻¹/M)·(M·dy − Σ dy − x̂·Σ dy·x̂)
    ///
    /// (the last two terms are the paths through μ and var). Gradients are ordered `[x, γ?, β?]`.
    static func batchNorm(input x: Tensor, weight: Tensor?, hasBias: Bool, saved: NormStatistics,
                          grad g: Tensor, needs: [Bool]) -> [Tensor?] {
        precondition(g.shape == x.shape && g.dtype == x.dtype, "batchNorm backward: grad \(g.shape) for input \(x.shape)")
        let layout = ChannelLayout(x.shape, axis: 1)
        let (sumDy, sumDyXhat) = channelSums(x, g, layout, saved)
        var results: [Tensor?] = [nil]
        if needs[0] {
            let gamma = weight?.doubles ?? [Double](repeating: 1, count: layout.channels)
            let m = Double(layout.perChannel)
            var coefficient = [Double](repeating: 0, count: layout.channels)
            var meanDy = coefficient, meanDyXhat = coefficient
            for c in 0..<layout.channels {
                coefficient[c] = gamma[c] * saved.inverseStd[c]
                meanDy[c] = sumDy[c] / m
                meanDyXhat[c] = sumDyXhat[c] / m
            }
            results[0] = inputGradient(x, g, layout, saved, coefficient: coefficient, meanDy: meanDy, meanDyXhat: meanDyXhat)
        }
        if weight != nil {
            results.append(needs[results.count] ? Tensor(shape: [layout.channels], scalars: sumDyXhat).cast(to: x.dtype) : nil)
        }
        if hasBias {
            results.append(needs[results.count] ? Tensor(shape: [layout.channels], scalars: sumDy).cast(to: x.dtype) : nil)
        }
        return results
    }

    /// Per-channel `Σ dy` and `Σ dy·x̂`, accumulated in Float64, in parallel over channels.
    private static func channelSums(_ x: Tensor, _ g: Tensor, _ layout: ChannelLayout,
                                    _ saved: NormStatistics) -> ([Double], [Double]) {
        var sumDy = [Double](repeating: 0, count: layout.channels), sumDyXhat = sumDy
        func run<T: TensorScalar>(_: T.Type) {
            x.withScalars(T.self) { px in
                g.withScalars(T.self) { pg in
                    sumDy.withUnsafeMutableBufferPointer { p1 in
                        sumDyXhat.withUnsafeMutableBufferPointer { p2 in
                            nonisolated(unsafe) let sx = px, sg = pg, s1 = p1, s2 = p2
                            let inner = layout.inner, step = layout.channels * inner, end = layout.planes * inner
                            Parallel.forRanges(layout.channels, minimumPerThread: Swift.max(1, 16_384 / Swift.max(layout.perChannel, 1))) { range in
                                for c in range {
                                    let mean = saved.mean[c], inverse = saved.inverseStd[c]
                                    var a = 0.0, b = 0.0
                                    for start in stride(from: c * inner, to: end, by: step) {
                                        if T.self == Float.self && inner >= 16 {
                                            // Σ dy·x̂ = σ⁻¹·Σ dy·(x − μ), vectorised (see RunSums).
                                            let sums = RunSums.gradientSums(
                                                dy: UnsafeRawPointer(sg.baseAddress! + start).assumingMemoryBound(to: Float.self),
                                                x: UnsafeRawPointer(sx.baseAddress! + start).assumingMemoryBound(to: Float.self),
                                                count: inner, mean: Float(mean))
                                            a += sums.sumDy
                                            b += sums.sumDyCentered * inverse
                                            continue
                                        }
                                        for i in 0..<inner {
                                            let dy = Double(sg[start + i])
                                            a += dy
                                            b += dy * (Double(sx[start + i]) - mean) * inverse
                                        }
                                    }
                                    s1[c] = a
                                    s2[c] = b
                                }
                            }
                        }
                    }
                }
            }
        }
        dispatch(x.dtype, float: { run(Float.self) }, double: { run(Double.self) })
        return (sumDy, sumDyXhat)
    }

    /// `dx = coefficient_c·(dy − mean(dy) − x̂·mean(dy·x̂))`, in parallel over planes.
    private static func inputGradient(_ x: Tensor, _ g: Tensor, _ layout: ChannelLayout, _ saved: NormStatistics,
                                      coefficient: [Double], meanDy: [Double], meanDyXhat: [Double]) -> Tensor {
        var out = Tensor.empty(x.shape, dtype: x.dtype)
        func run<T: TensorScalar>(_: T.Type) {
            x.withScalars(T.self) { px in
                g.withScalars(T.self) { pg in
                    out.withMutableScalars(T.self) { po in
                        nonisolated(unsafe) let sx = px, sg = pg, so = po
                        let inner = layout.inner, channels = layout.channels
                        Parallel.forRanges(layout.planes, minimumPerThread: Swift.max(1, 16_384 / Swift.max(inner, 1))) { range in
                            for p in range {
                                let c = p % channels, base = p * inner
                                let k = T(coefficient[c]), mu = T(saved.mean[c]), inverse = T(saved.inverseStd[c])
                                let md = T(meanDy[c]), mdx = T(meanDyXhat[c])
                                for i in 0..<inner {
                                    let xhat = (sx[base + i] - mu) * inverse
                                    so[base + i] = k * (sg[base + i] - md - xhat * mdx)
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
