/// Stride-1 convolution as a sum of GEMMs over shifted views of a padded input, with no im2col.
///
/// Pad each input plane once into `Hp × Wp` (`Hp = H + 2·ph`, `Wp = W + 2·pw`, zero border) and
/// compute the output on the "wide" grid of `Ho × Wp` positions, of which the first `Wo` columns
/// of each row are the real outputs. On that grid kernel tap `(i, j)` reads the padded planes at
/// one constant flat offset,
///
///     Yw[o, q] = Σ_{i, j} Σ_c W[o, c, i, j] · Xp[c, q + i·Wp + j],     q = oh·Wp + ow,
///
/// so per tap the input is a `[C/g × Ho·Wp]` matrix view with row stride `Hp·Wp` that BLAS reads
/// (and packs) directly: `kh·kw` GEMMs of inner dimension `C/g` accumulate into `Yw`, and the real
/// columns are copied out. A wide position past `Wo` reads the next row (or, past the last
/// row, the next plane or the slack after the buffer): garbage that only lands in the discarded
/// columns, since each output is its own dot product.
///
/// Against im2col + one GEMM of inner dimension `(C/g)·kh·kw` this skips writing and re-reading
/// the `kh·kw`-times larger column matrix, at the price of `kh·kw` GEMMs with a short inner
/// dimension and `(Wp − Wo)/Wo` wasted columns. Measured (single thread, best of 25, 3×3 pad 1):
/// 9 % faster at 16 channels on 32×32, 17 % at 32 channels on 16×16, 9 % slower at 64 channels on
/// 8×8 — hence, for the GEMM form, ``applies(_:_:)``: 8 to 32 input channels per group (fewer make
/// the per-tap GEMMs too thin) and planes of at least 256 outputs.
///
/// **Direct kernel.** For Float32 on a CPU with AVX2 + FMA or AVX-512 the same wide-grid sum runs
/// as one direct C kernel (``ConvDirect``) instead of `kh·kw` GEMMs, for every stride-1 kernel
/// larger than 1×1 whatever the channel count: it keeps 8 output channels × 32 positions in
/// registers over the whole `(C/g)·kh·kw` reduction, so nothing is packed. `bench engine` (2
/// threads, loaded machine, same run as the GEMM form): forward 26 → 46 GFLOP/s for ResNet-20's
/// 16→16 layers, 18–37 → 34–70 for 64→64 on 8×8, 30 → 45 for conv-4's first layer. The input
/// gradient of a stride-1 convolution is a forward (``ConvGemm/transposedShape(_:)``), so it
/// takes the same kernel. So does the weight gradient (``weightGradient(images:x:grad:intoTransposed:shape:)``,
/// output channels along the vector lanes): backward 21–33 → 37 GFLOP/s for the 16→16 layers,
/// 41 → 53 for 64→64 on 8×8 in the same kind of run. A first weight-gradient kernel with the
/// positions along the lanes (horizontal sums per image, register spills) was slower than
/// OpenBLAS on small planes and was replaced.
enum ConvWide {
    static func applies<T: TensorScalar>(_ s: ConvShape, _: T.Type) -> Bool {
        guard s.strideH == 1 && s.strideW == 1 && !s.isPointwise else { return false }
        if ConvDirect.runs(T.self) { return true }
        return (8...32).contains(s.inPerGroup) && s.outPlane >= 256
    }

    /// Zero-padded input planes of one image at a time, `Hp × Wp` each, with the slack the direct
    /// kernels read past the last plane. The border is zeroed once; ``load(_:image:)`` rewrites
    /// only the interior rows.
    struct PaddedPlanes<T: TensorScalar> {
        let pointer: UnsafeMutablePointer<T>
        let shape: ConvShape
        var width: Int { shape.width + 2 * shape.padW }
        var plane: Int { (shape.height + 2 * shape.padH) * width }

        init(shape s: ConvShape) {
            shape = s
            let count = s.inChannels * (s.height + 2 * s.padH) * (s.width + 2 * s.padW) + s.kernelW + ConvDirect.slack
            pointer = .allocate(capacity: count)
            pointer.initialize(repeating: 0, count: count)
        }

        /// Copies image `n` of `x` (NCHW) into the interior of the planes.
        func load(_ x: UnsafePointer<T>, image n: Int) {
            let s = shape, wp = width
            for c in 0..<s.inChannels {
                let source = x + n * s.inImage + c * s.inPlane
                let target = pointer + c * plane + s.padH * wp + s.padW
                for h in 0..<s.height { (target + h * wp).update(from: source + h * s.width, count: s.width) }
            }
        }

        func deallocate() { pointer.deallocate() }
    }

    /// Per-worker buffers: the padded planes of one image, the wide output of one group, and (for
    /// the GEMM form only) the weights regrouped per tap as `[g][tap][O/g × C/g]`.
    struct Buffers<T: TensorScalar> {
        let padded: PaddedPlanes<T>, wide: UnsafeMutablePointer<T>, taps: UnsafeMutablePointer<T>?

        init(shape s: ConvShape, weight: UnsafePointer<T>, regroup: Bool) {
            let wp = s.width + 2 * s.padW
            padded = PaddedPlanes(shape: s)
            wide = .allocate(capacity: Swift.max(1, s.outPerGroup * s.outHeight * wp))
            guard regroup else {
                taps = nil
                return
            }
            let taps = UnsafeMutablePointer<T>.allocate(capacity: s.outChannels * s.colRows)
            let (kk, outPer, inPer) = (s.kernelH * s.kernelW, s.outPerGroup, s.inPerGroup)
            for g in 0..<s.groups {
                for t in 0..<kk {
                    for o in 0..<outPer {
                        let target = taps + ((g * kk + t) * outPer + o) * inPer
                        let source = weight + (g * outPer + o) * s.colRows + t
                        for c in 0..<inPer { target[c] = source[c * kk] }
                    }
                }
            }
            self.taps = taps
        }

        func deallocate() { padded.deallocate(); wide.deallocate(); taps?.deallocate() }
    }

    /// `out = conv(x, weight) + bias` for `images` (each output fully written).
    static func forward<T: TensorScalar>(images: Range<Int>, x: UnsafePointer<T>, weight: UnsafePointer<T>,
                                         bias: UnsafePointer<T>?, out: UnsafeMutablePointer<T>, shape s: ConvShape) {
        precondition(applies(s, T.self), "ConvWide.forward: shape \(s) not supported")
        let (hp, wp) = (s.height + 2 * s.padH, s.width + 2 * s.padW)
        let paddedPlane = hp * wp, wideCount = s.outHeight * wp
        let (kk, outPer, inPer) = (s.kernelH * s.kernelW, s.outPerGroup, s.inPerGroup)
        let direct = ConvDirect.runs(T.self)
        let buffers = Buffers<T>(shape: s, weight: weight, regroup: !direct)
        defer { buffers.deallocate() }
        let offsets = (0..<kk).map { t in (t / s.kernelW) * wp + t % s.kernelW }
        for n in images {
            buffers.padded.load(x, image: n)
            for g in 0..<s.groups {
                let planes = buffers.padded.pointer + g * inPer * paddedPlane
                if let taps = buffers.taps {
                    for t in 0..<kk {
                        let (i, j) = (t / s.kernelW, t % s.kernelW)
                        Gemm.multiply(Gemm.Operands(m: outPer, n: wideCount, k: inPer, beta: t == 0 ? 0 : 1,
                                                    a: taps + (g * kk + t) * outPer * inPer, lda: inPer,
                                                    b: planes + i * wp + j, ldb: paddedPlane,
                                                    c: buffers.wide, ldc: wideCount))
                    }
                } else {
                    ConvDirect.wide(padded: UnsafeRawPointer(planes).assumingMemoryBound(to: Float.self),
                                    channels: inPer, plane: paddedPlane,
                                    weight: UnsafeRawPointer(weight + g * outPer * s.colRows).assumingMemoryBound(to: Float.self),
                                    outChannels: outPer, offsets: offsets,
                                    output: UnsafeMutableRawPointer(buffers.wide).assumingMemoryBound(to: Float.self),
                                    count: wideCount)
                }
                for o in 0..<outPer {
                    let source = buffers.wide + o * wideCount
                    let target = out + n * s.outImage + (g * outPer + o) * s.outPlane
                    for oh in 0..<s.outHeight {
                        let src = source + oh * wp, dst = target + oh * s.outWidth
                        if let bias {
                            let shift = bias[g * outPer + o]
                            for ow in 0..<s.outWidth { dst[ow] = src[ow] + shift }
                        } else {
                            for ow in 0..<s.outWidth { dst[ow] = src[ow] }
                        }
                    }
                }
            }
        }
    }
}
