import Testing
import BonsaiTensor

/// Max, average and global average pooling: PyTorch fixtures, finite differences (Float64), ties.
@Suite struct PoolTests {
    @Test(arguments: ["maxpool2d_0", "maxpool2d_1", "avgpool2d"])
    func poolMatchesPyTorch(name: String) throws {
        let f = try Fixture(name)
        let kernel = try #require(f.metaInt("kernel"))
        let stride = f.metaInt("stride"), padding = f.metaInt("padding") ?? 0
        let x = try f("input").requiringGrad()
        let y = name.hasPrefix("max") ? maxPool2d(x, kernel: kernel, stride: stride, padding: padding)
                                      : avgPool2d(x, kernel: kernel, stride: stride, padding: padding)
        expectClose(y, try f("output"), "\(name) output")
        let grads = gradients(of: (y * (try f("grad_output"))).sum(), withRespectTo: [x])
        expectClose(grads[0], try f("grad_input"), "\(name) grad_input")
    }

    @Test func globalAveragePoolMatchesPyTorch() throws {
        let f = try Fixture("global_avgpool")
        let x = try f("input").requiringGrad()
        let y = globalAvgPool2d(x)
        expectClose(y, try f("output"), "global_avgpool output")
        let grads = gradients(of: (y * (try f("grad_output"))).sum(), withRespectTo: [x])
        expectClose(grads[0], try f("grad_input"), "global_avgpool grad_input")
    }

    @Test func maxPoolFiniteDifferences() {
        // Random normal inputs have no near-ties at these sizes, so max is locally linear.
        let x = randomTensor([2, 3, 7, 6], seed: 81)
        expectGradientsMatch([x], "max 3/2 pad 1") { t in maxPool2d(t[0], kernel: 3, stride: 2, padding: 1) }
        expectGradientsMatch([x], "max 2/1 overlapping") { t in maxPool2d(t[0], kernel: 2, stride: 1) }
        expectGradientsMatch([x], "max 2 default stride, odd size") { t in maxPool2d(t[0], kernel: 2) }
    }

    @Test func maxPoolTiesGoToFirstMaximum() {
        // Window of output 0 is [[0, 5], [5, 1]]: both 5s tie, the first in row-major order wins.
        // Window of output 1 is [[5, 5], [2, 5]]: the top-left 5 wins.
        let x = Tensor(shape: [1, 1, 2, 4], scalars: [0, 5, 5, 5, 5, 1, 2, 5] as [Double]).requiringGrad()
        let y = maxPool2d(x, kernel: 2)
        #expect(y.doubles == [5, 5])
        let grad = gradients(of: (y * Tensor(shape: [1, 1, 1, 2], scalars: [3, 7] as [Double])).sum(), withRespectTo: [x])[0]
        #expect(grad.doubles == [0, 3, 7, 0, 0, 0, 0, 0], "tie gradient \(grad.doubles)")

        // A constant plane with overlapping, padded windows: every window's first in-image element.
        let c = Tensor.full([1, 1, 4, 4], value: 2, dtype: .float64).requiringGrad()
        let pooled = maxPool2d(c, kernel: 3, stride: 2, padding: 1)
        #expect(pooled.doubles == [2, 2, 2, 2])
        let g = gradients(of: pooled.sum(), withRespectTo: [c])[0]
        // Windows start at rows/columns −1 and 1, clipped to 0 and 1.
        var expected = [Double](repeating: 0, count: 16)
        for (h, w) in [(0, 0), (0, 1), (1, 0), (1, 1)] { expected[h * 4 + w] = 1 }
        #expect(g.doubles == expected, "constant-plane tie gradient \(g.doubles)")
    }

    @Test func maxPoolPaddingIsMinusInfinity() {
        // All inputs negative: padded zeros must not win.
        let x = Tensor.full([1, 2, 3, 3], value: -4, dtype: .float32)
        let y = maxPool2d(x, kernel: 3, stride: 1, padding: 1)
        #expect(y.shape == [1, 2, 3, 3])
        #expect(y.floats.allSatisfy { $0 == -4 })
    }

    @Test func maxPoolPropagatesNaN() {
        var values = [Float](repeating: 1, count: 16)
        values[5] = .nan
        let y = maxPool2d(Tensor(shape: [1, 1, 4, 4], scalars: values), kernel: 2)
        let out = y.floats
        #expect(out[0].isNaN && out[1] == 1 && out[2] == 1 && out[3] == 1, "NaN propagation: \(out)")
    }

    @Test func avgPoolFiniteDifferences() {
        let x = randomTensor([2, 3, 7, 6], seed: 91)
        expectGradientsMatch([x], "avg 3/2 pad 1") { t in avgPool2d(t[0], kernel: 3, stride: 2, padding: 1) }
        expectGradientsMatch([x], "avg 2/1 overlapping") { t in avgPool2d(t[0], kernel: 2, stride: 1) }
        expectGradientsMatch([x], "global avg") { t in globalAvgPool2d(t[0]) }
    }

    @Test func avgPoolCountsPadding() {
        // count_include_pad = True: a corner 3×3 window with padding 1 sees 4 ones and divides by 9.
        let x = Tensor.ones([1, 1, 2, 2], dtype: .float64)
        let y = avgPool2d(x, kernel: 3, stride: 1, padding: 1)
        #expect(y.shape == [1, 1, 2, 2])
        for v in y.doubles { #expect(abs(v - 4.0 / 9.0) < 1e-15, "padded average \(v)") }
    }

    @Test func poolingMultiThreadedMatchesSingle() {
        let x = randomTensor([4, 8, 9, 9], seed: 95, dtype: .float32).requiringGrad()
        func run() -> [Tensor] {
            let a = maxPool2d(x, kernel: 3, stride: 2, padding: 1), b = avgPool2d(x, kernel: 2, stride: 1)
            let g = gradients(of: a.sum() + (b * b).sum(), withRespectTo: [x])[0]
            return [a, b, g]
        }
        let one = Engine.withThreads(1) { run() }, two = Engine.withThreads(2) { run() }
        for i in 0..<3 { #expect(one[i].floats == two[i].floats, "pooling result \(i) differs at 2 threads") }
    }
}
