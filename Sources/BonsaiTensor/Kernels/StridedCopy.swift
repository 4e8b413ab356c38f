/// Copies between a contiguous run and every `stride`-th element: the inner loops of the strided
/// im2col layouts (the phase split and merge, the 1×1 stride-`s` gather and scatter).
///
/// Why the special cases: with the stride a run-time value the compiler emits one scalar load and
/// store per element. A literal stride of 2 (every strided ResNet / VGG layer) lets the loop
/// vectoriser use its interleaved-access lowering (two vector loads and a shuffle per vector of
/// results). On the 1×1 stride-2 shortcut convolution of ResNet-20 the gather and scatter were
/// half of the layer's profile with the generic loop; vectorised, the gather's time sits on the
/// loads of `x` (cache misses), and the layer's fwd+bwd rate did not change measurably (13–19 %
/// of sgemm before and after, 2 threads, loaded machine): the layer is bound by memory traffic.
enum StridedCopy {
    /// `dst[x] = src[x · stride]` for `x` in `0..<count`.
    @inline(__always)
    static func gather<T: TensorScalar>(_ src: UnsafePointer<T>, stride: Int, count: Int, into dst: UnsafeMutablePointer<T>) {
        switch stride {
        case 1: dst.update(from: src, count: count)
        case 2: for x in 0..<count { dst[x] = src[2 &* x] }
        default: for x in 0..<count { dst[x] = src[x &* stride] }
        }
    }

    /// `dst[x · stride] = src[x]` for `x` in `0..<count` (the elements between are not touched).
    @inline(__always)
    static func scatter<T: TensorScalar>(_ src: UnsafePointer<T>, count: Int, into dst: UnsafeMutablePointer<T>, stride: Int) {
        switch stride {
        case 1: dst.update(from: src, count: count)
        case 2: for x in 0..<count { dst[2 &* x] = src[x] }
        default: for x in 0..<count { dst[x &* stride] = src[x] }
        }
    }

    /// `dst[0..<length]` gets `src[x]` at `x · stride` and 0 everywhere else, for the `count`
    /// samples that fit (`(count − 1)·stride < length`): a scatter that writes each element once.
    @inline(__always)
    static func scatterFilling<T: TensorScalar>(_ src: UnsafePointer<T>, count: Int, into dst: UnsafeMutablePointer<T>,
                                                stride: Int, length: Int) {
        if stride == 2 {
            // Pairs (sample, 0) while both fit, then a last lone sample, then zeros.
            let pairs = Swift.min(count, length / 2)
            for x in 0..<pairs { dst[2 &* x] = src[x]; dst[2 &* x &+ 1] = 0 }
            var written = 2 * pairs
            if pairs < count && written < length { dst[written] = src[pairs]; written += 1 }
            for i in written..<length { dst[i] = 0 }
            return
        }
        if stride == 1 {
            dst.update(from: src, count: count)
            (dst + count).update(repeating: 0, count: length - count)
            return
        }
        for i in 0..<length { dst[i] = 0 }
        scatter(src, count: count, into: dst, stride: stride)
    }
}
