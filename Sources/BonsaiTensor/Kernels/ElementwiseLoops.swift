/// The loops under every same-shape element-wise op (``Elementwise/map(_:_:_:)``,
/// ``Elementwise/zip(_:_:_:_:)``, and so `+`, `*`, `relu`, the ReLU gradient, masking …).
///
/// They run on the calling thread. The closures are passed as literals by `@inline(__always)`
/// callers, so each instantiation is a plain loop over unsafe pointers that the compiler
/// vectorises. An earlier version split large loops over the thread budget with ``Parallel``, but
/// then `f` reaches the worker's closure as a captured function value and is called per element
/// (an indirect `call` per float): on two threads that measured 4 GB/s against 10 GB/s for the
/// vectorised loop on one thread (`bench engine --section elementwise`, same run). Splitting needs
/// the operation as a type (a generic parameter), not a closure; until the hot ops are written
/// that way, one vectorised thread is the faster choice.
extension Elementwise {
    /// `dst[i] = f(src[i])` for `i < count`.
    @inline(__always)
    static func apply<T: TensorScalar>(count: Int, _ src: UnsafePointer<T>, into dst: UnsafeMutablePointer<T>,
                                       _ f: (T) -> T) {
        for i in 0..<count { dst[i] = f(src[i]) }
    }

    /// `dst[i] = f(a[i], b[i])` for `i < count`.
    @inline(__always)
    static func apply<T: TensorScalar>(count: Int, _ a: UnsafePointer<T>, _ b: UnsafePointer<T>,
                                       into dst: UnsafeMutablePointer<T>, _ f: (T, T) -> T) {
        for i in 0..<count { dst[i] = f(a[i], b[i]) }
    }
}

/// The element-wise loops of the ops, on raw Float buffers, for `bonsai bench engine`: each entry
/// runs exactly the loop its tensor op runs (same closure), minus the allocation
/// of the output tensor, so its bandwidth can be set against a plain copy of the same size.
public enum ElementwiseKernels {
    /// `out = a + b` (the `+` op on same-shape tensors).
    public static func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                           count: Int) {
        Elementwise.apply(count: count, a, b, into: out, +)
    }

    /// `out = a · b` (the `*` op on same-shape tensors).
    public static func multiply(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                into out: UnsafeMutablePointer<Float>, count: Int) {
        Elementwise.apply(count: count, a, b, into: out, *)
    }

    /// `out = max(x, 0)` (`relu()`).
    public static func relu(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
        Elementwise.apply(count: count, x, into: out) { $0 > 0 ? $0 : 0 }
    }

    /// `out = x > 0 ? g : 0` (the ReLU backward rule).
    public static func reluBackward(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
                                    into out: UnsafeMutablePointer<Float>, count: Int) {
        Elementwise.apply(count: count, x, g, into: out) { $0 > 0 ? $1 : 0 }
    }

    /// `out = m ≠ 0 ? x : 0` (`masked(by:)` and its backward rule: a multiply by a 0/1 mask that
    /// yields exact zeros even for non-finite `x`).
    public static func masked(_ x: UnsafePointer<Float>, _ m: UnsafePointer<Float>,
                              into out: UnsafeMutablePointer<Float>, count: Int) {
        Elementwise.apply(count: count, x, m, into: out) { $1 != 0 ? $0 : 0 }
    }
}
