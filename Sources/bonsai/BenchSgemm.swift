import BonsaiTensor

/// `C = A·B` for random square Float matrices through `Gemm.multiply` (2·n³ FLOPs per run).
final class SquareSgemm {
    let size: Int
    private let a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>

    init(size n: Int) {
        size = n
        var rng = RandomGenerator(seed: 1)
        (a, b, c) = (.allocate(capacity: n * n), .allocate(capacity: n * n), .allocate(capacity: n * n))
        for i in 0..<(n * n) {
            a[i] = Float(rng.nextUnit() - 0.5); b[i] = Float(rng.nextUnit() - 0.5); c[i] = 0
        }
    }

    deinit { a.deallocate(); b.deallocate(); c.deallocate() }

    var flops: Double { 2 * Double(size * size * size) }

    func run() {
        Gemm.multiply(Gemm.Operands(m: size, n: size, k: size, a: a, lda: size, b: b, ldb: size, c: c, ldc: size))
    }
}
