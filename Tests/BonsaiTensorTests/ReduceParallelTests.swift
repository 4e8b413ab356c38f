import Testing
import BonsaiTensor

/// The split (multi-threaded) sum kernel on sizes large enough to be split, with odd extents: the
/// same bits on one and two threads, and the values of a Float64 plain-loop reference.
@Suite struct ReduceParallelTests {
    /// `Σ` over `axis` of `x` in Float64, plain loops.
    static func reference(_ x: Tensor, axis: Int) -> [Double] {
        let values = x.doubles
        let outer = x.shape[..<axis].reduce(1, *), length = x.shape[axis], inner = x.shape[(axis + 1)...].reduce(1, *)
        var out = [Double](repeating: 0, count: outer * inner)
        for o in 0..<outer {
            for r in 0..<length {
                for i in 0..<inner { out[o * inner + i] += values[(o * length + r) * inner + i] }
            }
        }
        return out
    }

    @Test(arguments: [([2049, 513], 0), ([3, 1001, 37], 1), ([5, 70_001], 1), ([7, 3, 4099], 2), ([1, 40_000, 3], 1),
                      ([65_537, 1], 0), ([4, 0, 9], 1)])
    func splitSumMatchesReference(_ shape: [Int], _ axis: Int) {
        for dtype in [DType.float32, .float64] {
            let x = randomTensor(shape, seed: 61, dtype: dtype)
            let one = Engine.withThreads(1) { x.sum(axes: [axis]) }
            let two = Engine.withThreads(2) { x.sum(axes: [axis]) }
            var expectedShape = shape
            expectedShape.remove(at: axis)
            #expect(two.shape == expectedShape)
            #expect(one.doubles == two.doubles, "sum over axis \(axis) of \(shape) (\(dtype)) depends on the thread count")
            let expected = Tensor(shape: expectedShape, scalars: Self.reference(x, axis: axis))
            // Float32 sums of n terms of size ~1 accumulate n roundings of partial sums of size ~√n.
            let n = Double(shape[axis])
            let tolerance = dtype == .float32 ? 2e-7 * n * n.squareRoot() + 1e-6 : 1e-12 * (n + 1)
            let error = zip(two.doubles, expected.doubles).map { Swift.abs($0 - $1) }.max() ?? 0
            #expect(error <= tolerance, "sum over axis \(axis) of \(shape) (\(dtype)): error \(error)")
        }
    }
}
