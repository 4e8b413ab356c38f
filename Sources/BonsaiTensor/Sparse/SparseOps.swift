/// Inference-only products with a CSR weight (``SparseMatrix``): no autograd graph is recorded, the
/// result is a plain tensor. They compute exactly what the dense op computes on the masked weight,
/// up to float summation order, while touching only the kept weights.

/// `A · B (+ bias[r] on row r)`: `A` `[rows × K]` sparse, `B` `[K, n]` dense → `[rows, n]`.
public func sparseMatmul(_ a: SparseMatrix, _ b: Tensor, bias: Tensor? = nil) -> Tensor {
    sparseMatmul(a, b, bias: bias, reference: false)
}

/// The plain oracle of ``sparseMatmul(_:_:bias:)`` (serial, one scalar at a time).
public func sparseMatmulReference(_ a: SparseMatrix, _ b: Tensor, bias: Tensor? = nil) -> Tensor {
    sparseMatmul(a, b, bias: bias, reference: true)
}

private func sparseMatmul(_ a: SparseMatrix, _ b: Tensor, bias: Tensor?, reference: Bool) -> Tensor {
    precondition(b.rank == 2 && b.shape[0] == a.columnCount,
                 "sparseMatmul: sparse [\(a.rows) × \(a.columnCount)] times dense \(b.shape)")
    precondition(b.dtype == a.dtype, "sparseMatmul: sparse \(a.dtype), dense \(b.dtype)")
    if let bias { precondition(bias.shape == [a.rows] && bias.dtype == a.dtype, "sparseMatmul: bias \(bias.shape) for \(a.rows) rows") }
    let n = b.shape[1]
    var out = Tensor.empty([a.rows, n], dtype: a.dtype)
    guard out.count > 0 else { return out }
    func run<T: TensorScalar>(_: T.Type) {
        SparseGemm.withOperands(a, T.self) { csr in
            b.withScalars(T.self) { pb in
                out.withMutableScalars(T.self) { po in
                    withOptionalScalars(bias, T.self) { pbias in
                        // `B` may be empty when K = 0; the kernels then read no row of it.
                        let dummy = UnsafeMutablePointer<T>.allocate(capacity: 1)
                        defer { dummy.deallocate() }
                        let bp = pb.baseAddress.map { UnsafePointer($0) } ?? UnsafePointer(dummy)
                        if reference {
                            SparseGemm.reference(csr, b: bp, ldb: n, n: n, c: po.baseAddress!, ldc: n, bias: pbias)
                        } else {
                            SparseGemm.multiply(csr, b: bp, ldb: n, n: n, c: po.baseAddress!, ldc: n, bias: pbias)
                        }
                    }
                }
            }
        }
    }
    dispatch(a.dtype, float: { run(Float.self) }, double: { run(Double.self) })
    return out
}

/// `y = x·Wᵀ + b` with `W` `[out, in]` sparse: `x` `[…, in]` → `[…, out]`.
///
/// With one row (`batch 1`) this is a sparse matrix–vector product. With `N` rows `x` is transposed
/// to `[in, N]` so each kept weight scales one contiguous row of `N` scalars (`Yᵀ = W·Xᵀ`), and the
/// result transposed back: two copies of `N·(in + out)` scalars against `nnz·N` multiply-adds.
public func sparseLinear(_ x: Tensor, weight: SparseMatrix, bias: Tensor? = nil) -> Tensor {
    let inFeatures = weight.columnCount
    precondition(x.rank >= 1 && x.shape.last == inFeatures,
                 "sparseLinear: input \(x.shape) for weight [\(weight.rows), \(inFeatures)]")
    let rows = x.count / Swift.max(inFeatures, 1)
    let outShape = Array(x.shape.dropLast()) + [weight.rows]
    // One row: [1, in] and [in, 1] hold the same scalars, so no transpose is needed.
    if rows == 1 { return sparseMatmul(weight, x.reshaped([inFeatures, 1]), bias: bias).reshaped(outShape) }
    let yT = sparseMatmul(weight, x.reshaped([rows, inFeatures]).detached().transposed(), bias: bias)
    return yT.transposed().reshaped(outShape)
}

/// 2-d convolution with a sparse weight (viewed `[O × C·kh·kw]`, groups = 1): per image, the input
/// is unfolded (im2col) into `col [C·kh·kw × Ho·Wo]` and `Y [O × Ho·Wo] = W · col` runs on the
/// sparse kernel. Images are split over the thread budget (each worker owns its column buffer);
/// a single image splits its output channels instead.
public func sparseConv2d(_ x: Tensor, weight: SparseMatrix, bias: Tensor? = nil, geometry: Conv2dGeometry) -> Tensor {
    precondition(weight.shape.count == 4 && geometry.groups == 1,
                 "sparseConv2d: need a [O, C, kh, kw] weight and groups 1, got \(weight.shape), groups \(geometry.groups)")
    let s = ConvShape(input: x.shape, weight: weight.shape, geometry: geometry, op: "sparseConv2d")
    precondition(x.dtype == weight.dtype, "sparseConv2d: input is \(x.dtype), weight is \(weight.dtype)")
    if let bias { precondition(bias.shape == [s.outChannels] && bias.dtype == x.dtype, "sparseConv2d: bias \(bias.shape)") }
    var out = Tensor.empty(s.outputShape, dtype: x.dtype)
    guard out.count > 0 else { return out }
    func run<T: TensorScalar>(_: T.Type) {
        SparseGemm.withOperands(weight, T.self) { csr in
            x.withScalars(T.self) { px in
                out.withMutableScalars(T.self) { po in
                    withOptionalScalars(bias, T.self) { pb in
                        nonisolated(unsafe) let (xp, op, bp) = (px.baseAddress!, po.baseAddress!, pb)
                        nonisolated(unsafe) let csr = csr
                        Parallel.forRanges(s.batch) { images in
                            let col = s.isPointwise ? nil : UnsafeMutablePointer<T>.allocate(capacity: s.colRows * s.outPlane)
                            let scratchCount = Im2col.scratchCount(s, channels: s.inChannels)
                            let scratch = scratchCount > 0 ? UnsafeMutablePointer<T>.allocate(capacity: scratchCount) : nil
                            defer { col?.deallocate(); scratch?.deallocate() }
                            for n in images {
                                let image = xp + n * s.inImage
                                if let col {
                                    Im2col.prepare(image, channels: s.inChannels, shape: s, scratch: scratch)
                                    Im2col.unfold(image, channels: s.inChannels, shape: s, rows: 0..<s.outHeight, into: col,
                                                  ld: s.outPlane, scratch: scratch)
                                }
                                SparseGemm.multiply(csr, b: col.map { UnsafePointer($0) } ?? image, ldb: s.outPlane, n: s.outPlane,
                                                    c: op + n * s.outImage, ldc: s.outPlane, bias: bp)
                            }
                        }
                    }
                }
            }
        }
    }
    dispatch(x.dtype, float: { run(Float.self) }, double: { run(Double.self) })
    return out
}

/// Calls `body` with the base address of `t`'s scalars, or nil when there is no tensor.
private func withOptionalScalars<T: TensorScalar, R>(_ t: Tensor?, _: T.Type, _ body: (UnsafePointer<T>?) -> R) -> R {
    guard let t else { return body(nil) }
    return t.withScalars(T.self) { body($0.baseAddress) }
}
