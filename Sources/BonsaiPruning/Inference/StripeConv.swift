/// A stripe-pruned convolution executed stripe-wise (METHODS.md §5.2 steps 6–9): the conv is a sum
/// over the kept stripes `(n, i, j)` — the `1×1` filters `W[n, :, i, j] ∈ R^C` — of `1×1`
/// convolutions shifted by the stripe's kernel offset:
///
///     out[n, y, x] = bias[n] + Σ_{(n,i,j) kept} Σ_c W[n, c, i, j] · x[c, y·s + i − p, x·s + j − p]
///
/// (terms outside the input are zero padding), which is exactly the dense `conv2d(x, W ⊙ M, stride s,
/// padding p)` for the stripe mask `M` broadcast over input channels. Work scales with the number of
/// kept stripes `S`, not with `N·K·K`: every kept stripe is one row of a dense GEMM.
///
/// **Layout.** The kept stripes are packed as one matrix `A ∈ R^{S×C}` (a single `1×1` conv with
/// `S` output channels), rows ordered by *phase*, then kernel position `(i, j)`, then filter `n`.
/// For stride 1 there is one phase, and the order is the reference code's (`(i, j)` then `n`).
///
/// **Stride phases (our addition to the reference).** The reference computes `Z = conv1x1(x)` at
/// every input pixel and subsamples after the shift, wasting `1 − 1/s²` of the GEMM for stride `s`.
/// Input row `h = y·s + i − p` always has the same remainder `a = (i − p) mod s` for a given `i`, so
/// the stripes whose positions share `(a, b) = ((i − p) mod s, (j − p) mod s)` only ever read the
/// sub-grid `x[:, a::s, b::s]`. Per phase we gather that sub-grid (`H_a × W_b` pixels), run one GEMM
/// `Z = A_phase · X_phase`, and add row `(n, i, j)` of `Z`, shifted by `(dy, dx) = ((i − p − a)/s,
/// (j − p − b)/s)`, into output channel `n`: `out[n, y, x] += Z[(n,i,j), y + dy, x + dx]` where
/// `0 ≤ y + dy < H_a`, `0 ≤ x + dx < W_b`. Each kept stripe is then computed at (about) the output
/// resolution, so the GEMM work is `S·C·Ho·Wo`, the masked conv's non-zero MACs. For stride 1 the
/// input is used in place (no gather).
///
/// Inference only (no autograd). Generic over the scalar type; Float64 works too.
public struct StripeConv: Sendable {
    public let outChannels: Int, inChannels: Int, kernel: Int, stride: Int, padding: Int
    /// Filter index `n` of each packed row.
    public let rowFilter: [Int]
    /// Kernel position `i·K + j` of each packed row.
    public let rowPosition: [Int]
    /// Row ranges of each phase `a·s + b` in the packed matrix (`stride²` entries).
    public let phaseRows: [Range<Int>]
    /// The packed stripes `[S, C]`.
    public let packed: Tensor
    public let bias: Tensor?

    /// Packs the stripes of `weight` (`[N, C, K, K]`, groups = 1) that `stripes` (`[N, K, K]`, 0/1)
    /// keeps; without `stripes`, a stripe is kept when any of its `C` weights is non-zero. Pass the
    /// *effective* (masked, skeleton-folded) weight.
    public init(weight: Tensor, stripes: Tensor? = nil, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0) {
        precondition(weight.rank == 4 && weight.shape[2] == weight.shape[3],
                     "StripeConv: weight must be [N, C, K, K], got \(weight.shape)")
        let (n, c, k) = (weight.shape[0], weight.shape[1], weight.shape[2])
        precondition(stride >= 1 && padding >= 0, "StripeConv: stride \(stride), padding \(padding)")
        if let stripes { precondition(stripes.shape == [n, k, k], "StripeConv: stripe mask \(stripes.shape) for weight \(weight.shape)") }
        if let bias { precondition(bias.shape == [n], "StripeConv: bias \(bias.shape) for \(n) filters") }
        outChannels = n; inChannels = c; kernel = k; self.stride = stride; self.padding = padding
        self.bias = bias?.detached().cast(to: weight.dtype)
        let w = weight.detached().doubles
        let keep = stripes?.doubles
        func kept(_ f: Int, _ position: Int) -> Bool {
            if let keep { return keep[f * k * k + position] != 0 }
            for ch in 0..<c where w[(f * c + ch) * k * k + position] != 0 { return true }
            return false
        }
        var rowFilter: [Int] = [], rowPosition: [Int] = [], phaseRows: [Range<Int>] = []
        for phase in 0..<(stride * stride) {
            let start = rowFilter.count
            for position in 0..<(k * k) where Self.phase(of: position, kernel: k, stride: stride, padding: padding) == phase {
                for f in 0..<n where kept(f, position) { rowFilter.append(f); rowPosition.append(position) }
            }
            phaseRows.append(start..<rowFilter.count)
        }
        var values = [Double](repeating: 0, count: rowFilter.count * c)
        for (row, (f, position)) in zip(rowFilter, rowPosition).enumerated() {
            for ch in 0..<c { values[row * c + ch] = w[(f * c + ch) * k * k + position] }
        }
        self.rowFilter = rowFilter
        self.rowPosition = rowPosition
        self.phaseRows = phaseRows
        packed = Tensor(shape: [rowFilter.count, c], scalars: values).cast(to: weight.dtype)
    }

    /// The phase `a·s + b` of kernel position `i·K + j`: `a = (i − p) mod s`, `b = (j − p) mod s`.
    static func phase(of position: Int, kernel k: Int, stride s: Int, padding p: Int) -> Int {
        let i = position / k, j = position % k
        return (((i - p) % s + s) % s) * s + ((j - p) % s + s) % s
    }

    /// Number of kept stripes `S`.
    public var stripeCount: Int { rowFilter.count }

    /// Multiply-accumulates per image of this form (`S·C` per output pixel, ignoring padding), and
    /// of the dense conv (`N·C·K²` per output pixel).
    public func macs(height: Int, width: Int) -> (stripe: Int, dense: Int) {
        let (ho, wo) = outputSize(height: height, width: width)
        return (stripeCount * inChannels * ho * wo, outChannels * inChannels * kernel * kernel * ho * wo)
    }

    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        ((height + 2 * padding - kernel) / stride + 1, (width + 2 * padding - kernel) / stride + 1)
    }

    /// `[B, C, H, W] → [B, N, Ho, Wo]`, equal to the masked dense conv up to summation order.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == inChannels, "StripeConv: input \(x.shape) for \(inChannels) channels")
        precondition(x.dtype == packed.dtype, "StripeConv: input \(x.dtype), weights \(packed.dtype)")
        let (h, w) = (x.shape[2], x.shape[3])
        let (ho, wo) = outputSize(height: h, width: w)
        precondition(ho > 0 && wo > 0, "StripeConv: input \(h)×\(w) too small for kernel \(kernel), padding \(padding)")
        var out = Tensor.zeros([x.shape[0], outChannels, ho, wo], dtype: x.dtype)
        switch x.dtype {
        case .float32: run(x, into: &out, Float.self)
        case .float64: run(x, into: &out, Double.self)
        }
        return out
    }

    private func run<T: TensorScalar>(_ x: Tensor, into out: inout Tensor, _: T.Type) {
        let (batch, c, h, w) = (x.shape[0], inChannels, x.shape[2], x.shape[3])
        let (ho, wo) = outputSize(height: h, width: w)
        let s = stride, k = kernel, p = padding
        // Sub-grid sizes per row/column remainder.
        let rowsOf = (0..<s).map { a in a < h ? (h - a + s - 1) / s : 0 }
        let colsOf = (0..<s).map { b in b < w ? (w - b + s - 1) / s : 0 }
        let maxRows = phaseRows.map(\.count).max() ?? 0
        var scratch = [T](repeating: 0, count: maxRows * (rowsOf.max() ?? 0) * (colsOf.max() ?? 0))
        var gathered = [T](repeating: 0, count: s == 1 ? 0 : c * (rowsOf.max() ?? 0) * (colsOf.max() ?? 0))
        let biasValues: [T]? = bias.map { b in b.withScalars(T.self) { Array($0) } }
        packed.withScalars(T.self) { a in
            x.withScalars(T.self) { xs in
                out.withMutableScalars(T.self) { os in
                    scratch.withUnsafeMutableBufferPointer { z in
                        gathered.withUnsafeMutableBufferPointer { g in
                            for image in 0..<batch {
                                let input = xs.baseAddress! + image * c * h * w
                                let output = os.baseAddress! + image * outChannels * ho * wo
                                for phase in 0..<(s * s) {
                                    let rows = phaseRows[phase]
                                    let (pa, pb) = (phase / s, phase % s)
                                    let (hp, wp) = (rowsOf[pa], colsOf[pb])
                                    guard !rows.isEmpty, hp > 0, wp > 0 else { continue }
                                    // X_phase = x[:, pa::s, pb::s] (in place for stride 1).
                                    var source = UnsafePointer(input)
                                    if s > 1 {
                                        for ch in 0..<c {
                                            for t in 0..<hp {
                                                let from = input + (ch * h + pa + t * s) * w + pb
                                                let to = g.baseAddress! + (ch * hp + t) * wp
                                                for u in 0..<wp { to[u] = from[u * s] }
                                            }
                                        }
                                        source = UnsafePointer(g.baseAddress!)
                                    }
                                    let pixels = hp * wp
                                    Gemm.multiply(Gemm.Operands(m: rows.count, n: pixels, k: c,
                                                                a: a.baseAddress! + rows.lowerBound * c, lda: c,
                                                                b: source, ldb: pixels, c: z.baseAddress!, ldc: pixels))
                                    // Shift-and-add every row into its filter's output channel.
                                    for row in rows {
                                        let i = rowPosition[row] / k, j = rowPosition[row] % k
                                        let dy = (i - p - pa) / s, dx = (j - p - pb) / s
                                        let y0 = Swift.max(0, -dy), y1 = Swift.min(ho, hp - dy)
                                        let x0 = Swift.max(0, -dx), x1 = Swift.min(wo, wp - dx)
                                        guard y0 < y1, x0 < x1 else { continue }
                                        let zRow = z.baseAddress! + (row - rows.lowerBound) * pixels
                                        let plane = output + rowFilter[row] * ho * wo
                                        for y in y0..<y1 {
                                            let src = zRow + (y + dy) * wp + dx
                                            let dst = plane + y * wo
                                            for xx in x0..<x1 { dst[xx] += src[xx] }
                                        }
                                    }
                                }
                                if let biasValues {
                                    for f in 0..<outChannels {
                                        let plane = output + f * ho * wo
                                        for q in 0..<(ho * wo) { plane[q] += biasValues[f] }
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
