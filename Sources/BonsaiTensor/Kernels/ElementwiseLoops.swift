/// The loops under every same-shape element-wise op (``Elementwise/map(_:_:_:)``,
/// ``Elementwise/zip(_:_:_:_:)``, and so `+`, `*`, `relu`, the ReLU gradient, masking …).
///
/// An element-wise op on a large tensor is bound by memory bandwidth, and one core cannot draw the
/// whole bandwidth of the memory controller: loops over at least ``parallelMinimum`` elements per
/// worker are split over the thread budget. The buffers travel as the loop's *context*
/// (``Parallel/forRanges(_:minimumPerThread:context:_:)``), so the worker's closure captures only
/// `f`; `f` must capture nothing — a closure literal without captures, or an operator — and the
/// optimiser then specialises the worker's loop for it and vectorises it. (Capturing the buffers
/// too made it call `f` through a pointer per element: 4 GB/s on two threads against 10 GB/s for
/// one vectorised thread.) Operations that need a runtime scalar (`x · c`) take it as a parameter
/// (`apply(count:_:parameter:into:_:)`) rather than capturing it.
extension Elementwise {
    /// Elements per worker below which a loop is not split (64K floats = 256 KB, tens of µs of
    /// work, well above the dispatch overhead).
    static let parallelMinimum = 1 << 16

    private struct Unary<T>: @unchecked Sendable {
        let src: UnsafePointer<T>, dst: UnsafeMutablePointer<T>
    }
    private struct Binary<T>: @unchecked Sendable {
        let a: UnsafePointer<T>, b: UnsafePointer<T>, dst: UnsafeMutablePointer<T>
    }
    private struct UnaryWith<T, P>: @unchecked Sendable {
        let src: UnsafePointer<T>, dst: UnsafeMutablePointer<T>, parameter: P
    }
    private struct BinaryWith<T, P>: @unchecked Sendable {
        let a: UnsafePointer<T>, b: UnsafePointer<T>, dst: UnsafeMutablePointer<T>, parameter: P
    }

    /// `dst[i] = f(src[i])` for `i < count`; `f` must not capture (see above).
    @inline(__always)
    static func apply<T: TensorScalar>(count: Int, _ src: UnsafePointer<T>, into dst: UnsafeMutablePointer<T>,
                                       _ f: (T) -> T) {
        if Parallel.workerCount(count, minimumPerThread: parallelMinimum) <= 1 {
            for i in 0..<count { dst[i] = f(src[i]) }
            return
        }
        Parallel.forRanges(count, minimumPerThread: parallelMinimum, context: Unary(src: src, dst: dst)) { range, c in
            for i in range { c.dst[i] = f(c.src[i]) }
        }
    }

    /// `dst[i] = f(a[i], b[i])` for `i < count`; `f` must not capture.
    @inline(__always)
    static func apply<T: TensorScalar>(count: Int, _ a: UnsafePointer<T>, _ b: UnsafePointer<T>,
                                       into dst: UnsafeMutablePointer<T>, _ f: (T, T) -> T) {
        if Parallel.workerCount(count, minimumPerThread: parallelMinimum) <= 1 {
            for i in 0..<count { dst[i] = f(a[i], b[i]) }
            return
        }
        Parallel.forRanges(count, minimumPerThread: parallelMinimum, context: Binary(a: a, b: b, dst: dst)) { range, c in
            for i in range { c.dst[i] = f(c.a[i], c.b[i]) }
        }
    }

    /// `dst[i] = f(src[i], parameter)`: for operations with runtime scalars; `f` must not capture.
    @inline(__always)
    static func apply<T: TensorScalar, P>(count: Int, _ src: UnsafePointer<T>, parameter: P,
                                          into dst: UnsafeMutablePointer<T>, _ f: (T, P) -> T) {
        if Parallel.workerCount(count, minimumPerThread: parallelMinimum) <= 1 {
            for i in 0..<count { dst[i] = f(src[i], parameter) }
            return
        }
        Parallel.forRanges(count, minimumPerThread: parallelMinimum,
                           context: UnaryWith(src: src, dst: dst, parameter: parameter)) { range, c in
            for i in range { c.dst[i] = f(c.src[i], c.parameter) }
        }
    }

    /// `dst[i] = f(a[i], b[i], parameter)`; `f` must not capture.
    @inline(__always)
    static func apply<T: TensorScalar, P>(count: Int, _ a: UnsafePointer<T>, _ b: UnsafePointer<T>, parameter: P,
                                          into dst: UnsafeMutablePointer<T>, _ f: (T, T, P) -> T) {
        if Parallel.workerCount(count, minimumPerThread: parallelMinimum) <= 1 {
            for i in 0..<count { dst[i] = f(a[i], b[i], parameter) }
            return
        }
        Parallel.forRanges(count, minimumPerThread: parallelMinimum,
                           context: BinaryWith(a: a, b: b, dst: dst, parameter: parameter)) { range, c in
            for i in range { c.dst[i] = f(c.a[i], c.b[i], c.parameter) }
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
