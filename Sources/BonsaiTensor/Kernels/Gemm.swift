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

    /// The fast path: OpenBLAS, with C's rows (or columns when there are few rows) split over the
    /// calling thread's budget.
    public static func multiply<T: TensorScalar>(_ o: Operands<T>) {
        _ = singleThreadedBLAS
        guard o.m > 0, o.n > 0 else { return }
        let work = o.m * o.n * Swift.max(o.k, 1)
        let workers = work < parallelThreshold ? 1 : Parallel.workerCount(Swift.max(o.m, o.n))
        if workers <= 1 { return blas(o) }
        nonisolated(unsafe) let operands = o
        if o.m >= o.n {
            Parallel.forRanges(o.m) { rows in blas(operands.rows(rows)) }
        } else {
            Parallel.forRanges(o.n) { columns in blas(operands.columns(columns)) }
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

    /// The same product restricted to columns `range` of C.
    func columns(_ range: Range<Int>) -> Self {
        var copy = self
        copy.n = range.count
        copy.b = transB ? b + range.lowerBound * ldb : b + range.lowerBound
        copy.c = c + range.lowerBound
        return copy
    }
}
