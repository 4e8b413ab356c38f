/// The phase planes of a strided convolution (the `.phases` layout of ``Im2col``).
///
/// For strides `sh × sw` the input plane splits into `sh·sw` phase planes
/// `P_{r,t}[y, x] = x[y·sh + r, x·sw + t]` of `⌈H/sh⌉ × ⌈W/sw⌉` (zero past the image's edge). Tap
/// `(i, j)` reads only phase `((i − ph) mod sh, (j − pw) mod sw)`, at stride 1, shifted by
/// `(⌊(i − ph)/sh⌋, ⌊(j − pw)/sw⌋)`; when `Wo = ⌈W/sw⌉` that read is the same long shifted copy as a
/// stride-1 "same" convolution. The split is one strided pass over the input, instead of a strided
/// gather per tap and output row.
extension Im2col {
    // MARK: Phase planes

    /// Offset in the phase scratch of the phase plane a tap reads for channel `c`.
    @inline(__always)
    static func phaseOffset(_ s: ConvShape, channel c: Int, shift: Shift) -> Int {
        ((c * s.strideH + shift.phaseRow) * s.strideW + shift.phaseColumn) * s.phaseHeight * s.phaseWidth
    }

    /// `scratch[c, r, t, y, x] = x[c, y·sh + r, x·sw + t]`, 0 past the image's edge.
    static func splitPhases<T: TensorScalar>(_ x: UnsafePointer<T>, channels: Int, shape s: ConvShape,
                                                     into scratch: UnsafeMutablePointer<T>) {
        let (ph, pw) = (s.phaseHeight, s.phaseWidth)
        var target = scratch
        for c in 0..<channels {
            let plane = x + c * s.inPlane
            for r in 0..<s.strideH {
                for t in 0..<s.strideW {
                    defer { target += ph * pw }
                    // A phase no tap reads (a 1×3 kernel at stride 2 never reads odd rows) is left unset.
                    guard isRead(phase: r, kernel: s.kernelH, pad: s.padH, stride: s.strideH),
                          isRead(phase: t, kernel: s.kernelW, pad: s.padW, stride: s.strideW) else { continue }
                    let columns = t < s.width ? (s.width - t + s.strideW - 1) / s.strideW : 0
                    for y in 0..<ph {
                        let ih = y * s.strideH + r
                        let dst = target + y * pw
                        if ih >= s.height {
                            dst.update(repeating: 0, count: pw)
                            continue
                        }
                        let src = plane + ih * s.width + t
                        StridedCopy.gather(src, stride: s.strideW, count: columns, into: dst)
                        for x in columns..<pw { dst[x] = 0 }
                    }
                }
            }
        }
    }

    /// Whether some tap `i` of `kernel` reads phase `phase`: `(i − pad) mod stride = phase`.
    @inline(__always)
    private static func isRead(phase: Int, kernel: Int, pad: Int, stride: Int) -> Bool {
        (0..<kernel).contains { i in (i - pad) - floorDivision(i - pad, stride) * stride == phase }
    }

    /// The adjoint of ``splitPhases(_:channels:shape:into:)`` (each input element lies in exactly one
    /// phase plane, so this overwrites `x`).
    static func mergePhases<T: TensorScalar>(_ scratch: UnsafePointer<T>, channels: Int, shape s: ConvShape,
                                                     into x: UnsafeMutablePointer<T>) {
        let (ph, pw) = (s.phaseHeight, s.phaseWidth)
        var source = scratch
        for c in 0..<channels {
            let plane = x + c * s.inPlane
            for r in 0..<s.strideH {
                for t in 0..<s.strideW {
                    let columns = t < s.width ? (s.width - t + s.strideW - 1) / s.strideW : 0
                    for y in 0..<ph {
                        let ih = y * s.strideH + r
                        if ih >= s.height { break }
                        let src = source + y * pw, dst = plane + ih * s.width + t
                        StridedCopy.scatter(src, count: columns, into: dst, stride: s.strideW)
                    }
                    source += ph * pw
                }
            }
        }
    }
}

/// `⌊a / n⌋` for `n > 0` and any sign of `a`.
@inline(__always)
func floorDivision(_ a: Int, _ n: Int) -> Int {
    a >= 0 ? a / n : -((-a + n - 1) / n)
}
