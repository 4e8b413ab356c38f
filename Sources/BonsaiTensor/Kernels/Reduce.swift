/// Reduction kernels over one axis of a tensor seen as `[outer, length, inner]`.
enum Reduce {
    /// `out[o, i] = Σ_r x[o, r, i]`. The inner loop runs over contiguous memory; a full reduction of
    /// contiguous data (`inner == 1`) accumulates in Double.
    static func sum<T: TensorScalar>(_ x: UnsafeBufferPointer<T>, outer: Int, length: Int, inner: Int,
                                     into out: UnsafeMutableBufferPointer<T>) {
        if inner == 1 {
            for o in 0..<outer {
                var total = 0.0
                let base = o * length
                for r in 0..<length { total += Double(x[base + r]) }
                out[o] = T(total)
            }
            return
        }
        for o in 0..<outer {
            let dst = o * inner
            for i in 0..<inner { out[dst + i] = 0 }
            for r in 0..<length {
                let src = (o * length + r) * inner
                for i in 0..<inner { out[dst + i] += x[src + i] }
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
