import Testing
import BonsaiTensor

/// The max-pool kernels (the unclipped fast path for unpadded windows, its unrolled 2×2 case, and
/// the clipped general path) against the plain ``PoolReference`` on random odd shapes with ties,
/// NaN and −∞, forward values and argmax-routed gradients, at one and two threads.
@Suite struct PoolFastPathTests {
    struct Case: CustomStringConvertible, Sendable {
        var shape: [Int], kernel: Int, stride: Int, padding: Int
        var description: String { "x\(shape) k\(kernel) s\(stride) p\(padding)" }
    }

    static let cases: [Case] = [
        Case(shape: [2, 3, 8, 8], kernel: 2, stride: 2, padding: 0),
        Case(shape: [3, 2, 9, 7], kernel: 2, stride: 2, padding: 0),   // odd sizes: floor mode drops the edge
        Case(shape: [1, 4, 7, 10], kernel: 2, stride: 1, padding: 0),  // overlapping 2×2
        Case(shape: [2, 3, 11, 9], kernel: 3, stride: 2, padding: 0),
        Case(shape: [2, 2, 9, 9], kernel: 3, stride: 3, padding: 0),
        Case(shape: [1, 3, 5, 6], kernel: 1, stride: 2, padding: 0),
        Case(shape: [2, 3, 9, 8], kernel: 3, stride: 2, padding: 1),   // the clipped path
        Case(shape: [2, 2, 7, 7], kernel: 2, stride: 2, padding: 1),
    ]

    /// Values from a small set (many ties), with NaN and −∞ sprinkled in for some seeds.
    static func input(_ c: Case, seed: UInt64, dtype: DType, specials: Bool) -> Tensor {
        var rng = RandomGenerator(seed: seed)
        let values: [Double] = (0..<c.shape.elementCount).map { _ in
            let u = rng.nextUnit()
            if specials && u < 0.03 { return .nan }
            if specials && u < 0.08 { return -.infinity }
            return Double(Int(rng.nextUnit() * 5)) - 2
        }
        return Tensor(shape: c.shape, scalars: values).cast(to: dtype)
    }

    @Test(arguments: cases, [DType.float32, .float64])
    func fastMatchesReference(_ c: Case, dtype: DType) {
        for (seed, specials) in [(UInt64(1), false), (2, true), (3, true)] {
            let x = Self.input(c, seed: seed, dtype: dtype, specials: specials).requiringGrad()
            let expected = PoolReference.maxPool2d(x.detached(), kernel: c.kernel, stride: c.stride, padding: c.padding)
            for threads in [1, 2] {
                let (y, grad) = Engine.withThreads(threads) {
                    let y = maxPool2d(x, kernel: c.kernel, stride: c.stride, padding: c.padding)
                    let g = Tensor(shape: y.shape, scalars: (0..<y.count).map { Double($0 % 7) + 1 }).cast(to: dtype)
                    return (y, gradients(of: (y * g).sum(), withRespectTo: [x])[0])
                }
                let got = y.doubles
                let same = zip(got, expected.output).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }
                #expect(got.count == expected.output.count && same, "\(c) \(dtype) seed \(seed) threads \(threads) output")
                var dx = [Double](repeating: 0, count: x.count)
                for (o, index) in expected.argmax.enumerated() { dx[index] += Double(o % 7) + 1 }
                #expect(grad.doubles == dx, "\(c) \(dtype) seed \(seed) threads \(threads) gradient routing")
            }
        }
    }
}
