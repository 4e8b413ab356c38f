import Testing
@testable import BonsaiTensor

/// The splits of `Gemm.multiply` added for speed: over the inner dimension (weight gradients,
/// `k ≥ 2·max(m, n)`) and the fused bias rows of `linear` (each worker fills the rows it multiplies
/// into), against the plain references.
@Suite struct GemmSplitTests {
    typealias Shape = GemmTests.Shape

    @Test(arguments: [
        Shape(m: 37, n: 29, k: 300, transA: false, transB: false, alpha: 1, beta: 0, pad: 0),
        Shape(m: 29, n: 37, k: 301, transA: true, transB: false, alpha: 0.5, beta: 1, pad: 2),
        Shape(m: 17, n: 33, k: 999, transA: true, transB: true, alpha: -1.25, beta: 0.75, pad: 1),
        Shape(m: 64, n: 16, k: 257, transA: false, transB: true, alpha: 1, beta: -2, pad: 3),
        Shape(m: 1, n: 7, k: 40_001, transA: true, transB: false, alpha: 2, beta: 0, pad: 0),
    ])
    func innerSplitMatchesReference(_ s: Shape) {
        #expect(s.m * s.n * s.k >= Gemm.parallelThreshold && s.k >= Gemm.splitInnerRatio * max(s.m, s.n))
        for threads in [2, 3] {
            GemmTests.check(s, Float.self, threads: threads, tolerance: 1e-6)
            GemmTests.check(s, Double.self, threads: threads, tolerance: 1e-14)
        }
    }

    /// The split's result depends on the worker count only, not on timing: two runs agree bitwise.
    @Test func innerSplitIsDeterministic() {
        let s = Shape(m: 31, n: 45, k: 2048, transA: true, transB: false, alpha: 1, beta: 0, pad: 0)
        let operands = GemmTests.Operands<Float>(s, seed: 5)
        let first = Engine.withThreads(2) { operands.run(s) { Gemm.multiply($0) } }
        let second = Engine.withThreads(2) { operands.run(s) { Gemm.multiply($0) } }
        #expect(first == second)
    }

    /// `linear` with a bias on shapes that take each path (serial, rows split, columns split,
    /// inner split), Float and Double, 1 and 2 threads, against `x·Wᵀ + b` in Double.
    @Test(arguments: [(5, 4, 3), (300, 50, 64), (2048, 128, 128), (40, 700, 30), (3, 4, 100_000), (7, 1, 1)])
    func linearWithBiasMatchesReference(_ rows: Int, _ outFeatures: Int, _ inFeatures: Int) {
        let x = randomTensor([rows, inFeatures], seed: 1), w = randomTensor([outFeatures, inFeatures], seed: 2)
        let b = randomTensor([outFeatures], seed: 3)
        let xs = x.doubles, ws = w.doubles, bs = b.doubles
        for dtype in [DType.float32, .float64] {
            for threads in [1, 2] {
                let y = Engine.withThreads(threads) {
                    linear(x.cast(to: dtype), weight: w.cast(to: dtype), bias: b.cast(to: dtype))
                }.doubles
                var worst = 0.0
                for i in 0..<rows {
                    for o in 0..<outFeatures {
                        var sum = bs[o]
                        for p in 0..<inFeatures { sum += xs[i * inFeatures + p] * ws[o * inFeatures + p] }
                        worst = max(worst, abs(y[i * outFeatures + o] - sum) / max(1, abs(sum)))
                    }
                }
                let tolerance = (dtype == .float32 ? 1e-6 : 1e-14) * Double(inFeatures)
                #expect(worst <= tolerance, "linear \(rows)×\(inFeatures)→\(outFeatures) \(dtype) threads \(threads): error \(worst)")
            }
        }
    }

    /// The row split of a forward linear agrees with the serial product on 1 thread (each output is
    /// one worker's full-length dot product; OpenBLAS may pick another micro-kernel for the slice).
    @Test func linearWithBiasRowSplitIsThreadInvariant() {
        let x = randomTensor([513, 96], seed: 11, dtype: .float32), w = randomTensor([80, 96], seed: 12, dtype: .float32)
        let b = randomTensor([80], seed: 13, dtype: .float32)
        let one = Engine.withThreads(1) { linear(x, weight: w, bias: b) }
        let two = Engine.withThreads(2) { linear(x, weight: w, bias: b) }
        let worst = zip(one.floats, two.floats).map { abs($0 - $1) / max(1, abs($0)) }.max() ?? 0
        #expect(worst <= 1e-6, "1 vs 2 threads: \(worst)")
    }
}
