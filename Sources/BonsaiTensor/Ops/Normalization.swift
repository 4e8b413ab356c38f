/// Shared pieces of the normalisation layers (batch norm in `BatchNorm.swift`, layer norm in
/// `LayerNorm.swift`).
///
/// Both layers compute `y = (x − μ)·σ⁻¹·γ + β` with `σ⁻¹ = 1/√(var + eps)`, per channel (batch norm)
/// or per row (layer norm). Statistics are accumulated in Float64 whatever the tensor's dtype, with
/// two passes (mean, then the mean of squared deviations) rather than `E[x²] − E[x]²`, which loses
/// every digit when the mean is large compared with the spread. The forward saves μ and σ⁻¹
/// (``NormStatistics``); the backward recomputes `x̂ = (x − μ)·σ⁻¹` from the saved input.
enum NormGradient {}

/// A tensor viewed as `[outer, channels, inner]` around one axis: for batch norm on `[N, C, H, W]`
/// that is `[N, C, H·W]`, so channel `c` is `outer` contiguous runs of `inner` scalars.
struct ChannelLayout {
    var outer: Int
    var channels: Int
    var inner: Int

    init(_ shape: [Int], axis: Int) {
        (outer, channels, inner) = shape.split(at: axis)
    }

    /// Number of scalars in one channel.
    var perChannel: Int { outer * inner }
    /// Number of contiguous `inner` runs (`outer · channels`); run `p` belongs to channel `p % channels`.
    var planes: Int { outer * channels }
}

/// Per-element affine helpers used by both norms' kernels.
enum NormKernel {
    /// Two-pass mean and biased variance of `count` scalars at `base + k·stride` for `k` in the
    /// runs described by `runs` (start offsets) of `length` contiguous scalars each.
    @inline(__always)
    static func moments<T: TensorScalar>(_ x: UnsafeBufferPointer<T>, runs: StrideTo<Int>, length: Int) -> (mean: Double, variance: Double) {
        var sum = 0.0, count = 0
        for start in runs {
            for i in 0..<length { sum += Double(x[start + i]) }
            count += length
        }
        let mean = sum / Double(Swift.max(count, 1))
        var squares = 0.0
        for start in runs {
            for i in 0..<length {
                let d = Double(x[start + i]) - mean
                squares += d * d
            }
        }
        return (mean, squares / Double(Swift.max(count, 1)))
    }

    /// The per-group `(scale, shift)` with `y = x·scale + shift` equal to `(x − μ)·σ⁻¹·γ + β`.
    static func affine(mean: [Double], inverseStd: [Double], weight: Tensor?, bias: Tensor?) -> (scale: [Double], shift: [Double]) {
        let gamma = weight?.doubles, beta = bias?.doubles
        var scale = [Double](repeating: 0, count: mean.count), shift = scale
        for c in 0..<mean.count {
            scale[c] = inverseStd[c] * (gamma?[c] ?? 1)
            shift[c] = (beta?[c] ?? 0) - mean[c] * scale[c]
        }
        return (scale, shift)
    }
}

extension Tensor {
    /// Whether an op with these inputs would record a graph node (grad mode on and some input
    /// requires grad). Used to choose between a fused no-grad kernel and a differentiable composite.
    static func wouldRecord(_ inputs: [Tensor?]) -> Bool {
        Engine.isGradEnabled && inputs.contains { $0?.requiresGrad ?? false }
    }
}
