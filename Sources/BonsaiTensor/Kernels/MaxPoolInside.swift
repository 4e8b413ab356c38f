/// Max pooling without padding: every window lies inside the image (floor mode never clips an
/// unpadded window), so the window bounds need no clipping and rows can be walked by pointer.
///
/// Same semantics as the general kernel in ``PoolKernels``: windows scanned in row-major order,
/// `v > best || v.isNaN` takes over (so the first maximum wins a tie and a NaN propagates), and
/// `argmax` holds the flat input index over the whole tensor. The 2×2 stride-2 window of LeNet and
/// VGG is unrolled.
extension PoolKernels {
    static func maxForwardInside<T: TensorScalar>(_ x: UnsafePointer<T>, out: UnsafeMutablePointer<T>,
                                                  argmax: UnsafeMutablePointer<Int32>, shape s: PoolShape) {
        precondition(s.padding == 0, "maxPool2d: the inside kernel needs padding 0, got \(s.padding)")
        let (k, stride, width) = (s.kernel, s.stride, s.width)
        Parallel.forRanges(s.planes, minimumPerThread: 8) { planes in
            for plane in planes {
                let planeStart = plane * s.inPlane
                let source = x + planeStart
                var o = plane * s.outPlane
                for oh in 0..<s.outHeight {
                    let top = oh * stride * width
                    if k == 2 {
                        let r0 = source + top, r1 = r0 + width
                        for ow in 0..<s.outWidth {
                            let c = ow * stride
                            // Starting from −∞, the first element always ends up as the running
                            // value with its own index (even when it is −∞ or NaN): start from it.
                            var value = r0[c], best = top + c
                            let v1 = r0[c + 1]
                            if v1 > value || v1.isNaN { value = v1; best = top + c + 1 }
                            let v2 = r1[c]
                            if v2 > value || v2.isNaN { value = v2; best = top + width + c }
                            let v3 = r1[c + 1]
                            if v3 > value || v3.isNaN { value = v3; best = top + width + c + 1 }
                            out[o] = value
                            argmax[o] = Int32(truncatingIfNeeded: planeStart + best)
                            o += 1
                        }
                    } else {
                        for ow in 0..<s.outWidth {
                            let start = top + ow * stride
                            var best = start, value = -T.infinity
                            for i in 0..<k {
                                let row = start + i * width
                                for j in 0..<k {
                                    let v = source[row + j]
                                    if v > value || v.isNaN { value = v; best = row + j }
                                }
                            }
                            out[o] = value
                            argmax[o] = Int32(truncatingIfNeeded: planeStart + best)
                            o += 1
                        }
                    }
                }
            }
        }
    }
}
