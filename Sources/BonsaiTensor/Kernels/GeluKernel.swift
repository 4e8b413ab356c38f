import CKernels

/// Exact (erf) GELU and its derivative as explicit loops:
///
///     gelu(x) = x·Φ(x),   gelu'(x) = Φ(x) + x·φ(x),   Φ(x) = ½(1 + erf(x/√2)),  φ(x) = e^{−x²/2}/√(2π)
///
/// Why not ``Elementwise/map(_:_:_:)`` with a closure: the loop there is specialised for the
/// closure, but a closure this large (a rational erf, a polynomial exp) is not inlined into it, so
/// every element paid a call and nothing vectorised — GELU and its gradient were 28 % of tinybert's
/// training step. Here the per-element functions are `@inline(__always)` statics called from
/// plain loops over raw pointers, which the optimiser vectorises. The Float32 path uses the
/// branch-free ``FastErf`` and ``FastExp``; Float64 keeps libm (the gradient checks rely on it).
/// Loops over many elements are split over the thread budget (GELU is compute-bound, ~40
/// operations per element, so the split starts earlier than for memory-bound loops).
///
/// The Float32 loops run in the C kernels (``SIMDDispatch``): the same rational erf and polynomial
/// exp on 8 or 16 lanes with FMA where the CPU has AVX2 or AVX-512 (the Swift loops here are
/// 4-wide SSE, and GELU was still 12 % of a tinybert step). The Swift `value`/`derivative` stay as
/// the plain reference the tests check every level against.
enum GeluKernel {
    /// Elements per worker below which a loop is not split.
    static let parallelMinimum = 1 << 14

    private struct Buffers<T>: @unchecked Sendable {
        let x: UnsafePointer<T>, grad: UnsafePointer<T>?, out: UnsafeMutablePointer<T>
    }

    @inline(__always) static func value(_ x: Float) -> Float {
        x * 0.5 * (1 + FastErf.erf(x * 0.70710678118654752))
    }

    @inline(__always) static func derivative(_ x: Float) -> Float {
        let cdf = 0.5 * (1 + FastErf.erf(x * 0.70710678118654752))
        return cdf + x * (FastExp.exp(-0.5 * x * x) * 0.39894228040143268)
    }

    @inline(__always) static func value(_ x: Double) -> Double {
        x * 0.5 * (1 + Double.erf(x * 0.70710678118654752))
    }

    @inline(__always) static func derivative(_ x: Double) -> Double {
        let cdf = 0.5 * (1 + Double.erf(x * 0.70710678118654752))
        return cdf + x * (Double.exp(-0.5 * x * x) * 0.39894228040143268)
    }

    /// `gelu(x)` element-wise.
    static func forward(_ x: Tensor) -> Tensor {
        var out = Tensor.empty(x.shape, dtype: x.dtype)
        let count = x.count
        guard count > 0 else { return out }
        switch x.dtype {
        case .float32:
            x.withScalars(Float.self) { src in out.withMutableScalars(Float.self) { dst in
                let buffers = Buffers(x: src.baseAddress!, grad: nil, out: dst.baseAddress!)
                Parallel.forRanges(count, minimumPerThread: parallelMinimum, context: buffers) { range, c in
                    bonsai_gelu_forward_f32(SIMDDispatch.level, c.x + range.lowerBound, c.out + range.lowerBound,
                                            range.count)
                }
            } }
        case .float64:
            x.withScalars(Double.self) { src in out.withMutableScalars(Double.self) { dst in
                for i in 0..<count { dst[i] = value(src[i]) }
            } }
        }
        return out
    }

    /// `grad ⊙ gelu'(x)` element-wise.
    static func backward(x: Tensor, grad: Tensor) -> Tensor {
        precondition(x.shape == grad.shape && x.dtype == grad.dtype,
                     "gelu backward: grad \(grad.shape) (\(grad.dtype)) for input \(x.shape) (\(x.dtype))")
        var out = Tensor.empty(x.shape, dtype: x.dtype)
        let count = x.count
        guard count > 0 else { return out }
        switch x.dtype {
        case .float32:
            x.withScalars(Float.self) { src in grad.withScalars(Float.self) { g in out.withMutableScalars(Float.self) { dst in
                let buffers = Buffers(x: src.baseAddress!, grad: g.baseAddress!, out: dst.baseAddress!)
                Parallel.forRanges(count, minimumPerThread: parallelMinimum, context: buffers) { range, c in
                    bonsai_gelu_backward_f32(SIMDDispatch.level, c.x + range.lowerBound, c.grad! + range.lowerBound,
                                             c.out + range.lowerBound, range.count)
                }
            } } }
        case .float64:
            x.withScalars(Double.self) { src in grad.withScalars(Double.self) { g in out.withMutableScalars(Double.self) { dst in
                for i in 0..<count { dst[i] = g[i] * derivative(src[i]) }
            } } }
        }
        return out
    }
}
