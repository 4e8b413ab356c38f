/// The weight gradient of a stride-1 convolution on the wide grid of ``ConvWide``, through the
/// direct C kernel (``ConvDirect/weightGradient(level:padded:channels:plane:gradTransposed:ldo:offsets:into:count:)``):
///
///     dWᵀ[c, i, j, o] = Σ_n Σ_q dYwᵀ[n, q, o] · Xp[n, c, q + i·Wp + j]
///
/// with `Xp` the zero-padded input and `dYwᵀ` the output gradient spread onto the wide grid
/// (`Ho × Wp` positions, zero in the `Wp − Wo` discarded columns of each row, so the positions that
/// straddle two rows add nothing) and transposed so that one position's output channels are
/// contiguous: the kernel runs the output channels along its vector lanes and needs no horizontal
/// sums. Against im2col + GEMM (``ConvGemm``) nothing `kh·kw` times the input is ever written or
/// packed: per image the input is padded once and the output gradient transposed once.
extension ConvWide {
    /// Whether the direct weight gradient runs for this shape and scalar type.
    static func directWeightGradient<T: TensorScalar>(_ s: ConvShape, _: T.Type) -> Bool {
        ConvDirect.runs(T.self) && applies(s, T.self)
    }

    /// Adds the weight gradient of `images` into `sum`, laid out per group as `[K × O/g]`
    /// (`K = (C/g)·kh·kw`: the transposed layout of ``ConvGemm``'s per-worker partial sums).
    static func weightGradient(images: Range<Int>, x: UnsafePointer<Float>, grad: UnsafePointer<Float>,
                               intoTransposed sum: UnsafeMutablePointer<Float>, shape s: ConvShape) {
        guard !images.isEmpty else { return }
        let (hp, wp) = (s.height + 2 * s.padH, s.width + 2 * s.padW)
        let paddedPlane = hp * wp, count = s.outHeight * wp
        let (kk, outPer, inPer, k) = (s.kernelH * s.kernelW, s.outPerGroup, s.inPerGroup, s.colRows)
        // Output channels padded to whole 16-lane vectors; the padding lanes of dYwᵀ stay zero.
        let ldo = (outPer + 15) / 16 * 16
        let padded = PaddedPlanes<Float>(shape: s)
        let transposed = UnsafeMutablePointer<Float>.allocate(capacity: count * ldo)
        transposed.initialize(repeating: 0, count: count * ldo)
        // With padding lanes the kernel accumulates into its own [K × ldo] buffer, added at the end.
        let staging: UnsafeMutablePointer<Float>? = ldo == outPer ? nil : .allocate(capacity: s.groups * k * ldo)
        staging?.initialize(repeating: 0, count: s.groups * k * ldo)
        defer { padded.deallocate(); transposed.deallocate(); staging?.deallocate() }
        let offsets = (0..<kk).map { t in (t / s.kernelW) * wp + t % s.kernelW }
        for n in images {
            padded.load(x, image: n)
            for g in 0..<s.groups {
                // dY of this group onto the transposed wide grid (discarded columns never written).
                let dy = grad + n * s.outImage + g * outPer * s.outPlane
                for oh in 0..<s.outHeight {
                    for ow in 0..<s.outWidth {
                        let row = transposed + (oh * wp + ow) * ldo, source = dy + oh * s.outWidth + ow
                        for o in 0..<outPer { row[o] = source[o * s.outPlane] }
                    }
                }
                let target = staging.map { $0 + g * k * ldo } ?? (sum + g * k * outPer)
                let done = ConvDirect.weightGradient(padded: padded.pointer + g * inPer * paddedPlane, channels: inPer,
                                                     plane: paddedPlane, gradTransposed: transposed, ldo: ldo,
                                                     offsets: offsets, into: target, count: count)
                precondition(done, "ConvWide.weightGradient: no direct kernel (level \(ConvDirect.detectedLevel))")
            }
        }
        if let staging {
            for g in 0..<s.groups {
                for r in 0..<k {
                    let source = staging + (g * k + r) * ldo, target = sum + (g * k + r) * outPer
                    for o in 0..<outPer { target[o] += source[o] }
                }
            }
        }
    }
}
