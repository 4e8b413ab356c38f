/// Direct kernels for depthwise convolution (one input channel per group, `O = C · multiplier`).
///
/// im2col would turn each group into a GEMM with `K = kh·kw` (9) and `O/groups` (1) rows, far too
/// small for BLAS, so depthwise convolutions run as direct loops instead. Output channel `o` reads
/// input channel `c = o / multiplier`:
///
///     y[n, o, oh, ow]  = b[o] + Σ_{i,j} w[o, i, j] · x[n, c, oh·sh − ph + i, ow·sw − pw + j]
///     dx[n, c, ih, iw] = Σ_{o of c} Σ_{i,j} w[o, i, j] · dy[n, o, oh, ow]   over the (oh, ow) that read (ih, iw)
///     dw[o, i, j]      = Σ_{n, oh, ow} dy[n, o, oh, ow] · x[n, c, oh·sh − ph + i, ow·sw − pw + j]
///
/// Each loop nest runs, per output row and tap, over the contiguous run of output columns whose
/// input is inside the image, so there are no bounds tests in the inner loop. Work is split over
/// planes (forward: output planes; input gradient: input planes, each gathering its own output
/// channels; weight gradient: output channels), so no two workers write the same element.
enum ConvDepthwise {
    static func forward<T: TensorScalar>(x: UnsafePointer<T>, weight: UnsafePointer<T>, bias: UnsafePointer<T>?,
                                         out: UnsafeMutablePointer<T>, shape s: ConvShape) {
        let multiplier = s.outPerGroup
        Parallel.forRanges(s.batch * s.outChannels, minimumPerThread: 4) { planes in
            for index in planes {
                let (n, o) = index.quotientAndRemainder(dividingBy: s.outChannels)
                let y = out + index * s.outPlane
                y.update(repeating: bias?[o] ?? 0, count: s.outPlane)
                let source = x + (n * s.inChannels + o / multiplier) * s.inPlane
                let taps = weight + o * s.kernelH * s.kernelW
                forEachRun(s) { oh, ih, i, j, valid, base in
                    let w = taps[i * s.kernelW + j]
                    let row = y + oh * s.outWidth
                    if s.strideW == 1 {
                        for ow in valid { row[ow] += w * source[base + ow] }
                    } else {
                        for ow in valid { row[ow] += w * source[base + ow * s.strideW] }
                    }
                }
            }
        }
    }

    static func inputGradient<T: TensorScalar>(grad: UnsafePointer<T>, weight: UnsafePointer<T>,
                                               into dx: UnsafeMutablePointer<T>, shape s: ConvShape) {
        let multiplier = s.outPerGroup
        Parallel.forRanges(s.batch * s.inChannels, minimumPerThread: 4) { planes in
            for index in planes {
                let (n, c) = index.quotientAndRemainder(dividingBy: s.inChannels)
                let target = dx + index * s.inPlane
                target.update(repeating: 0, count: s.inPlane)
                for o in (c * multiplier)..<((c + 1) * multiplier) {
                    let dy = grad + (n * s.outChannels + o) * s.outPlane
                    let taps = weight + o * s.kernelH * s.kernelW
                    forEachRun(s) { oh, ih, i, j, valid, base in
                        let w = taps[i * s.kernelW + j]
                        let row = dy + oh * s.outWidth
                        if s.strideW == 1 {
                            for ow in valid { target[base + ow] += w * row[ow] }
                        } else {
                            for ow in valid { target[base + ow * s.strideW] += w * row[ow] }
                        }
                    }
                }
            }
        }
    }

    static func weightGradient<T: TensorScalar>(grad: UnsafePointer<T>, x: UnsafePointer<T>,
                                                into dw: UnsafeMutablePointer<T>, shape s: ConvShape) {
        let multiplier = s.outPerGroup
        let tapCount = s.kernelH * s.kernelW
        Parallel.forRanges(s.outChannels) { channels in
            for o in channels {
                let taps = dw + o * tapCount
                taps.update(repeating: 0, count: tapCount)
                for n in 0..<s.batch {
                    let dy = grad + (n * s.outChannels + o) * s.outPlane
                    let source = x + (n * s.inChannels + o / multiplier) * s.inPlane
                    forEachRun(s) { oh, ih, i, j, valid, base in
                        let row = dy + oh * s.outWidth
                        var sum: T = 0
                        if s.strideW == 1 {
                            for ow in valid { sum += row[ow] * source[base + ow] }
                        } else {
                            for ow in valid { sum += row[ow] * source[base + ow * s.strideW] }
                        }
                        taps[i * s.kernelW + j] += sum
                    }
                }
            }
        }
    }

    /// Calls `body(oh, ih, i, j, valid, base)` for every output row `oh` and tap `(i, j)` whose input
    /// row `ih` is inside the image; `valid` are the output columns whose input column is inside, and
    /// the input element of output column `ow` is at plane offset `base + ow·strideW`.
    @inline(__always)
    private static func forEachRun(_ s: ConvShape, _ body: (Int, Int, Int, Int, Range<Int>, Int) -> Void) {
        for oh in 0..<s.outHeight {
            for i in 0..<s.kernelH {
                let ih = oh * s.strideH - s.padH + i
                if ih < 0 || ih >= s.height { continue }
                for j in 0..<s.kernelW {
                    let valid = ConvShape.validOutputRange(tap: j, size: s.width, outSize: s.outWidth,
                                                           stride: s.strideW, pad: s.padW)
                    body(oh, ih, i, j, valid, ih * s.width - s.padW + j)
                }
            }
        }
    }
}
