extension Tensor {
    /// Adds `other` into this tensor in place, element by element (same shape and dtype), without
    /// recording a graph node: how reverse mode sums the gradients that reach one node from several
    /// consumers (a residual stream's gradient, a weight used twice).
    ///
    /// `a + b` allocates a third buffer and streams it through memory; here only this tensor's
    /// storage is written. If another tensor shares that storage (a backward rule may hand the same
    /// gradient to two inputs), it is copied first (copy-on-write), so no other tensor sees the change.
    mutating func accumulate(_ other: Tensor) {
        precondition(shape == other.shape && dtype == other.dtype,
                     "accumulate: \(other.shape) (\(other.dtype)) into \(shape) (\(dtype))")
        func run<T: TensorScalar>(_: T.Type) {
            other.withScalars(T.self) { src in
                withMutableScalars(T.self) { dst in
                    guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                    Elementwise.apply(count: dst.count, UnsafePointer(d), s, into: d) { $0 + $1 }
                }
            }
        }
        dispatch(dtype, float: { run(Float.self) }, double: { run(Double.self) })
    }
}
