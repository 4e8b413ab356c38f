import Testing
import BonsaiTensor

/// The CSR kernels (`sparseMatmul`, `sparseLinear`, `sparseConv2d`) against the plain sparse
/// reference and against the dense op on the masked weight, on seeded random shapes and
/// sparsities, including empty rows, an all-zero weight, a fully dense weight, batch 1, odd sizes,
/// Float32 and Float64, and thread budgets 1 and 3.
@Suite struct SparseKernelTests {
    /// A random tensor with about `sparsity` of its entries set to exactly zero, and whole rows
    /// (first axis) emptied every `emptyEvery` rows (0: none).
    static func sparseTensor(_ shape: [Int], sparsity: Double, seed: UInt64, dtype: DType = .float32,
                             emptyEvery: Int = 0) -> Tensor {
        var rng = RandomGenerator(seed: seed ^ 0xABCD)
        let dense = randomTensor(shape, seed: seed, dtype: .float64).doubles
        let rowLength = shape.dropFirst().reduce(1, *)
        var values = dense
        for i in values.indices {
            let u = Double(rng.next() % 1_000_000) / 1_000_000
            if u < sparsity { values[i] = 0 }
            if emptyEvery > 0, rowLength > 0, (i / rowLength) % emptyEvery == 1 { values[i] = 0 }
        }
        return Tensor(shape: shape, scalars: values.map { Float($0) }).cast(to: dtype)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var rows: Int, k: Int, n: Int, sparsity: Double, emptyEvery: Int, threads: Int
        var testDescription: String { "\(rows)×\(k)·\(k)×\(n) s=\(sparsity) empty/\(emptyEvery) t=\(threads)" }
    }

    static let cases: [Case] = {
        var rng = RandomGenerator(seed: 77)
        let sizes = [1, 2, 3, 7, 16, 31, 64, 100, 257]
        let sparsities = [0, 0.5, 0.9, 0.99, 1]
        var result: [Case] = []
        for i in 0..<20 {
            let pick = { sizes[Int(rng.next() % UInt64(sizes.count))] }
            result.append(Case(rows: pick(), k: pick(), n: i % 4 == 0 ? 1 : pick(), sparsity: sparsities[i % sparsities.count],
                               emptyEvery: i % 3 == 0 ? 3 : 0, threads: i % 2 == 0 ? 1 : 3))
        }
        result.append(Case(rows: 300, k: 784, n: 1, sparsity: 0.9, emptyEvery: 0, threads: 2))
        result.append(Case(rows: 300, k: 784, n: 64, sparsity: 0.9, emptyEvery: 5, threads: 2))
        result.append(Case(rows: 5, k: 0, n: 3, sparsity: 0, emptyEvery: 0, threads: 1))
        return result
    }()

    @Test(arguments: cases)
    func matmulMatchesReferenceAndDense(_ c: Case) {
        for dtype in [DType.float32, .float64] {
            let w = Self.sparseTensor([c.rows, c.k], sparsity: c.sparsity, seed: UInt64(c.rows * 31 + c.k), dtype: dtype,
                                      emptyEvery: c.emptyEvery)
            let b = randomTensor([c.k, c.n], seed: UInt64(c.n + 5), dtype: dtype)
            let bias = randomTensor([c.rows], seed: 9, dtype: dtype)
            let a = SparseMatrix(dense: w)
            #expect(a.nonzeros == w.doubles.filter { $0 != 0 }.count)
            #expect(a.densified().doubles == w.doubles, "densified CSR differs from its source")
            let fast = Engine.withThreads(c.threads) { sparseMatmul(a, b, bias: bias) }
            let reference = sparseMatmulReference(a, b, bias: bias)
            let dense = w.matmul(b) + bias.reshaped([c.rows, 1])
            expectClose(fast, reference, "sparseMatmul vs reference (\(dtype))", tolerance: 1e-5)
            expectClose(fast, dense, "sparseMatmul vs dense masked (\(dtype))", tolerance: 1e-5)
            let noBias = Engine.withThreads(c.threads) { sparseMatmul(a, b) }
            expectClose(noBias, w.matmul(b), "sparseMatmul without bias (\(dtype))", tolerance: 1e-5)
        }
    }

    /// Batch 1 (the gathered dot product with four partial sums): rows whose non-zero counts hit
    /// every remainder of the unrolled loop, and empty rows.
    @Test func vectorKernelTails() {
        let counts = [0, 1, 2, 15, 16, 17, 31, 32, 33, 47, 48, 49, 100]
        let k = 120
        var scalars = [Float](repeating: 0, count: counts.count * k)
        var rng = RandomGenerator(seed: 12)
        for (r, c) in counts.enumerated() {
            var columns = Array(0..<k)
            for i in 0..<c { columns.swapAt(i, i + Int(rng.next() % UInt64(k - i))) }
            for j in columns.prefix(c) { scalars[r * k + j] = Float(Int(rng.next() % 2000) - 1000) / 250 }
        }
        let w = Tensor(shape: [counts.count, k], scalars: scalars)
        let a = SparseMatrix(dense: w)
        let x = randomTensor([k, 1], seed: 13, dtype: .float32)
        let bias = randomTensor([counts.count], seed: 14, dtype: .float32)
        expectClose(sparseMatmul(a, x, bias: bias), sparseMatmulReference(a, x, bias: bias), "batch-1 kernel vs reference", tolerance: 1e-5)
        expectClose(sparseMatmul(a, x), w.matmul(x), "batch-1 kernel vs dense", tolerance: 1e-5)
    }

    @Test func emptyRowsGiveTheBiasAndAllZeroWeightGivesBiasEverywhere() {
        let w = Tensor.zeros([4, 6])
        let a = SparseMatrix(dense: w)
        #expect(a.nonzeros == 0 && a.density == 0)
        let bias = Tensor(shape: [4], scalars: [1, -2, 3, 0.5] as [Float])
        let y = sparseMatmul(a, randomTensor([6, 5], seed: 1, dtype: .float32), bias: bias)
        for r in 0..<4 { for j in 0..<5 { #expect(y.floats[r * 5 + j] == bias.floats[r]) } }
    }

    @Test(arguments: [1, 2, 33], [0.0, 0.8, 1.0])
    func linearMatchesDenseLinear(_ batch: Int, _ sparsity: Double) {
        let w = Self.sparseTensor([13, 29], sparsity: sparsity, seed: 4, emptyEvery: 4)
        let bias = randomTensor([13], seed: 2, dtype: .float32)
        let x = randomTensor([batch, 29], seed: 3, dtype: .float32)
        let expected = linear(x, weight: w, bias: bias)
        for threads in [1, 2] {
            let y = Engine.withThreads(threads) { sparseLinear(x, weight: SparseMatrix(dense: w), bias: bias) }
            #expect(y.shape == [batch, 13])
            expectClose(y, expected, "sparseLinear batch \(batch) s=\(sparsity) threads \(threads)", tolerance: 1e-5)
        }
        // Extra leading axes (tokens) are kept.
        let x3 = randomTensor([2, 3, 29], seed: 8, dtype: .float32)
        expectClose(sparseLinear(x3, weight: SparseMatrix(dense: w), bias: nil), linear(x3, weight: w, bias: nil),
                    "sparseLinear rank 3", tolerance: 1e-5)
    }

    struct ConvCase: CustomTestStringConvertible, Sendable {
        var batch: Int, cin: Int, cout: Int, size: Int, kernel: Int, stride: Int, padding: Int, sparsity: Double
        var testDescription: String { "n\(batch) \(cin)→\(cout) \(size)² k\(kernel) s\(stride) p\(padding) sp\(sparsity)" }
    }

    @Test(arguments: [
        ConvCase(batch: 1, cin: 3, cout: 8, size: 9, kernel: 3, stride: 1, padding: 1, sparsity: 0.9),
        ConvCase(batch: 3, cin: 5, cout: 7, size: 11, kernel: 3, stride: 2, padding: 1, sparsity: 0.5),
        ConvCase(batch: 2, cin: 4, cout: 6, size: 8, kernel: 1, stride: 1, padding: 0, sparsity: 0.7),
        ConvCase(batch: 4, cin: 2, cout: 5, size: 12, kernel: 5, stride: 1, padding: 0, sparsity: 0.95),
        ConvCase(batch: 2, cin: 3, cout: 4, size: 6, kernel: 3, stride: 1, padding: 1, sparsity: 1),
    ])
    func convMatchesDenseConv(_ c: ConvCase) {
        for dtype in [DType.float32, .float64] {
            let w = Self.sparseTensor([c.cout, c.cin, c.kernel, c.kernel], sparsity: c.sparsity, seed: UInt64(c.cout), dtype: dtype,
                                      emptyEvery: 3)
            let bias = randomTensor([c.cout], seed: 6, dtype: dtype)
            let x = randomTensor([c.batch, c.cin, c.size, c.size], seed: 7, dtype: dtype)
            let expected = conv2d(x, weight: w, bias: bias, stride: c.stride, padding: c.padding)
            for threads in [1, 3] {
                let y = Engine.withThreads(threads) {
                    sparseConv2d(x, weight: SparseMatrix(dense: w), bias: bias,
                                 geometry: Conv2dGeometry(stride: c.stride, padding: c.padding))
                }
                expectClose(y, expected, "sparseConv2d \(c.testDescription) \(dtype) threads \(threads)", tolerance: 1e-5)
            }
        }
    }
}
