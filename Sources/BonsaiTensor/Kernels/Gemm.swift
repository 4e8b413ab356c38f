import CBLAS

/// General matrix multiply on row-major matrices:
///
///     C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C
///
/// where `op(X)` is `X` or `Xᵀ`. The fast path is OpenBLAS (`cblas_sgemm` / `cblas_dgemm`) kept at
/// one internal thread; the engine splits the rows (or columns) of C across the calling thread's
/// budget itself, so that several jobs each with their own budget never oversubscribe the machine
/// (OpenBLAS 0.3.21's thread count is process-wide). ``reference(_:)`` is the plain triple loop that
/// every test checks the fast path against.
public enum Gemm {
    /// The operands of one GEMM. Leading dimensions are row strides of the stored matrices.
    public struct Operands<T: TensorScalar> {
        public var transA: Bool, transB: Bool
        public var m: Int, n: Int, k: Int
        public var alpha: T, beta: T
        public var a: UnsafePointer<T>, lda: Int
        public var b: UnsafePointer<T>, ldb: Int
        public var c: UnsafeMutablePointer<T>, ldc: Int

        public init(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: T = 1, beta: T = 0,
                    a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
                    c: UnsafeMutablePointer<T>, ldc: Int) {
            self.transA = transA; self.transB = transB
            self.m = m; self.n = n; self.k = k
            self.alpha = alpha; self.beta = beta
            self.a = a; self.lda = lda; self.b = b; self.ldb = ldb; self.c = c; self.ldc = ldc
        }
    }

    private static let singleThreadedBLAS: Void = { openblas_set_num_threads(1) }()

    /// Below this many multiply-adds a GEMM is not split across threads.
    static let parallelThreshold = 1 << 18

    /// A GEMM whose inner dimension is at least this many times its larger outer dimension is split
    /// over `k` rather than over rows or columns of C (see ``multiply(_:rowBias:)``).
    static let splitInnerRatio = 2

    /// The fast path: OpenBLAS, split over the calling thread's budget.
    public static func multiply<T: TensorScalar>(_ o: Operands<T>) {
        multiply(o, rowBias: nil)
    }

    /// ``multiply(_:)`` that first sets every row of C to `rowBias` (`n` values) and then adds the
    /// product (β is ignored): `C = bias + α·op(A)·op(B)`, a linear layer. Each worker fills the rows
    /// it then multiplies into, so the fill is parallel and C is in cache for the GEMM.
    ///
    /// How the work is split, by shape (each OpenBLAS call packs its own copy of the panels it reads,
    /// so a split must not make every worker pack a whole large operand):
    /// - rows of C (m ≥ n) or columns (m < n): each worker packs its slice of one operand and all of
    ///   the other, which is cheap when that other operand is small (a weight matrix, k×n);
    /// - over `k` when `k ≥ splitInnerRatio·max(m, n)` (a weight gradient `dYᵀ·X`, where k is the
    ///   number of tokens or pixels and both operands are k-long): worker w multiplies its slice of
    ///   k into its own m×n buffer (worker 0 straight into C with the caller's β), and the partial
    ///   products are added to C in worker order. Nothing is packed twice; the sum order depends on
    ///   the number of workers but not on timing.
    static func multiply<T: TensorScalar>(_ o: Operands<T>, rowBias: UnsafePointer<T>?) {
        _ = singleThreadedBLAS
        guard o.m > 0, o.n > 0 else { return }
        var o = o
        if o.k == 0, let rowBias {
            fill(o.c, ldc: o.ldc, rows: 0..<o.m, n: o.n, with: rowBias)
            return
        }
        let work = o.m * o.n * Swift.max(o.k, 1)
        let workers = work < parallelThreshold ? 1 : Parallel.workerCount(Swift.max(o.m, o.n, o.k))
        if o.k >= splitInnerRatio * Swift.max(o.m, o.n) && workers > 1 {
            if let rowBias {
                fill(o.c, ldc: o.ldc, rows: 0..<o.m, n: o.n, with: rowBias)
                o.beta = 1
            }
            return splitInner(o, workers: workers)
        }
        let rowWorkers = work < parallelThreshold ? 1 : Parallel.workerCount(Swift.max(o.m, o.n))
        if rowWorkers <= 1 || o.m >= o.n {
            if rowWorkers <= 1 {
                if let rowBias { fill(o.c, ldc: o.ldc, rows: 0..<o.m, n: o.n, with: rowBias); o.beta = 1 }
                return blas(o)
            }
            nonisolated(unsafe) let operands = o, bias = rowBias
            Parallel.forRanges(o.m) { rows in
                var slice = operands.rows(rows)
                if let bias { fill(operands.c, ldc: operands.ldc, rows: rows, n: operands.n, with: bias); slice.beta = 1 }
                blas(slice)
            }
        } else {
            if let rowBias { fill(o.c, ldc: o.ldc, rows: 0..<o.m, n: o.n, with: rowBias); o.beta = 1 }
            nonisolated(unsafe) let operands = o
            Parallel.forRanges(o.n) { columns in blas(operands.columns(columns)) }
        }
    }

    /// Rows `rows` of C set to `bias` (`n` values each).
    private static func fill<T>(_ c: UnsafeMutablePointer<T>, ldc: Int, rows: Range<Int>, n: Int,
                                with bias: UnsafePointer<T>) {
        for i in rows { (c + i * ldc).update(from: bias, count: n) }
    }

    /// The split over `k` (see ``multiply(_:rowBias:)``).
    private static func splitInner<T: TensorScalar>(_ o: Operands<T>, workers: Int) {
        let (m, n) = (o.m, o.n)
        let partials = UnsafeMutablePointer<T>.allocate(capacity: (workers - 1) * m * n)
        defer { partials.deallocate() }
        nonisolated(unsafe) let operands = o, scratch = partials
        Parallel.forRanges(workers) { range in
            for w in range {
                let inner = (operands.k * w / workers)..<(operands.k * (w + 1) / workers)
                var slice = operands.inner(inner)
                if w > 0 { slice.c = scratch + (w - 1) * m * n; slice.ldc = n; slice.beta = 0 }
                if !inner.isEmpty {
                    blas(slice)
                } else if w > 0 {
                    slice.c.update(repeating: 0, count: m * n)
                } else {
                    // More workers than inner indices: worker 0's part is C = β·C.
                    for i in 0..<m {
                        let row = slice.c + i * slice.ldc
                        for j in 0..<n { row[j] = slice.beta == 0 ? 0 : slice.beta * row[j] }
                    }
                }
            }
        }
        // C += Σ_w partial_w, in worker order, split over rows of C.
        Parallel.forRanges(m, minimumPerThread: Swift.max(1, 16_384 / n)) { rows in
            for i in rows {
                let row = operands.c + i * operands.ldc
                for w in 0..<(workers - 1) {
                    let part = scratch + w * m * n + i * n
                    for j in 0..<n { row[j] += part[j] }
                }
            }
        }
    }

    /// One single-threaded BLAS call.
    static func blas<T: TensorScalar>(_ o: Operands<T>) {
        guard o.m > 0, o.n > 0 else { return }
        let ta = o.transA ? CblasTrans : CblasNoTrans
        let tb = o.transB ? CblasTrans : CblasNoTrans
        let (m, n, k) = (Int32(o.m), Int32(o.n), Int32(o.k))
        let (lda, ldb, ldc) = (Int32(o.lda), Int32(o.ldb), Int32(o.ldc))
        switch T.dtype {
        case .float32:
            cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, Float(o.alpha),
                        UnsafeRawPointer(o.a).assumingMemoryBound(to: Float.self), lda,
                        UnsafeRawPointer(o.b).assumingMemoryBound(to: Float.self), ldb, Float(o.beta),
                        UnsafeMutableRawPointer(o.c).assumingMemoryBound(to: Float.self), ldc)
        case .float64:
            cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, Double(o.alpha),
                        UnsafeRawPointer(o.a).assumingMemoryBound(to: Double.self), lda,
                        UnsafeRawPointer(o.b).assumingMemoryBound(to: Double.self), ldb, Double(o.beta),
                        UnsafeMutableRawPointer(o.c).assumingMemoryBound(to: Double.self), ldc)
        }
    }

    /// The plain triple loop (accumulating in Double), the oracle for ``multiply(_:)``.
    public static func reference<T: TensorScalar>(_ o: Operands<T>) {
        for i in 0..<o.m {
            for j in 0..<o.n {
                var sum = 0.0
                for p in 0..<o.k {
                    let a = o.transA ? o.a[p * o.lda + i] : o.a[i * o.lda + p]
                    let b = o.transB ? o.b[j * o.ldb + p] : o.b[p * o.ldb + j]
                    sum += Double(a) * Double(b)
                }
                let old = o.beta == 0 ? 0 : Double(o.beta) * Double(o.c[i * o.ldc + j])
                o.c[i * o.ldc + j] = T(Double(o.alpha) * sum + old)
            }
        }
    }
}

extension Gemm.Operands {
    /// The same product restricted to rows `range` of C.
    func rows(_ range: Range<Int>) -> Self {
        var copy = self
        copy.m = range.count
        copy.a = transA ? a + range.lowerBound : a + range.lowerBound * lda
        copy.c = c + range.lowerBound * ldc
        return copy
    }

    /// The part of the product over inner indices `range` (β unchanged).
    func inner(_ range: Range<Int>) -> Self {
        var copy = self
        copy.k = range.count
        copy.a = transA ? a + range.lowerBound * lda : a + range.lowerBound
        copy.b = transB ? b + range.lowerBound : b + range.lowerBound * ldb
        return copy
    }

    /// The same product restricted to columns `range` of C.
    func columns(_ range: Range<Int>) -> Self {
        var copy = self
        copy.n = range.count
        copy.b = transB ? b + range.lowerBound * ldb : b + range.lowerBound
        copy.c = c + range.lowerBound
        return copy
    }
}
