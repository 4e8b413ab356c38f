import Testing
import BonsaiTensor

/// Copy-on-write storage and views: copies are independent values, while reshapes and axis-0
/// slices share storage until one of them is written.
@Suite struct CoreStorageTests {
    @Test func mutatingACopyLeavesTheOriginal() {
        let original = Tensor(shape: [2, 2], scalars: [1, 2, 3, 4] as [Float])
        var copy = original
        #expect(copy.sharesStorage(with: original))
        copy.withMutableScalars(Float.self) { $0[0] = 99 }
        #expect(original.floats == [1, 2, 3, 4])
        #expect(copy.floats == [99, 2, 3, 4])
        #expect(!copy.sharesStorage(with: original))
    }

    @Test func viewsShareStorageAndCopyOnWrite() {
        let x = Tensor(shape: [4, 3], scalars: (0..<12).map(Double.init))
        let reshaped = x.reshaped([2, 6])
        let rows = x.sliced(axis: 0, start: 1, length: 2)
        #expect(reshaped.sharesStorage(with: x) && rows.sharesStorage(with: x), "reshape and axis-0 slice are views")
        #expect(rows.doubles == [3, 4, 5, 6, 7, 8])
        let inner = rows.sliced(axis: 0, start: 1, length: 1)
        #expect(inner.sharesStorage(with: x) && inner.doubles == [6, 7, 8], "a slice of a slice keeps its offset")
        #expect(rows.reshaped([6]).sharesStorage(with: x) && rows.reshaped([6])[5] == 8)
        #expect(!x.sliced(axis: 1, start: 0, length: 2).sharesStorage(with: x), "other axes copy")
        #expect(!x.transposed().sharesStorage(with: x) && !x.permuted([1, 0]).sharesStorage(with: x))
        #expect(x.detached().sharesStorage(with: x) && x.requiringGrad().sharesStorage(with: x))

        var view = rows
        view.withMutableScalars(Double.self) { $0[0] = -1 }
        #expect(view.doubles == [-1, 4, 5, 6, 7, 8] && view.shape == [2, 3])
        #expect(x.doubles == (0..<12).map(Double.init), "writing a view copies it first")
        var flat = x.reshaped([12])
        flat.withMutableScalars(Double.self) { $0[11] = 0 }
        #expect(x[3, 2] == 11 && flat[11] == 0)
        // An axis-0 slice can be read by every kernel (offset respected).
        #expect((rows * 2.0).doubles == [6, 8, 10, 12, 14, 16])
        #expect(rows.sum(axes: [0]).doubles == [9, 11, 13])
        #expect(rows.transposed().doubles == [3, 6, 4, 7, 5, 8])
        #expect(rows.matmul(Tensor.ones([3, 1], dtype: .float64)).doubles == [12, 21])
    }

    @Test func savedValuesSurviveLaterWrites() {
        var x = Tensor(shape: [3], scalars: [1.0, 2, 3]).requiringGrad()
        let leaf = x
        let loss = (x * x).sum()
        x.withMutableScalars(Double.self) { $0[0] = 100 }
        #expect(gradients(of: loss, withRespectTo: [leaf])[0].doubles == [2, 4, 6], "the graph kept the old values")
        #expect(leaf.doubles == [1, 2, 3])
    }

    @Test func zeroSizedTensors() {
        let empty = Tensor.zeros([0, 4])
        #expect(empty.count == 0 && empty.floats.isEmpty && empty.shape == [0, 4])
        #expect((empty + Tensor.ones([4])).shape == [0, 4])
        #expect(empty.exp().shape == [0, 4] && empty.softmax().shape == [0, 4])
        #expect(empty.sum().item == 0)
        #expect(Tensor.concat([empty, Tensor.ones([1, 4])], axis: 0).floats == [1, 1, 1, 1])
    }
}
