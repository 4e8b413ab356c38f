import Testing
import BonsaiTensor

/// Sums, means, variances and maxima against index-by-index references, with finite-difference
/// gradients; the gradient of max goes to the first maximal element on ties.
@Suite struct CoreReductionTests {
    /// Reduces `x` over `axes` with `combine` in plain loops; the result shape keeps or drops axes.
    static func reference(_ x: Tensor, axes: Set<Int>, keepDims: Bool, initial: Double,
                          _ combine: (Double, Double) -> Double) -> (shape: [Int], values: [Double]) {
        let shape = x.shape
        let kept = shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
        var values = [Double](repeating: initial, count: kept.elementCount)
        let data = x.doubles
        for flat in 0..<shape.elementCount {
            var rest = flat, target = 0, stride = 1
            for axis in Swift.stride(from: shape.count - 1, through: 0, by: -1) {
                let index = rest % shape[axis]
                rest /= shape[axis]
                target += (axes.contains(axis) ? 0 : index) * stride
                stride *= kept[axis]
            }
            values[target] = combine(values[target], data[flat])
        }
        let outShape = keepDims ? kept : shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
        return (outShape, values)
    }

    static let axisSets: [[Int]] = [[0], [1], [2], [-1], [0, 1], [0, 2], [1, 2], [0, 1, 2], [2, 0], [-1, -3]]

    @Test(arguments: axisSets)
    func sumOverAxes(_ axes: [Int]) {
        let x = randomTensor([2, 3, 4], seed: 1)
        let normalized = Set(axes.map { $0 < 0 ? $0 + 3 : $0 })
        for keepDims in [false, true] {
            let expected = Self.reference(x, axes: normalized, keepDims: keepDims, initial: 0, +)
            let s = x.sum(axes: axes, keepDims: keepDims)
            #expect(s.shape == expected.shape, "sum \(axes) keepDims \(keepDims): shape \(s.shape) vs \(expected.shape)")
            #expect(zip(s.doubles, expected.values).allSatisfy { Swift.abs($0 - $1) < 1e-12 }, "sum \(axes) keepDims \(keepDims)")
            let m = x.mean(axes: axes, keepDims: keepDims)
            let n = Double(normalized.map { x.shape[$0] }.reduce(1, *))
            #expect(zip(m.doubles, expected.values).allSatisfy { Swift.abs($0 - $1 / n) < 1e-12 }, "mean \(axes)")
            expectGradientsMatch([x], "sum \(axes) keepDims \(keepDims)") { $0[0].sum(axes: axes, keepDims: keepDims) }
            expectGradientsMatch([x], "mean \(axes) keepDims \(keepDims)") { $0[0].mean(axes: axes, keepDims: keepDims) }
            expectGradientsMatch([x], "variance \(axes) keepDims \(keepDims)") { $0[0].variance(axes: axes, keepDims: keepDims) }
        }
    }

    @Test func fullReductionsAndVariance() {
        let x = randomTensor([3, 5], seed: 2)
        let v = x.doubles
        let mean = v.reduce(0, +) / 15
        #expect(x.sum().shape == [] && Swift.abs(x.sum().item - v.reduce(0, +)) < 1e-12)
        #expect(Swift.abs(x.mean().item - mean) < 1e-12)
        // Biased (population) variance, per row.
        let rows = x.variance(axes: [1])
        for r in 0..<3 {
            let row = Array(v[(r * 5)..<(r * 5 + 5)])
            let m = row.reduce(0, +) / 5
            #expect(Swift.abs(rows[r] - row.map { ($0 - m) * ($0 - m) }.reduce(0, +) / 5) < 1e-12)
        }
        expectGradientsMatch([x], "sum") { $0[0].sum() }
        expectGradientsMatch([x], "mean") { $0[0].mean() }
        // Duplicate axes name one axis once.
        #expect(x.sum(axes: [1, -1]).doubles == x.sum(axes: [1]).doubles)
        #expect(x.mean(axes: [1, -1]).doubles == x.mean(axes: [1]).doubles)
        // A Float32 sum of many elements stays accurate (contiguous sums accumulate in Double).
        let ones = Tensor.full([1 << 20], value: 0.1)
        #expect(Swift.abs(ones.sum().item - 104_857.6) < 0.01)
        // Sum of an empty axis is 0, of a scalar the scalar itself.
        #expect(Tensor.zeros([0, 3]).sum(axes: [0]).doubles == [0, 0, 0])
        #expect(Tensor(4.5).sum().item == 4.5)
    }

    @Test(arguments: [0, 1, 2, -1])
    func maxAlongAxis(_ axis: Int) {
        let x = randomTensor([3, 4, 5], seed: 3)
        let normalized = axis < 0 ? axis + 3 : axis
        for keepDims in [false, true] {
            let expected = Self.reference(x, axes: [normalized], keepDims: keepDims, initial: -.infinity) { Swift.max($0, $1) }
            let m = x.max(axis: axis, keepDims: keepDims)
            #expect(m.shape == expected.shape && m.doubles == expected.values, "max axis \(axis) keepDims \(keepDims)")
            expectGradientsMatch([x], "max axis \(axis) keepDims \(keepDims)") { $0[0].max(axis: axis, keepDims: keepDims) }
        }
        // argmax agrees with max.
        let arg = x.argmax(axis: axis)
        let maxima = x.max(axis: axis).doubles
        let (outer, length, inner) = (x.shape[..<normalized].reduce(1, *), x.shape[normalized], x.shape[(normalized + 1)...].reduce(1, *))
        let data = x.doubles
        for o in 0..<outer {
            for i in 0..<inner {
                #expect(arg[o * inner + i] < length && data[(o * length + arg[o * inner + i]) * inner + i] == maxima[o * inner + i])
            }
        }
    }

    @Test func maxGradientGoesToTheFirstMaximum() {
        let x = Tensor(shape: [2, 4], scalars: [1, 3, 3, 2, 5, 5, 5, 5]).requiringGrad()
        let m = x.max(axis: 1)
        #expect(m.doubles == [3, 5])
        #expect(gradients(of: m.sum(), withRespectTo: [x])[0].doubles == [0, 1, 0, 0, 1, 0, 0, 0])
        #expect(x.argmax(axis: 1) == [1, 0])
        let columns = x.max(axis: 0)
        #expect(columns.doubles == [5, 5, 5, 5])
        let y = Tensor(shape: [2, 2], scalars: [7, 1, 7, 1]).requiringGrad()
        #expect(gradients(of: y.max(axis: 0).sum(), withRespectTo: [y])[0].doubles == [1, 1, 0, 0])
        // NaN propagates as the maximum.
        let n = Tensor(shape: [1, 3], scalars: [1, .nan, 2])
        #expect(n.max(axis: 1).doubles[0].isNaN)
    }
}
