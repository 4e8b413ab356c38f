/// The bias gradient of a convolution, `db[o] = Σ_{n, p} dY[n, o, p]` over NCHW planes.
///
/// A generic `sum(axes: [0, 2])` spends most of a small first layer's backward pass here (one
/// scalar Double chain over every output element), so the plane sums use eight independent
/// accumulators, which the optimiser turns into vector adds; each plane's sum is then added in
/// Double. Channels are split over the thread budget.
enum ConvBias {
    static func gradient<T: TensorScalar>(_ grad: UnsafePointer<T>, batch: Int, channels: Int, plane: Int,
                                          into db: UnsafeMutablePointer<T>) {
        Parallel.forRanges(channels, minimumPerThread: 8) { range in
            for o in range {
                var total = 0.0
                for n in 0..<batch { total += Double(planeSum(grad + (n * channels + o) * plane, count: plane)) }
                db[o] = T(total)
            }
        }
    }

    @inline(__always)
    private static func planeSum<T: TensorScalar>(_ x: UnsafePointer<T>, count: Int) -> T {
        var (s0, s1, s2, s3, s4, s5, s6, s7): (T, T, T, T, T, T, T, T) = (0, 0, 0, 0, 0, 0, 0, 0)
        var p = 0
        while p + 8 <= count {
            s0 += x[p]; s1 += x[p + 1]; s2 += x[p + 2]; s3 += x[p + 3]
            s4 += x[p + 4]; s5 += x[p + 5]; s6 += x[p + 6]; s7 += x[p + 7]
            p += 8
        }
        while p < count { s0 += x[p]; p += 1 }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    }
}
