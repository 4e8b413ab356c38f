/// The loops under every same-shape element-wise op (``Elementwise/map(_:_:_:)``,
/// ``Elementwise/zip(_:_:_:_:)``, and so `+`, `*`, `relu`, the ReLU gradient, masking …).
///
/// An element-wise op on a large tensor is bound by memory bandwidth, and one core of a server
/// CPU cannot draw the whole bandwidth of its memory controller: the loop is split into
/// contiguous ranges over the thread budget (``Parallel``). Below ``parallelMinimum`` elements per
/// worker the loop stays on the calling thread, since a dispatch round trip (a few µs) costs more
/// than the loop it would split. The closures are passed as literals by `@inline(__always)`
/// callers, so each instantiation is a plain, vectorisable loop over unsafe pointers.
extension Elementwise {
    /// Elements per worker below which an element-wise loop is not split (64K floats = 256 KB,
    /// tens of µs of work, well above the dispatch overhead).
    static let parallelMinimum = 1 << 16

    /// `dst[i] = f(src[i])` for `i < count`, split over the thread budget.
    @inline(__always)
    static func apply<T: TensorScalar>(count: Int, _ src: UnsafePointer<T>, into dst: UnsafeMutablePointer<T>,
                                       _ f: (T) -> T) {
        if count < 2 * parallelMinimum {
            for i in 0..<count { dst[i] = f(src[i]) }
            return
        }
        Parallel.forRanges(count, minimumPerThread: parallelMinimum) { range in
            for i in range { dst[i] = f(src[i]) }
        }
    }

    /// `dst[i] = f(a[i], b[i])` for `i < count`, split over the thread budget.
    @inline(__always)
    static func apply<T: TensorScalar>(count: Int, _ a: UnsafePointer<T>, _ b: UnsafePointer<T>,
                                       into dst: UnsafeMutablePointer<T>, _ f: (T, T) -> T) {
        if count < 2 * parallelMinimum {
            for i in 0..<count { dst[i] = f(a[i], b[i]) }
            return
        }
        Parallel.forRanges(count, minimumPerThread: parallelMinimum) { range in
            for i in range { dst[i] = f(a[i], b[i]) }
        }
    }
}

/// The element-wise loops of the ops, on raw Float buffers, for `bonsai bench engine`: each entry
/// runs exactly the loop its tensor op runs (same closure, same splitting), minus the allocation
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
