import CKernels

/// Reduction kernels over one axis of a tensor seen as `[outer, length, inner]`.
enum Reduce {
    /// `out[o, i] = Σ_r x[o, r, i]`. The inner loop runs over contiguous memory; a full reduction of
    /// contiguous data (`inner == 1`) accumulates in Double.
    ///
    /// Large reductions are split over the thread budget by *output* element (rows of the output
    /// for `inner == 1`, runs of output columns otherwise), so every sum is taken in the same order
    /// whatever the number of threads. Rows are addressed through pointers and indexed from 0
    /// (index sums like `src + i` carry overflow checks that kept the column loop scalar: the bias
    /// gradients of tinybert's linears were 5 % of its training step). Float32 column runs go to the C
    /// kernel `bonsai_sum_rows_f32` (register accumulators, AVX where present), same per-column order.
    static func sum<T: TensorScalar>(_ x: UnsafeBufferPointer<T>, outer: Int, length: Int, inner: Int,
                                     into out: UnsafeMutableBufferPointer<T>) {
        guard let o = out.baseAddress, outer * inner > 0 else { return }
        guard let s = x.baseAddress, length > 0 else {
            o.update(repeating: 0, count: outer * inner)
            return
        }
        nonisolated(unsafe) let src = s, dst = o
        let minimum = Swift.max(1, 32_768 / length)
        if inner == 1 {
            Parallel.forRanges(outer, minimumPerThread: minimum) { range in
                for r in range {
                    let row = src + r * length
                    var total = 0.0
                    for j in 0..<length { total += Double(row[j]) }
                    dst[r] = T(total)
                }
            }
            return
        }
        Parallel.forRanges(outer * inner, minimumPerThread: minimum) { range in
            // The output elements `range` of [outer, inner], one run per `o` it touches.
            var first = range.lowerBound
            while first < range.upperBound {
                let block = first / inner, column = first - block * inner
                let n = Swift.min(range.upperBound - first, inner - column)
                let target = dst + first
                let source = src + block * length * inner + column
                if T.self == Float.self {
                    // Same order per column, 8/16 lanes and four accumulators in registers.
                    bonsai_sum_rows_f32(SIMDDispatch.level,
                                        UnsafeRawPointer(source).assumingMemoryBound(to: Float.self), length, inner, n,
                                        UnsafeMutableRawPointer(target).assumingMemoryBound(to: Float.self))
                    first += n
                    continue
                }
                for i in 0..<n { target[i] = source[i] }
                for r in 1..<length {
                    let row = source + r * inner
                    for i in 0..<n { target[i] += row[i] }
                }
                first += n
            }
        }
    }

    /// Maximum along the middle axis; `indices` receive the flat input position of each maximum
    /// (the first one on ties, as a stable rule).
    static func max<T: TensorScalar>(_ x: UnsafeBufferPointer<T>, outer: Int, length: Int, inner: Int,
                                     into out: UnsafeMutableBufferPointer<T>, indices: inout [Int]) {
        for o in 0..<outer {
            for i in 0..<inner {
                var best = o * length * inner + i
                var value = x[best]
                for r in 1..<Swift.max(length, 1) {
                    let p = (o * length + r) * inner + i
                    if x[p] > value || (value.isNaN == false && x[p].isNaN) { value = x[p]; best = p }
                }
                out[o * inner + i] = value
                indices[o * inner + i] = best
            }
        }
    }
}

extension Array where Element == Int {
    /// `(outer, length, inner)` of a shape around `axis`.
    func split(at axis: Int) -> (outer: Int, length: Int, inner: Int) {
        (self[..<axis].reduce(1, *), self[axis], self[(axis + 1)...].reduce(1, *))
    }
}
