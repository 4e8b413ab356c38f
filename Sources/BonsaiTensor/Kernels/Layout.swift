/// Kernels that move elements around: permutation, broadcasting copies, slab copies along an axis,
/// gathers and scatter-adds. Every one works on raw bytes of the element size, so one copy serves
/// both dtypes.
enum Layout {
    /// Copies `x` into a new tensor whose axis `i` is axis `perm[i]` of `x`.
    static func permute(_ x: Tensor, _ perm: [Int]) -> Tensor {
        let shape = perm.map { x.shape[$0] }
        var out = Tensor.empty(shape, dtype: x.dtype)
        let inStrides = x.shape.rowMajorStrides
        let strides = perm.map { inStrides[$0] }
        gather(x, into: &out, sourceStrides: strides)
        return out
    }

    /// Expands `x` (broadcasting) to `shape` by copying.
    static func broadcast(_ x: Tensor, to shape: [Int]) -> Tensor {
        var out = Tensor.empty(shape, dtype: x.dtype)
        gather(x, into: &out, sourceStrides: Broadcast.strides(of: x.shape, broadcastTo: shape))
        return out
    }

    /// Fills `out` (contiguous) from `x` read with `sourceStrides` (one per axis of `out`).
    ///
    /// Walks `out` row by row (its last axis), advancing a multi-index over the outer axes. The
    /// index, extents and strides live in a temporary buffer, not `Array`s (whose bounds and
    /// uniqueness checks dominated permutes of small rows, e.g. attention's per-head transposes);
    /// rows that are contiguous in the source (stride 1) are copied as one block.
    private static func gather(_ x: Tensor, into out: inout Tensor, sourceStrides: [Int]) {
        let shape = out.shape
        let count = shape.elementCount
        guard count > 0 else { return }
        let size = x.dtype.byteSize
        let rank = shape.count
        x.withRawBytes { src in
            out.withMutableRawBytes { dst in
                if rank == 0 { dst.copyMemory(from: src, byteCount: size); return }
                withUnsafeTemporaryAllocation(of: Int.self, capacity: 3 * rank) { buffer in
                    let index = buffer.baseAddress!, extent = index + rank, stride = index + 2 * rank
                    for axis in 0..<rank { index[axis] = 0; extent[axis] = shape[axis]; stride[axis] = sourceStrides[axis] }
                    let inner = extent[rank - 1], innerStride = stride[rank - 1]
                    let source0 = src, target0 = dst
                    var source = 0, o = 0
                    while o < count {
                        if innerStride == 1 {
                            (target0 + o * size).copyMemory(from: source0 + source * size, byteCount: inner * size)
                        } else if size == 4 {
                            let s = source0.assumingMemoryBound(to: UInt32.self), d = target0.assumingMemoryBound(to: UInt32.self)
                            for j in 0..<inner { d[o + j] = s[source + j * innerStride] }
                        } else {
                            let s = source0.assumingMemoryBound(to: UInt64.self), d = target0.assumingMemoryBound(to: UInt64.self)
                            for j in 0..<inner { d[o + j] = s[source + j * innerStride] }
                        }
                        o += inner
                        var axis = rank - 2
                        while axis >= 0 {
                            index[axis] += 1
                            source += stride[axis]
                            if index[axis] < extent[axis] { break }
                            source -= stride[axis] * extent[axis]
                            index[axis] = 0
                            axis -= 1
                        }
                    }
                }
            }
        }
    }

    /// Copies the slab `[outer, length, inner]` of `x` (its whole extent along `axis`) into `out`
    /// at position `start` along the same axis.
    static func copySlab(from x: Tensor, into out: inout Tensor, axis: Int, start: Int) {
        let (outer, length, inner) = x.shape.split(at: axis)
        let outLength = out.shape[axis]
        let size = x.dtype.byteSize
        x.withRawBytes { src in
            out.withMutableRawBytes { dst in
                for o in 0..<outer {
                    (dst + ((o * outLength + start) * inner) * size)
                        .copyMemory(from: src + (o * length * inner) * size, byteCount: length * inner * size)
                }
            }
        }
    }

    /// `length` entries of `x` along `axis` from `start`.
    static func slice(_ x: Tensor, axis: Int, start: Int, length: Int) -> Tensor {
        var shape = x.shape
        shape[axis] = length
        var out = Tensor.empty(shape, dtype: x.dtype)
        let (outer, full, inner) = x.shape.split(at: axis)
        let size = x.dtype.byteSize
        x.withRawBytes { src in
            out.withMutableRawBytes { dst in
                for o in 0..<outer {
                    (dst + (o * length * inner) * size)
                        .copyMemory(from: src + ((o * full + start) * inner) * size, byteCount: length * inner * size)
                }
            }
        }
        return out
    }

    /// `out[…, j, …] = x[…, indices[j], …]` along `axis`.
    static func indexSelect(_ x: Tensor, axis: Int, indices: [Int]) -> Tensor {
        var shape = x.shape
        shape[axis] = indices.count
        var out = Tensor.empty(shape, dtype: x.dtype)
        let (outer, full, inner) = x.shape.split(at: axis)
        let size = x.dtype.byteSize
        x.withRawBytes { src in
            out.withMutableRawBytes { dst in
                for o in 0..<outer {
                    for (j, index) in indices.enumerated() {
                        (dst + ((o * indices.count + j) * inner) * size)
                            .copyMemory(from: src + ((o * full + index) * inner) * size, byteCount: inner * size)
                    }
                }
            }
        }
        return out
    }

    /// The adjoint of ``indexSelect(_:axis:indices:)``: a zero tensor of `shape` with the rows of
    /// `grad` added at `indices` (repeated indices accumulate).
    static func indexAdd(_ grad: Tensor, axis: Int, indices: [Int], shape: [Int]) -> Tensor {
        var out = Tensor.zeros(shape, dtype: grad.dtype)
        let (outer, full, inner) = shape.split(at: axis)
        func run<T: TensorScalar>(_: T.Type) {
            grad.withScalars(T.self) { g in
                out.withMutableScalars(T.self) { o in
                    for b in 0..<outer {
                        for (j, index) in indices.enumerated() {
                            let src = (b * indices.count + j) * inner, dst = (b * full + index) * inner
                            for i in 0..<inner { o[dst + i] += g[src + i] }
                        }
                    }
                }
            }
        }
        dispatch(grad.dtype, float: { run(Float.self) }, double: { run(Double.self) })
        return out
    }
}

extension Tensor {
    /// Raw read access to the scalars' bytes.
    func withRawBytes<R>(_ body: (UnsafeRawPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage) { try body(UnsafeRawPointer(storage.raw + offset * dtype.byteSize)) }
    }

    /// Raw write access (copy-on-write first).
    mutating func withMutableRawBytes<R>(_ body: (UnsafeMutableRawPointer) throws -> R) rethrows -> R {
        makeUnique()
        return try withExtendedLifetime(storage) { try body(storage.raw + offset * dtype.byteSize) }
    }
}
