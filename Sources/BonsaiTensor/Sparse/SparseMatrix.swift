/// A sparse matrix in compressed sparse row (CSR) form, built once from a dense (masked) weight for
/// inference.
///
/// Row `r` holds the entries `values[p]` at columns `columns[p]` for `p ∈ rowStart[r]..<rowStart[r+1]`,
/// columns ascending. Exact zeros of the dense matrix are dropped, so a pruned weight (masked to 0)
/// costs nothing. `values` keeps the dtype of the dense source (Float32 or Float64); `columns` are
/// `Int32` to halve the index traffic of the kernels (a matrix wider than 2³¹ columns is refused).
///
/// A linear weight `[out, in]` is used as is; a conv weight `[O, C/groups, kh, kw]` is viewed as the
/// `[O × (C/groups)·kh·kw]` matrix the im2col formulation multiplies (groups = 1).
public struct SparseMatrix: Sendable {
    public let rows: Int
    public let columnCount: Int
    /// The dense source's shape (`[out, in]`, or `[O, C, kh, kw]` for a conv weight).
    public let shape: [Int]
    public let rowStart: [Int]
    public let columns: [Int32]
    /// The non-zero values, a 1-d tensor of `nonzeros` scalars in the source's dtype.
    public let values: Tensor

    public var nonzeros: Int { columns.count }
    public var dtype: DType { values.dtype }
    /// Kept fraction of the `rows × columnCount` entries (1 for an empty shape).
    public var density: Double { rows * columnCount == 0 ? 1 : Double(nonzeros) / Double(rows * columnCount) }

    /// Compresses a dense tensor viewed as `[shape[0] × rest]` (rank ≥ 1), dropping exact zeros.
    public init(dense: Tensor) {
        precondition(dense.rank >= 1, "SparseMatrix(dense:): need rank ≥ 1, got shape \(dense.shape)")
        let rows = dense.shape[0]
        let cols = rows == 0 ? 0 : dense.count / rows
        precondition(cols <= Int(Int32.max), "SparseMatrix(dense:): \(cols) columns exceed Int32 indices")
        var rowStart = [Int](repeating: 0, count: rows + 1)
        var columns: [Int32] = []
        func build<T: TensorScalar>(_: T.Type) -> Tensor {
            var kept: [T] = []
            dense.withScalars(T.self) { src in
                for r in 0..<rows {
                    let row = src.baseAddress! + r * cols
                    for c in 0..<cols where row[c] != 0 {
                        columns.append(Int32(c))
                        kept.append(row[c])
                    }
                    rowStart[r + 1] = columns.count
                }
            }
            var values = Tensor.empty([kept.count], dtype: dense.dtype)
            values.withMutableScalars(T.self) { dst in
                kept.withUnsafeBufferPointer { k in if let base = k.baseAddress { dst.baseAddress!.update(from: base, count: k.count) } }
            }
            return values
        }
        let values = dense.count == 0 ? Tensor.empty([0], dtype: dense.dtype)
            : dispatch(dense.dtype, float: { build(Float.self) }, double: { build(Double.self) })
        self.rows = rows
        self.columnCount = cols
        self.shape = dense.shape
        self.rowStart = rowStart
        self.columns = columns
        self.values = values
    }

    /// The dense `[rows, columnCount]` matrix (zeros where no entry is stored).
    public func densified() -> Tensor {
        var out = Tensor.zeros([rows, columnCount], dtype: dtype)
        func fill<T: TensorScalar>(_: T.Type) {
            values.withScalars(T.self) { v in
                out.withMutableScalars(T.self) { o in
                    for r in 0..<rows {
                        for p in rowStart[r]..<rowStart[r + 1] { o[r * columnCount + Int(columns[p])] = v[p] }
                    }
                }
            }
        }
        if nonzeros > 0 { dispatch(dtype, float: { fill(Float.self) }, double: { fill(Double.self) }) }
        return out
    }
}
