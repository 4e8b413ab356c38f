import Testing
import BonsaiTensor

/// Broadcasting arithmetic: forward against an index-by-index reference, gradients by finite
/// differences in Float64 (the adjoint of broadcasting sums over the expanded axes).
@Suite struct CoreArithmeticTests {
    static let pairs: [([Int], [Int])] = [
        ([3, 4], [4]), ([3, 1], [1, 4]), ([2, 3, 4], [3, 1]), ([], [2, 3]), ([2, 3], []), ([], []),
        ([1], [5]), ([2, 1, 3], [4, 1]), ([4], [2, 1, 1]), ([2, 3], [2, 3]), ([1, 1], [3, 1, 2]), ([0, 3], [3]),
    ]

    /// `f(a[broadcast index], b[broadcast index])` for every element of the broadcast shape.
    static func reference(_ a: Tensor, _ b: Tensor, _ f: (Double, Double) -> Double) -> (shape: [Int], values: [Double]) {
        let rank = Swift.max(a.rank, b.rank)
        let pa = [Int](repeating: 1, count: rank - a.rank) + a.shape
        let pb = [Int](repeating: 1, count: rank - b.rank) + b.shape
        let shape = zip(pa, pb).map { Swift.max($0, $1) == 0 || Swift.min($0, $1) == 0 ? 0 : Swift.max($0, $1) }
        let x = a.doubles, y = b.doubles
        var values: [Double] = []
        for flat in 0..<shape.elementCount {
            var rest = flat, ia = 0, ib = 0, strideA = 1, strideB = 1
            for axis in stride(from: rank - 1, through: 0, by: -1) {
                let index = rest % shape[axis]
                rest /= shape[axis]
                ia += (pa[axis] == 1 ? 0 : index) * strideA
                ib += (pb[axis] == 1 ? 0 : index) * strideB
                strideA *= pa[axis]
                strideB *= pb[axis]
            }
            values.append(f(x[ia], y[ib]))
        }
        return (shape, values)
    }

    @Test(arguments: pairs)
    func broadcastForwardMatchesReference(_ aShape: [Int], _ bShape: [Int]) {
        let a = randomTensor(aShape, seed: 1), b = randomTensor(bShape, seed: 2) + 3.0
        let ops: [(String, (Tensor, Tensor) -> Tensor, (Double, Double) -> Double)] = [
            ("+", { $0 + $1 }, { $0 + $1 }), ("-", { $0 - $1 }, { $0 - $1 }),
            ("*", { $0 * $1 }, { $0 * $1 }), ("/", { $0 / $1 }, { $0 / $1 }),
        ]
        for (name, op, scalar) in ops {
            let expected = Self.reference(a, b, scalar)
            let out = op(a, b)
            #expect(out.shape == expected.shape, "\(aShape) \(name) \(bShape): shape \(out.shape)")
            #expect(out.doubles == expected.values, "\(aShape) \(name) \(bShape): values")
            // Float32 computes the same thing to Float precision.
            let out32 = op(a.cast(to: .float32), b.cast(to: .float32))
            #expect(out32.dtype == .float32)
            #expect(zip(out32.doubles, expected.values).allSatisfy { Swift.abs($0 - $1) <= 1e-6 * Swift.max(1, Swift.abs($1)) })
            // Swapping the operands broadcasts the same way.
            #expect(op(b, a).shape == expected.shape)
        }
    }

    @Test(arguments: pairs.filter { !$0.0.contains(0) })
    func broadcastGradients(_ aShape: [Int], _ bShape: [Int]) {
        let a = randomTensor(aShape, seed: 3), b = randomTensor(bShape, seed: 4) + 3.0
        let label = "\(aShape) ∘ \(bShape)"
        expectGradientsMatch([a, b], "add \(label)") { x in x[0] + x[1] }
        expectGradientsMatch([a, b], "sub \(label)") { x in x[0] - x[1] }
        expectGradientsMatch([a, b], "mul \(label)") { x in x[0] * x[1] }
        expectGradientsMatch([a, b], tolerance: 1e-5, "div \(label)") { x in x[0] / x[1] }
        expectGradientsMatch([a, b], tolerance: 1e-5, "mixed \(label)") { x in (x[0] * x[1] - x[1]) / (x[0] * x[0] + 1.0) }
        // The gradient of a broadcast operand sums the expanded axes: d Σ(a + b)/db = (count / |b|) · 1.
        let ga = a.requiringGrad(), gb = b.requiringGrad()
        let grads = gradients(of: (ga + gb).sum(), withRespectTo: [ga, gb])
        let total = Self.reference(a, b, +).values.count
        #expect(grads[0].shape == aShape && grads[1].shape == bShape)
        #expect(grads[1].doubles.allSatisfy { $0 == Double(total / Swift.max(b.count, 1)) })
    }

    @Test func incompatibleShapesThrowFromBroadcastShape() throws {
        #expect(throws: TensorError.self) { try Broadcast.shape([3], [4]) }
        #expect(throws: TensorError.self) { try Broadcast.shape([2, 3], [3, 2]) }
        #expect(try Broadcast.shape([2, 1, 3], [4, 1]) == [2, 4, 3])
        #expect(try Broadcast.shape([], [0, 2]) == [0, 2])
    }

    @Test func scalarOperatorsAndGradients() {
        let x = randomTensor([2, 5], seed: 5)
        let v = x.doubles
        #expect((x * 2.5).doubles == v.map { $0 * 2.5 })
        #expect((2.5 * x).doubles == v.map { $0 * 2.5 })
        #expect((x / 4).doubles == v.map { $0 * 0.25 })
        #expect((x + 1.5).doubles == v.map { $0 + 1.5 })
        #expect((1.5 + x).doubles == v.map { $0 + 1.5 })
        #expect((x - 1.5).doubles == v.map { $0 - 1.5 })
        #expect((1.5 - x).doubles == v.map { 1.5 - $0 })
        #expect((-x).doubles == v.map { -$0 })
        expectGradientsMatch([x], "scaled/shifted/neg") { t in 1.5 - (t[0] * 2.5 + 0.5).scaled(by: -3) / 7 }
        var accumulated = x
        accumulated += x
        accumulated *= x
        accumulated -= x
        #expect(accumulated.doubles == v.map { ($0 + $0) * $0 - $0 })
    }

    @Test func float32ScalarsAreExactInFloat() {
        let x = Tensor(shape: [3], scalars: [0.1, 0.2, 0.3] as [Float])
        #expect((x * 3.0).floats == [Float(0.1) * 3, Float(0.2) * 3, Float(0.3) * 3])
        #expect((x + x).floats == [0.2, 0.4, 0.6])
    }
}
