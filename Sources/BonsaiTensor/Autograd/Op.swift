/// The closed set of differentiable operations.
///
/// Every op that can appear in a graph is a case here, holding its inputs and whatever its backward
/// rule needs (saved outputs are stored detached, so the graph has no cycles). `inputs` and the
/// backward rule (`Backward.swift`) are exhaustive switches over this enum: a new op cannot compile
/// without its gradient. Composite operations (attention, MSE, KL divergence, dropout …) are built
/// from these primitives and need no rule of their own.
indirect enum Op {
    case leaf

    // Element-wise arithmetic with NumPy broadcasting.
    case add(Tensor, Tensor)
    case sub(Tensor, Tensor)
    case mul(Tensor, Tensor)
    case div(Tensor, Tensor)
    case neg(Tensor)
    /// `x · c` for a constant `c`.
    case scale(Tensor, Double)
    /// `x + c` for a constant `c`.
    case shift(Tensor)
    /// `x^p` for a constant `p`.
    case power(Tensor, Double)

    // Element-wise functions.
    case exp(Tensor, output: Tensor)
    case log(Tensor)
    case sqrt(Tensor, output: Tensor)
    case abs(Tensor)
    case relu(Tensor)
    /// Exact GELU, `x·Φ(x)` with Φ the standard normal CDF (PyTorch's default, not the tanh form).
    case gelu(Tensor)
    case tanh(Tensor, output: Tensor)
    case sigmoid(Tensor, output: Tensor)
    /// Clamp to `[low, high]`; the gradient passes where the input is strictly inside.
    case clamp(Tensor, low: Double, high: Double)
    /// Dtype conversion; the gradient is converted back.
    case cast(Tensor)
    /// Element-wise masking `w ⊙ m` by a constant 0/1 mask; the gradient is exactly zero where `m = 0`.
    case mask(Tensor, mask: Tensor)

    // Reductions.
    /// Sum over `axes` (the result keeps no reduced axes).
    case sum(Tensor, axes: [Int])
    /// Maximum along one axis (reduced away); `indices` are the flat positions of the maxima.
    case max(Tensor, indices: [Int])

    // Shape and indexing.
    case reshape(Tensor)
    case permute(Tensor, [Int])
    /// Broadcast (expand) to the output's shape.
    case broadcast(Tensor)
    case concat([Tensor], axis: Int)
    /// `length` entries starting at `start` along `axis`.
    case slice(Tensor, axis: Int, start: Int)
    /// Entries `indices` along `axis` (with repeats); the gradient scatter-adds.
    case indexSelect(Tensor, axis: Int, indices: [Int])

    // Linear algebra.
    /// Batched matrix product `[…, m, k] · […, k, n]` (leading dimensions equal).
    case matmul(Tensor, Tensor)
    /// `x · Wᵀ + b` over the last axis of `x` (PyTorch `F.linear`).
    case linear(input: Tensor, weight: Tensor, bias: Tensor?)

    // Neural-network ops with fused kernels.
    case softmax(Tensor, output: Tensor)
    case logSoftmax(Tensor, output: Tensor)
    case conv2d(input: Tensor, weight: Tensor, bias: Tensor?, geometry: Conv2dGeometry)
    case maxPool2d(Tensor, argmax: [Int32], geometry: Pool2dGeometry)
    case avgPool2d(Tensor, geometry: Pool2dGeometry)
    case batchNorm(input: Tensor, weight: Tensor?, bias: Tensor?, saved: NormStatistics)
    case layerNorm(input: Tensor, weight: Tensor?, bias: Tensor?, saved: NormStatistics)
    case crossEntropy(logits: Tensor, labels: [Int], labelSmoothing: Double, probabilities: Tensor)
    /// Self-attention over a packed `[B, T, 3E]` projection (``packedSelfAttention``).
    case attention(Tensor, saved: AttentionSaved)

    /// The tensors this op consumed, in the order the backward rule returns their gradients.
    var inputs: [Tensor] {
        switch self {
        case .leaf: return []
        case let .add(a, b), let .sub(a, b), let .mul(a, b), let .div(a, b), let .matmul(a, b): return [a, b]
        case let .neg(x), let .scale(x, _), let .shift(x), let .power(x, _), let .exp(x, _), let .log(x),
             let .sqrt(x, _), let .abs(x), let .relu(x), let .gelu(x), let .tanh(x, _), let .sigmoid(x, _),
             let .clamp(x, _, _), let .cast(x), let .mask(x, _), let .sum(x, _), let .max(x, _),
             let .reshape(x), let .permute(x, _), let .broadcast(x), let .slice(x, _, _),
             let .indexSelect(x, _, _), let .softmax(x, _), let .logSoftmax(x, _), let .maxPool2d(x, _, _),
             let .avgPool2d(x, _), let .crossEntropy(x, _, _, _), let .attention(x, _):
            return [x]
        case let .concat(parts, _): return parts
        case let .linear(x, w, b), let .conv2d(x, w, b, _):
            return b.map { [x, w, $0] } ?? [x, w]
        case let .batchNorm(x, w, b, _), let .layerNorm(x, w, b, _):
            return [x] + (w.map { [$0] } ?? []) + (b.map { [$0] } ?? [])
        }
    }

    /// A short name for error messages and graph dumps.
    var name: String {
        let text = String(describing: self)
        return String(text.prefix { $0 != "(" })
    }
}

/// Geometry of a 2-d convolution on NCHW tensors with `[out, in/groups, kh, kw]` weights.
public struct Conv2dGeometry: Hashable, Sendable, Codable {
    public var strideH: Int, strideW: Int
    public var padH: Int, padW: Int
    public var groups: Int

    public init(stride: Int = 1, padding: Int = 0, groups: Int = 1) {
        self.init(strideH: stride, strideW: stride, padH: padding, padW: padding, groups: groups)
    }

    public init(strideH: Int, strideW: Int, padH: Int, padW: Int, groups: Int = 1) {
        self.strideH = strideH; self.strideW = strideW
        self.padH = padH; self.padW = padW
        self.groups = groups
    }

    /// Output spatial size for an input size and kernel size: `(in + 2·pad − k) / stride + 1`.
    public func outputSize(height: Int, width: Int, kernelH: Int, kernelW: Int) -> (height: Int, width: Int) {
        ((height + 2 * padH - kernelH) / strideH + 1, (width + 2 * padW - kernelW) / strideW + 1)
    }
}

/// Geometry of a 2-d pooling window on NCHW tensors (square windows, PyTorch floor mode).
public struct Pool2dGeometry: Hashable, Sendable, Codable {
    public var kernel: Int
    public var stride: Int
    public var padding: Int

    public init(kernel: Int, stride: Int? = nil, padding: Int = 0) {
        self.kernel = kernel
        self.stride = stride ?? kernel
        self.padding = padding
    }

    public func outputSize(_ size: Int) -> Int { (size + 2 * padding - kernel) / stride + 1 }
}

/// Per-group statistics a normalisation saves for its backward pass: the mean and the inverse
/// standard deviation `1/√(var + eps)` of each normalised group (a channel for batch norm, a row for
/// layer norm), in Float64.
struct NormStatistics {
    var mean: [Double]
    var inverseStd: [Double]
}
