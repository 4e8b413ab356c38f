import Testing
import BonsaiTensor

/// Reshape, permute, transpose, broadcast, concat, slice and index-select: forward against index
/// arithmetic, gradients by finite differences.
@Suite struct CoreShapeOpsTests {
    /// The element of `x` at a multi-index.
    static func at(_ x: [Double], _ shape: [Int], _ index: [Int]) -> Double {
        var flat = 0
        for (axis, i) in index.enumerated() { flat = flat * shape[axis] + i }
        return x[flat]
    }

    /// Every multi-index of `shape` in row-major order.
    static func indices(_ shape: [Int]) -> [[Int]] {
        var result: [[Int]] = [[]]
        for d in shape { result = result.flatMap { prefix in (0..<d).map { prefix + [$0] } } }
        return result
    }

    @Test func reshapeFlattenUnsqueeze() {
        let x = randomTensor([2, 3, 4], seed: 1)
        #expect(x.reshaped([6, -1]).shape == [6, 4] && x.reshaped([-1]).shape == [24])
        #expect(x.reshaped([4, 6]).doubles == x.doubles)
        #expect(x.flattened().shape == [2, 12] && x.flattened(from: 0).shape == [24] && x.flattened(from: 2).shape == [2, 3, 4])
        #expect(x.unsqueezed(at: 0).shape == [1, 2, 3, 4] && x.unsqueezed(at: -1).shape == [2, 3, 4, 1] && x.unsqueezed(at: 1).shape == [2, 1, 3, 4])
        #expect(Tensor.zeros([0, 5]).reshaped([5, -1, 2]).shape == [5, 0, 2])
        expectGradientsMatch([x], "reshape") { $0[0].reshaped([4, 6]) * $0[0].reshaped([4, 6]) }
        expectGradientsMatch([x], "flatten/unsqueeze") { $0[0].flattened().unsqueezed(at: 1).exp() }
    }

    @Test(arguments: [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]])
    func permute(_ perm: [Int]) {
        let x = randomTensor([2, 3, 4], seed: 2)
        let y = x.permuted(perm)
        #expect(y.shape == perm.map { x.shape[$0] })
        let data = x.doubles, out = y.doubles
        for (flat, index) in Self.indices(y.shape).enumerated() {
            var source = [0, 0, 0]
            for (i, p) in perm.enumerated() { source[p] = index[i] }
            #expect(out[flat] == Self.at(data, x.shape, source))
        }
        expectGradientsMatch([x], "permute \(perm)") { $0[0].permuted(perm) }
    }

    @Test func transposed() {
        let x = randomTensor([2, 3, 4], seed: 3)
        #expect(x.transposed().shape == [2, 4, 3] && x.transposed(0, 2).shape == [4, 3, 2])
        #expect(x.transposed()[1, 3, 2] == x[1, 2, 3])
        #expect(x.transposed().transposed().doubles == x.doubles)
        expectGradientsMatch([x], "transposed") { $0[0].transposed(0, -1) }
    }

    @Test(arguments: [([4], [3, 4]), ([3, 1], [3, 5]), ([1, 1], [2, 3]), ([], [2, 2]), ([2, 1, 3], [4, 2, 5, 3])])
    func broadcastTo(_ from: [Int], _ to: [Int]) {
        let x = randomTensor(from, seed: 4)
        let y = x.broadcast(to: to)
        #expect(y.shape == to)
        let expected = CoreArithmeticTests.reference(Tensor.zeros(to, dtype: .float64), x) { _, b in b }
        #expect(y.doubles == expected.values)
        expectGradientsMatch([x], "broadcast \(from) → \(to)") { $0[0].broadcast(to: to) }
    }

    @Test(arguments: [0, 1, 2])
    func concat(_ axis: Int) {
        var shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]]
        shapes[1][axis] = 1
        shapes[2][axis] = 2
        let parts = shapes.enumerated().map { randomTensor($0.element, seed: UInt64(10 + $0.offset)) }
        let y = Tensor.concat(parts, axis: axis)
        var expectedShape = [2, 3, 4]
        expectedShape[axis] = shapes.map { $0[axis] }.reduce(0, +)
        #expect(y.shape == expectedShape)
        let out = y.doubles
        for (flat, index) in Self.indices(y.shape).enumerated() {
            var part = 0, local = index
            while local[axis] >= shapes[part][axis] { local[axis] -= shapes[part][axis]; part += 1 }
            #expect(out[flat] == Self.at(parts[part].doubles, shapes[part], local))
        }
        expectGradientsMatch(parts, "concat axis \(axis)") { Tensor.concat($0, axis: axis) }
        #expect(Tensor.concat([parts[0]], axis: axis).doubles == parts[0].doubles)
    }

    @Test(arguments: [(0, 1, 2), (1, 0, 3), (1, 2, 1), (2, 1, 2), (-1, 3, 1), (1, 1, 0)])
    func slice(_ axis: Int, _ start: Int, _ length: Int) {
        let x = randomTensor([3, 3, 4], seed: 5)
        let a = axis < 0 ? axis + 3 : axis
        let y = x.sliced(axis: axis, start: start, length: length)
        var shape = x.shape
        shape[a] = length
        #expect(y.shape == shape)
        let data = x.doubles, out = y.doubles
        for (flat, index) in Self.indices(shape).enumerated() {
            var source = index
            source[a] += start
            #expect(out[flat] == Self.at(data, x.shape, source))
        }
        expectGradientsMatch([x], "slice axis \(axis) [\(start), +\(length))") { $0[0].sliced(axis: axis, start: start, length: length) }
    }

    @Test(arguments: [(0, [2, 0, 2, 1]), (1, [0, 0, 0]), (2, [3, 1]), (1, []), (-1, [1, 1, 1, 1, 1])])
    func indexSelectWithRepeats(_ axis: Int, _ indices: [Int]) {
        let x = randomTensor([3, 2, 4], seed: 6)
        let a = axis < 0 ? axis + 3 : axis
        let y = x.indexSelect(axis: axis, indices: indices)
        var shape = x.shape
        shape[a] = indices.count
        #expect(y.shape == shape)
        let data = x.doubles, out = y.doubles
        for (flat, index) in Self.indices(shape).enumerated() {
            var source = index
            source[a] = indices[index[a]]
            #expect(out[flat] == Self.at(data, x.shape, source))
        }
        expectGradientsMatch([x], "indexSelect axis \(axis) \(indices)") { $0[0].indexSelect(axis: axis, indices: indices) }
        // Repeated rows accumulate: d Σ y / dx counts how often each entry was picked.
        let leaf = x.requiringGrad()
        let g = gradients(of: leaf.indexSelect(axis: axis, indices: indices).sum(), withRespectTo: [leaf])[0].doubles
        for (flat, index) in Self.indices(x.shape).enumerated() {
            #expect(g[flat] == Double(indices.filter { $0 == index[a] }.count))
        }
    }

    @Test func arangeFullAndSubscript() throws {
        #expect(Tensor.arange(5).floats == [0, 1, 2, 3, 4] && Tensor.arange(3, dtype: .float64).dtype == .float64)
        #expect(Tensor.full([2, 2], value: 1.5).floats == [1.5, 1.5, 1.5, 1.5])
        #expect(Tensor.ones([3], dtype: .float64).doubles == [1, 1, 1] && Tensor.zeros([2]).floats == [0, 0])
        let t = Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5] as [Float])
        #expect(t[1, 2] == 5 && t[0, 1] == 1 && t.rank == 2 && t.count == 6 && t.strides == [3, 1])
        #expect(Tensor(2.5).item == 2.5 && Tensor(2.5).shape == [])
        #expect(throws: TensorError.self) { try Tensor(validatingShape: [2, 2], scalars: [1.0, 2.0]) }
        #expect(throws: TensorError.self) { try Tensor(validatingShape: [-1, 2], scalars: [Float]()) }
        #expect(try Tensor(validatingShape: [1, 2], scalars: [1.0, 2.0]).shape == [1, 2])
    }
}
