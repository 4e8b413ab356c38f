/// Max and average pooling kernels over NCHW planes (PyTorch semantics, floor mode, square windows).
///
/// Window of output `(oh, ow)`: rows `oh·stride − pad ..< oh·stride − pad + kernel`, clipped to the
/// image (padding never wins a max: it counts as −∞; for the average it counts as zeros, PyTorch's
/// default `count_include_pad = True`). Every plane `(n, c)` is independent, so work is split over
/// planes and the backward scatters stay inside the plane a worker owns.
struct PoolShape {
    let planes: Int, height: Int, width: Int
    let outHeight: Int, outWidth: Int
    let kernel: Int, stride: Int, padding: Int

    init(input: [Int], geometry g: Pool2dGeometry, op: String) {
        precondition(input.count == 4, "\(op): need an NCHW input, got \(input)")
        precondition(g.kernel >= 1 && g.stride >= 1 && g.padding >= 0 && g.padding <= g.kernel / 2,
                     "\(op): invalid window kernel \(g.kernel), stride \(g.stride), padding \(g.padding) (padding must be at most kernel/2)")
        planes = input[0] * input[1]; height = input[2]; width = input[3]
        kernel = g.kernel; stride = g.stride; padding = g.padding
        outHeight = g.outputSize(height); outWidth = g.outputSize(width)
        precondition(outHeight >= 1 && outWidth >= 1, "\(op): window \(g.kernel) larger than padded input \(input)")
    }

    var inPlane: Int { height * width }
    var outPlane: Int { outHeight * outWidth }

    /// Clipped input rows (or columns) of output row `o`, and the unclipped window size inside the
    /// padded image (PyTorch's `count_include_pad` divisor factor).
    @inline(__always)
    func window(_ o: Int, size: Int) -> (range: Range<Int>, padded: Int) {
        let start = o * stride - padding
        let end = Swift.min(start + kernel, size + padding)
        return (Swift.max(start, 0)..<Swift.min(end, size), end - start)
    }
}

enum PoolKernels {
    /// Max over each window; `argmax` receives the flat input index (over the whole tensor) of the
    /// first maximum in row-major scan order. NaN propagates (a NaN is taken as the maximum), as in PyTorch.
    static func maxForward<T: TensorScalar>(_ x: UnsafePointer<T>, out: UnsafeMutablePointer<T>,
                                            argmax: UnsafeMutablePointer<Int32>, shape s: PoolShape) {
        if s.padding == 0 { return maxForwardInside(x, out: out, argmax: argmax, shape: s) }
        maxForwardClipped(x, out: out, argmax: argmax, shape: s)
    }

    /// The general max kernel: windows clipped to the image (any padding).
    static func maxForwardClipped<T: TensorScalar>(_ x: UnsafePointer<T>, out: UnsafeMutablePointer<T>,
                                                   argmax: UnsafeMutablePointer<Int32>, shape s: PoolShape) {
        Parallel.forRanges(s.planes, minimumPerThread: 8) { planes in
            for plane in planes {
                let source = x + plane * s.inPlane
                let planeStart = plane * s.inPlane
                for oh in 0..<s.outHeight {
                    let rows = s.window(oh, size: s.height).range
                    for ow in 0..<s.outWidth {
                        let columns = s.window(ow, size: s.width).range
                        var best = rows.lowerBound * s.width + columns.lowerBound
                        var value = -T.infinity
                        for h in rows {
                            for w in columns {
                                let v = source[h * s.width + w]
                                if v > value || v.isNaN { value = v; best = h * s.width + w }
                            }
                        }
                        let o = plane * s.outPlane + oh * s.outWidth + ow
                        out[o] = value
                        argmax[o] = Int32(truncatingIfNeeded: planeStart + best)
                    }
                }
            }
        }
    }

    /// `dx[argmax[o]] += dy[o]` (dx zeroed first). Windows overlap when stride < kernel, so this
    /// accumulates; each output's argmax lies in its own plane, so splitting over planes is race-free.
    static func maxBackward<T: TensorScalar>(_ grad: UnsafePointer<T>, argmax: UnsafePointer<Int32>,
                                             into dx: UnsafeMutablePointer<T>, planes: Int, inPlane: Int, outPlane: Int) {
        // Plane by plane, so the cleared plane is still in the L1 cache when the scatter adds to it.
        Parallel.forRanges(planes, minimumPerThread: 8) { range in
            for plane in range {
                let target = dx + plane * inPlane
                for i in 0..<inPlane { target[i] = 0 }
                for o in (plane * outPlane)..<((plane + 1) * outPlane) {
                    dx[Int(argmax[o])] += grad[o]
                }
            }
        }
    }

    /// Mean over each window with the padded window size as divisor (`count_include_pad = True`).
    static func averageForward<T: TensorScalar>(_ x: UnsafePointer<T>, out: UnsafeMutablePointer<T>, shape s: PoolShape) {
        Parallel.forRanges(s.planes, minimumPerThread: 8) { planes in
            for plane in planes {
                let source = x + plane * s.inPlane
                for oh in 0..<s.outHeight {
                    let rows = s.window(oh, size: s.height)
                    for ow in 0..<s.outWidth {
                        let columns = s.window(ow, size: s.width)
                        var sum: T = 0
                        for h in rows.range {
                            for w in columns.range { sum += source[h * s.width + w] }
                        }
                        out[plane * s.outPlane + oh * s.outWidth + ow] = sum / T(rows.padded * columns.padded)
                    }
                }
            }
        }
    }

    /// Adjoint of ``averageForward(_:out:shape:)``: each input in a window receives `dy / divisor`.
    static func averageBackward<T: TensorScalar>(_ grad: UnsafePointer<T>, into dx: UnsafeMutablePointer<T>,
                                                 shape s: PoolShape) {
        Parallel.forRanges(s.planes, minimumPerThread: 8) { planes in
            for plane in planes {
                let target = dx + plane * s.inPlane
                target.update(repeating: 0, count: s.inPlane)
                for oh in 0..<s.outHeight {
                    let rows = s.window(oh, size: s.height)
                    for ow in 0..<s.outWidth {
                        let columns = s.window(ow, size: s.width)
                        let share = grad[plane * s.outPlane + oh * s.outWidth + ow] / T(rows.padded * columns.padded)
                        for h in rows.range {
                            for w in columns.range { target[h * s.width + w] += share }
                        }
                    }
                }
            }
        }
    }
}
