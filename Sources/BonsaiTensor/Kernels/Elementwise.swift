/// Element-wise kernels: plain loops over unsafe buffers, generic over the scalar type and
/// specialised by the optimiser for Float and Double (closures passed as literals inline).
enum Elementwise {
    /// `f` applied to every element.
    @inline(__always)
    static func map<T: TensorScalar>(_ x: Tensor, _: T.Type, _ f: (T) -> T) -> Tensor {
        var out = Tensor.empty(x.shape, dtype: x.dtype)
        x.withScalars(T.self) { src in
            out.withMutableScalars(T.self) { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                apply(count: src.count, s, into: d, f)
            }
        }
        return out
    }

    /// `f(a, b)` element by element, same shapes.
    @inline(__always)
    static func zip<T: TensorScalar>(_ a: Tensor, _ b: Tensor, _: T.Type, _ f: (T, T) -> T) -> Tensor {
        precondition(a.shape == b.shape, "Elementwise.zip: shapes \(a.shape) and \(b.shape) differ")
        var out = Tensor.empty(a.shape, dtype: a.dtype)
        a.withScalars(T.self) { pa in
            b.withScalars(T.self) { pb in
                out.withMutableScalars(T.self) { dst in
                    guard let a = pa.baseAddress, let b = pb.baseAddress, let d = dst.baseAddress else { return }
                    apply(count: dst.count, a, b, into: d, f)
                }
            }
        }
        return out
    }

    /// `f(x, parameter)` for every element: an operation with a runtime scalar (`x · c`), passed
    /// as a parameter so that `f` captures nothing and the split loop vectorises (ElementwiseLoops).
    @inline(__always)
    static func map<T: TensorScalar, P>(_ x: Tensor, _: T.Type, parameter: P, _ f: (T, P) -> T) -> Tensor {
        var out = Tensor.empty(x.shape, dtype: x.dtype)
        x.withScalars(T.self) { src in
            out.withMutableScalars(T.self) { dst in
                guard let s = src.baseAddress, let d = dst.baseAddress else { return }
                apply(count: src.count, s, parameter: parameter, into: d, f)
            }
        }
        return out
    }

    /// `f(a, b, parameter)` element by element, same shapes.
    @inline(__always)
    static func zip<T: TensorScalar, P>(_ a: Tensor, _ b: Tensor, _: T.Type, parameter: P, _ f: (T, T, P) -> T) -> Tensor {
        precondition(a.shape == b.shape, "Elementwise.zip: shapes \(a.shape) and \(b.shape) differ")
        var out = Tensor.empty(a.shape, dtype: a.dtype)
        a.withScalars(T.self) { pa in
            b.withScalars(T.self) { pb in
                out.withMutableScalars(T.self) { dst in
                    guard let a = pa.baseAddress, let b = pb.baseAddress, let d = dst.baseAddress else { return }
                    apply(count: dst.count, a, b, parameter: parameter, into: d, f)
                }
            }
        }
        return out
    }

    /// `f(a, b)` with NumPy broadcasting to `shape`. The innermost dimension is a plain loop with
    /// constant strides (0 or 1 per operand); the outer dimensions advance index counters.
    @inline(__always)
    static func broadcast<T: TensorScalar>(_ a: Tensor, _ b: Tensor, to shape: [Int], _: T.Type,
                                           _ f: (T, T) -> T) -> Tensor {
        if a.shape == b.shape { return zip(a, b, T.self, f) }
        var out = Tensor.empty(shape, dtype: a.dtype)
        let count = shape.elementCount
        guard count > 0 else { return out }
        let rank = shape.count
        if rank == 0 {
            let value = a.withScalars(T.self) { pa in b.withScalars(T.self) { pb in f(pa[0], pb[0]) } }
            out.withMutableScalars(T.self) { $0[0] = value }
            return out
        }
        let sa = Broadcast.strides(of: a.shape, broadcastTo: shape)
        let sb = Broadcast.strides(of: b.shape, broadcastTo: shape)
        let inner = shape[rank - 1]
        let ia = sa[rank - 1], ib = sb[rank - 1]
        a.withScalars(T.self) { pa in
            b.withScalars(T.self) { pb in
                out.withMutableScalars(T.self) { dst in
                    var index = [Int](repeating: 0, count: rank)
                    var offA = 0, offB = 0, o = 0
                    while o < count {
                        if ia == 1 && ib == 1 {
                            for j in 0..<inner { dst[o + j] = f(pa[offA + j], pb[offB + j]) }
                        } else if ia == 0 && ib == 1 {
                            let va = pa[offA]
                            for j in 0..<inner { dst[o + j] = f(va, pb[offB + j]) }
                        } else if ia == 1 && ib == 0 {
                            let vb = pb[offB]
                            for j in 0..<inner { dst[o + j] = f(pa[offA + j], vb) }
                        } else {
                            let value = f(pa[offA], pb[offB])
                            for j in 0..<inner { dst[o + j] = value }
                        }
                        o += inner
                        // Advance the outer index (all axes but the last).
                        var axis = rank - 2
                        while axis >= 0 {
                            index[axis] += 1
                            offA += sa[axis]; offB += sb[axis]
                            if index[axis] < shape[axis] { break }
                            offA -= sa[axis] * shape[axis]; offB -= sb[axis] * shape[axis]
                            index[axis] = 0
                            axis -= 1
                        }
                    }
                }
            }
        }
        return out
    }
}

/// Runs the Float or Double instantiation of a generic body for a dtype.
@inline(__always)
func dispatch<R>(_ dtype: DType, float: () -> R, double: () -> R) -> R {
    switch dtype {
    case .float32: return float()
    case .float64: return double()
    }
}
