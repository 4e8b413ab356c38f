/// im2col and its adjoint col2im: the data movement that turns a convolution into a GEMM.
///
/// `unfold` writes, for `channels` input planes of one image, the matrix
///
///     col[(c·kh + i)·kw + j, oh·Wo + ow] = x[c, oh·sh − ph + i, ow·sw − pw + j]   (0 outside the image)
///
/// into rows of stride `ld` (so several images can sit side by side in one wider matrix and share
/// one GEMM). `fold` is the exact adjoint, `x[c, ih, iw] += Σ col[…]` over every entry that read
/// `(c, ih, iw)`; it accumulates, so the caller zeroes the destination first.
///
/// Both loop over (channel, tap, output row) and then over a contiguous run of output columns whose
/// input column is inside the image (``ConvShape/validOutputRange(tap:size:outSize:stride:pad:)``),
/// so the inner loop has no bounds tests and, at stride 1, is a straight vectorisable copy / add.
enum Im2col {
    static func unfold<T: TensorScalar>(_ x: UnsafePointer<T>, channels: Int, shape s: ConvShape,
                                        into col: UnsafeMutablePointer<T>, ld: Int) {
        let (height, width, outHeight, outWidth) = (s.height, s.width, s.outHeight, s.outWidth)
        let (sh, sw, ph, pw) = (s.strideH, s.strideW, s.padH, s.padW)
        var row = 0
        for c in 0..<channels {
            let plane = x + c * height * width
            for i in 0..<s.kernelH {
                for j in 0..<s.kernelW {
                    let valid = ConvShape.validOutputRange(tap: j, size: width, outSize: outWidth, stride: sw, pad: pw)
                    let rowStart = col + row * ld
                    for oh in 0..<outHeight {
                        let dst = rowStart + oh * outWidth
                        let ih = oh * sh - ph + i
                        if ih < 0 || ih >= height {
                            dst.update(repeating: 0, count: outWidth)
                            continue
                        }
                        for ow in 0..<valid.lowerBound { dst[ow] = 0 }
                        for ow in valid.upperBound..<outWidth { dst[ow] = 0 }
                        // Input index of output column ow: ih·W + ow·sw − pw + j (never negative for ow in `valid`).
                        let base = ih * width - pw + j
                        if sw == 1 {
                            for ow in valid { dst[ow] = plane[base + ow] }
                        } else {
                            for ow in valid { dst[ow] = plane[base + ow * sw] }
                        }
                    }
                    row += 1
                }
            }
        }
    }

    static func fold<T: TensorScalar>(_ col: UnsafePointer<T>, ld: Int, channels: Int, shape s: ConvShape,
                                      into x: UnsafeMutablePointer<T>) {
        let (height, width, outHeight, outWidth) = (s.height, s.width, s.outHeight, s.outWidth)
        let (sh, sw, ph, pw) = (s.strideH, s.strideW, s.padH, s.padW)
        var row = 0
        for c in 0..<channels {
            let plane = x + c * height * width
            for i in 0..<s.kernelH {
                for j in 0..<s.kernelW {
                    let valid = ConvShape.validOutputRange(tap: j, size: width, outSize: outWidth, stride: sw, pad: pw)
                    let rowStart = col + row * ld
                    for oh in 0..<outHeight {
                        let ih = oh * sh - ph + i
                        if ih < 0 || ih >= height { continue }
                        let src = rowStart + oh * outWidth
                        let base = ih * width - pw + j
                        if sw == 1 {
                            for ow in valid { plane[base + ow] += src[ow] }
                        } else {
                            for ow in valid { plane[base + ow * sw] += src[ow] }
                        }
                    }
                    row += 1
                }
            }
        }
    }
}
