/// Sparse × dense matrix products over raw buffers: `C = A · B (+ bias per row)` with `A` in CSR
/// form (``SparseMatrix``) and `B`, `C` dense row-major.
///
///     C[r, j] = bias[r] + Σ_{p ∈ rowStart[r]..<rowStart[r+1]} values[p] · B[columns[p], j]
///
/// Row `r` of `C` is a sum of `nnz(r)` scaled rows of `B` (axpy over `n` contiguous scalars), so the
/// work is `nnz · n` multiply-adds and only the kept weights are read; a row with no entry is the
/// bias (or zero). With `n = 1` the row is a gathered dot product. Rows are split over the thread
/// budget in contiguous ranges (``Parallel``); each worker writes only its own rows, so no
/// synchronisation is needed and the result does not depend on the thread count.
///
/// Performance notes (measured on the 2.8 GHz Xeon of the build machine): the batch-1 gathered dot
/// product runs at ~1.2 cycles per non-zero (0.43 ns; bound by its three loads per non-zero),
/// about 8× the cost of a dense OpenBLAS multiply-add, so at batch 1 CSR only wins below ~10 %
/// density. An AVX-512 gather kernel in C was tried and was *slower* (0.74 ns per non-zero; gathers
/// are microcoded on this CPU, likely the Gather Data Sampling mitigation), so it was dropped.
enum SparseGemm {
    /// A worker is only worth starting for at least this many multiply-adds (thread wake-up costs
    /// a few microseconds; a 90 %-sparse LeNet-300 layer at batch 1 is ~24k multiply-adds).
    nonisolated(unsafe) static var minimumWorkPerThread = 32_768

    /// The CSR arrays of `A` as raw pointers (valid inside ``withOperands(_:_:_:)``).
    struct CSR<T: TensorScalar> {
        let rows: Int
        let rowStart: UnsafePointer<Int>
        let columns: UnsafePointer<Int32>
        let values: UnsafePointer<T>
    }

    /// Calls `body` with `a`'s arrays as pointers of scalar type `T` (which must be `a.dtype`).
    static func withOperands<T: TensorScalar, R>(_ a: SparseMatrix, _: T.Type, _ body: (CSR<T>) -> R) -> R {
        a.rowStart.withUnsafeBufferPointer { rs in
            a.columns.withUnsafeBufferPointer { cs in
                a.values.withScalars(T.self) { vs in
                    // Empty arrays may have nil base addresses; a dummy pointer is never dereferenced then.
                    let dummyColumn = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
                    let dummyValue = UnsafeMutablePointer<T>.allocate(capacity: 1)
                    defer { dummyColumn.deallocate(); dummyValue.deallocate() }
                    return body(CSR(rows: a.rows, rowStart: rs.baseAddress!, columns: cs.baseAddress ?? UnsafePointer(dummyColumn),
                                    values: vs.baseAddress ?? UnsafePointer(dummyValue)))
                }
            }
        }
    }

    /// `C[r, 0..<n] = bias[r] + Σ values·B[col, 0..<n]` for every row, split over the thread budget.
    static func multiply<T: TensorScalar>(_ a: CSR<T>, b: UnsafePointer<T>, ldb: Int, n: Int,
                                          c: UnsafeMutablePointer<T>, ldc: Int, bias: UnsafePointer<T>?) {
        guard a.rows > 0, n > 0 else { return }
        let work = Swift.max(1, a.rowStart[a.rows] * n)
        let perRow = Swift.max(1, work / a.rows)
        nonisolated(unsafe) let (b, c, bias) = (b, c, bias)
        nonisolated(unsafe) let a = a
        Parallel.forRanges(a.rows, minimumPerThread: Swift.max(1, minimumWorkPerThread / perRow)) { range in
            rows(range, a, b: b, ldb: ldb, n: n, c: c, ldc: ldc, bias: bias)
        }
    }

    /// The rows `range` of the product (one worker's share).
    @inline(__always)
    static func rows<T: TensorScalar>(_ range: Range<Int>, _ a: CSR<T>, b: UnsafePointer<T>, ldb: Int, n: Int,
                                      c: UnsafeMutablePointer<T>, ldc: Int, bias: UnsafePointer<T>?) {
        if n == 1 {
            for r in range {
                var s0: T = 0, s1: T = 0, s2: T = 0, s3: T = 0
                var p = a.rowStart[r]
                let end = a.rowStart[r + 1]
                // Four partial sums break the add dependency chain of the gathered dot product.
                while p + 4 <= end {
                    s0 += a.values[p] * b[Int(a.columns[p]) * ldb]
                    s1 += a.values[p + 1] * b[Int(a.columns[p + 1]) * ldb]
                    s2 += a.values[p + 2] * b[Int(a.columns[p + 2]) * ldb]
                    s3 += a.values[p + 3] * b[Int(a.columns[p + 3]) * ldb]
                    p += 4
                }
                while p < end { s0 += a.values[p] * b[Int(a.columns[p]) * ldb]; p += 1 }
                c[r * ldc] = (bias?[r] ?? 0) + ((s0 + s1) + (s2 + s3))
            }
            return
        }
        for r in range {
            let out = c + r * ldc
            if let bias { out.update(repeating: bias[r], count: n) } else { out.update(repeating: 0, count: n) }
            for p in a.rowStart[r]..<a.rowStart[r + 1] {
                let v = a.values[p]
                let src = b + Int(a.columns[p]) * ldb
                for j in 0..<n { out[j] += v * src[j] }
            }
        }
    }

    /// The plain oracle: the defining sum, one scalar at a time, serial.
    static func reference<T: TensorScalar>(_ a: CSR<T>, b: UnsafePointer<T>, ldb: Int, n: Int,
                                           c: UnsafeMutablePointer<T>, ldc: Int, bias: UnsafePointer<T>?) {
        for r in 0..<a.rows {
            for j in 0..<n {
                var sum: T = bias?[r] ?? 0
                for p in a.rowStart[r]..<a.rowStart[r + 1] { sum += a.values[p] * b[Int(a.columns[p]) * ldb + j] }
                c[r * ldc + j] = sum
            }
        }
    }
}
