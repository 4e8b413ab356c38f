import Testing
import BonsaiTensor

/// `Gemm.multiply` (OpenBLAS, split over the thread budget) against `Gemm.reference` (the plain
/// triple loop), and the tensor-level products built on it.
@Suite struct GemmTests {
    struct Shape: CustomTestStringConvertible, Sendable {
        var m: Int, n: Int, k: Int
        var transA: Bool, transB: Bool
        var alpha: Double, beta: Double
        /// Extra columns in each stored matrix (leading dimension larger than the row length).
        var pad: Int
        var testDescription: String { "\(m)×\(n)×\(k) tA=\(transA) tB=\(transB) α=\(alpha) β=\(beta) pad=\(pad)" }
    }

    /// 24 seeded shapes (odd sizes, ones, all four transposes, α/β, padded leading dimensions) plus
    /// hand-picked edge shapes.
    static let shapes: [Shape] = {
        var rng = RandomGenerator(seed: 2024)
        let sizes = [1, 2, 3, 5, 7, 8, 13, 16, 17, 31, 33, 64, 65]
        let scalars: [(Double, Double)] = [(1, 0), (1, 1), (0.5, -2), (-1.25, 0.75)]
        var result: [Shape] = []
        for i in 0..<24 {
            let pick = { sizes[Int(rng.next() % UInt64(sizes.count))] }
            let (alpha, beta) = scalars[i % scalars.count]
            result.append(Shape(m: pick(), n: pick(), k: pick(), transA: i & 1 == 1, transB: i & 2 == 2,
                                alpha: alpha, beta: beta, pad: i % 3 == 0 ? 3 : 0))
        }
        result.append(Shape(m: 1, n: 1, k: 1, transA: false, transB: false, alpha: 1, beta: 0, pad: 0))
        result.append(Shape(m: 1, n: 129, k: 1, transA: true, transB: true, alpha: 2, beta: 1, pad: 1))
        result.append(Shape(m: 127, n: 1, k: 300, transA: false, transB: true, alpha: 1, beta: 0, pad: 0))
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            // k = 0: C = β·C (BLAS refuses a zero leading dimension; the fast path must not).
            result.append(Shape(m: 3, n: 4, k: 0, transA: ta, transB: tb, alpha: 1, beta: ta ? 0.5 : 0, pad: 0))
        }
        return result
    }()

    /// Stored operands for `shape`: A is `m×k` (or `k×m` when transposed), B `k×n` (or `n×k`), C `m×n`,
    /// each row followed by `pad` unused entries.
    struct Operands<T: TensorScalar> {
        var a: [T], b: [T], c: [T]
        var lda: Int, ldb: Int, ldc: Int

        init(_ s: Shape, seed: UInt64) {
            var rng = RandomGenerator(seed: seed)
            let (aRows, aCols) = s.transA ? (s.k, s.m) : (s.m, s.k)
            let (bRows, bCols) = s.transB ? (s.n, s.k) : (s.k, s.n)
            let (lda, ldb, ldc) = (aCols + s.pad, bCols + s.pad, s.n + s.pad)
            (self.lda, self.ldb, self.ldc) = (lda, ldb, ldc)
            let a = (0..<(aRows * lda)).map { _ in T(rng.nextNormal()) }
            let b = (0..<(bRows * ldb)).map { _ in T(rng.nextNormal()) }
            // C holds NaN where β = 0 (BLAS must then not read it) and in the padding.
            let c = (0..<(s.m * ldc)).map { i in s.beta == 0 || i % ldc >= s.n ? T.nan : T(rng.nextNormal()) }
            // Empty operands still need an address.
            (self.a, self.b, self.c) = (a.isEmpty ? [0] : a, b.isEmpty ? [0] : b, c.isEmpty ? [0] : c)
        }

        /// Runs `body` on the operands and returns the resulting C.
        func run(_ s: Shape, _ body: (Gemm.Operands<T>) -> Void) -> [T] {
            var c = self.c
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        body(Gemm.Operands(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k,
                                           alpha: T(s.alpha), beta: T(s.beta),
                                           a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb,
                                           c: pc.baseAddress!, ldc: ldc))
                    }
                }
            }
            return c
        }
    }

    /// Compares the fast path with the reference; the padding of C must be left untouched (NaN).
    static func check<T: TensorScalar>(_ s: Shape, _: T.Type, threads: Int = 1, tolerance: Double) {
        let operands = Operands<T>(s, seed: UInt64(s.m * 10_000 + s.n * 100 + s.k))
        let expected = operands.run(s) { Gemm.reference($0) }
        let actual = Engine.withThreads(threads) { operands.run(s) { Gemm.multiply($0) } }
        var worst = 0.0
        for i in 0..<s.m {
            for j in 0..<(s.n + s.pad) {
                let index = i * operands.ldc + j
                if j >= s.n {
                    #expect(actual[index].isNaN, "\(s.testDescription): padding of C written at (\(i), \(j))")
                    continue
                }
                let (x, y) = (Double(actual[index]), Double(expected[index]))
                #expect(x.isFinite, "\(s.testDescription) \(T.self): C[\(i), \(j)] = \(x)")
                worst = Swift.max(worst, Swift.abs(x - y) / Swift.max(1, Swift.abs(y)))
            }
        }
        #expect(worst <= tolerance * Double(Swift.max(s.k, 1)),
                "\(s.testDescription) \(T.self) threads \(threads): error \(worst)")
    }

    @Test(arguments: shapes)
    func multiplyMatchesReference(_ s: Shape) {
        Self.check(s, Float.self, tolerance: 1e-6)
        Self.check(s, Double.self, tolerance: 1e-14)
    }

    /// Shapes above the parallel threshold (2^18 multiply-adds) are split over two threads by rows
    /// (m ≥ n) or by columns (m < n); the result must not depend on the split.
    @Test(arguments: [
        Shape(m: 301, n: 97, k: 40, transA: false, transB: false, alpha: 1, beta: 0, pad: 0),
        Shape(m: 257, n: 65, k: 33, transA: true, transB: false, alpha: 0.5, beta: 1, pad: 2),
        Shape(m: 63, n: 401, k: 29, transA: false, transB: true, alpha: 1, beta: -1, pad: 1),
        Shape(m: 45, n: 333, k: 71, transA: true, transB: true, alpha: 2, beta: 0, pad: 0),
        Shape(m: 1, n: 5000, k: 60, transA: false, transB: false, alpha: 1, beta: 0, pad: 0),
        Shape(m: 3, n: 3, k: 40000, transA: true, transB: false, alpha: 1, beta: 0, pad: 0),
    ])
    func multiplySplitOverTwoThreads(_ s: Shape) {
        #expect(s.m * s.n * s.k >= 1 << 18, "shape too small to split")
        Self.check(s, Float.self, threads: 2, tolerance: 1e-6)
        Self.check(s, Double.self, threads: 2, tolerance: 1e-14)
    }

    @Test func emptyProductsAreNoOps() {
        for (m, n) in [(0, 4), (4, 0), (0, 0)] {
            let s = Shape(m: m, n: n, k: 3, transA: false, transB: false, alpha: 1, beta: 0, pad: 1)
            Self.check(s, Double.self, tolerance: 0)
        }
        // Tensor level: [2, 0] · [0, 3] is a zero matrix.
        let product = Tensor.ones([2, 0], dtype: .float64).matmul(Tensor.ones([0, 3], dtype: .float64))
        #expect(product.shape == [2, 3] && product.doubles == [0, 0, 0, 0, 0, 0])
        let projected = linear(Tensor.ones([2, 0]), weight: Tensor.ones([3, 0]), bias: Tensor.full([3], value: 4))
        #expect(projected.floats == [4, 4, 4, 4, 4, 4])
    }

    // MARK: Tensor-level products

    /// `[…, m, k] · […, k, n]` with loops in Double.
    static func referenceMatmul(_ a: Tensor, _ b: Tensor) -> [Double] {
        let (m, k, n) = (a.shape[a.rank - 2], a.shape[a.rank - 1], b.shape[b.rank - 1])
        let batch = a.count / (m * k)
        let x = a.doubles, y = b.doubles
        var out = [Double](repeating: 0, count: batch * m * n)
        for t in 0..<batch {
            let bOffset = b.rank == 2 ? 0 : t * k * n
            for i in 0..<m { for j in 0..<n { for p in 0..<k {
                out[(t * m + i) * n + j] += x[(t * m + i) * k + p] * y[bOffset + p * n + j]
            } } }
        }
        return out
    }

    @Test(arguments: [([3, 4], [4, 5]), ([2, 3, 4], [2, 4, 5]), ([2, 3, 4], [4, 1]), ([1, 1], [1, 7]), ([2, 2, 1, 3], [2, 2, 3, 2])])
    func matmulForwardAndGradients(_ aShape: [Int], _ bShape: [Int]) {
        let a = randomTensor(aShape, seed: 1), b = randomTensor(bShape, seed: 2)
        let product = a.matmul(b)
        let expected = Self.referenceMatmul(a, b)
        #expect(zip(product.doubles, expected).allSatisfy { Swift.abs($0 - $1) < 1e-12 })
        let float = a.cast(to: .float32).matmul(b.cast(to: .float32))
        #expect(zip(float.doubles, expected).allSatisfy { Swift.abs($0 - $1) < 1e-5 })
        expectGradientsMatch([a, b], "matmul \(aShape)·\(bShape)") { x in x[0].matmul(x[1]) }
    }

    @Test func linearForwardAndGradients() {
        let x = randomTensor([2, 3, 5], seed: 4), w = randomTensor([4, 5], seed: 5), b = randomTensor([4], seed: 6)
        let y = linear(x, weight: w, bias: b)
        #expect(y.shape == [2, 3, 4])
        let expected = Self.referenceMatmul(x.reshaped([6, 5]), w.transposed())
        let bias = b.doubles
        for (i, value) in y.doubles.enumerated() {
            #expect(Swift.abs(value - expected[i] - bias[i % 4]) < 1e-12)
        }
        expectGradientsMatch([x, w, b], "linear with bias") { t in linear(t[0], weight: t[1], bias: t[2]) }
        expectGradientsMatch([x, w], "linear without bias") { t in linear(t[0], weight: t[1]) }
        Engine.withThreads(2) {
            let big = randomTensor([300, 64], seed: 7), weight = randomTensor([50, 64], seed: 8)
            let threaded = linear(big, weight: weight)
            let serial = Engine.withThreads(1) { linear(big, weight: weight) }
            #expect(zip(threaded.doubles, serial.doubles).allSatisfy { Swift.abs($0 - $1) < 1e-12 })
        }
    }
}
