import Testing
@testable import BonsaiTensor

/// The vectorised Float32 run sums of batch norm against plain Float64 loops, on lengths around the
/// 16-lane width and the 256-element block (tails included), and batch norm in Float32 (which takes
/// the vectorised path when a channel's runs have ≥ 16 values) against the same op in Float64.
@Suite struct RunSumsTests {
    /// Values with a large common offset, where a naive single-pass Float32 variance would fail.
    private func values(_ count: Int, seed: UInt64, offset: Float = 3) -> [Float] {
        randomTensor([count], seed: seed, dtype: .float32).floats.map { $0 + offset }
    }

    @Test(arguments: [1, 15, 16, 17, 255, 256, 257, 1000, 4099])
    func sumsMatchFloat64Loops(_ count: Int) {
        let x = values(count, seed: UInt64(count)), dy = values(count, seed: UInt64(count) + 1, offset: -0.5)
        let exactSum = x.reduce(0.0) { $0 + Double($1) }
        let mean = Float(exactSum / Double(count))
        var exactSquares = 0.0, exactDy = 0.0, exactProduct = 0.0
        for i in 0..<count {
            let d = Double(x[i]) - Double(mean)
            exactSquares += d * d
            exactDy += Double(dy[i])
            exactProduct += Double(dy[i]) * d
        }
        x.withUnsafeBufferPointer { px in
            dy.withUnsafeBufferPointer { pd in
                let sum = RunSums.sum(px.baseAddress!, count: count)
                let squares = RunSums.squaredDeviations(px.baseAddress!, count: count, mean: mean)
                let grads = RunSums.gradientSums(dy: pd.baseAddress!, x: px.baseAddress!, count: count, mean: mean)
                let scale = Double(count) * 3.5
                #expect(abs(sum - exactSum) <= 1e-6 * scale, "sum over \(count): \(sum) vs \(exactSum)")
                #expect(abs(squares - exactSquares) <= 1e-5 * max(exactSquares, 1),
                        "squared deviations over \(count): \(squares) vs \(exactSquares)")
                #expect(abs(grads.sumDy - exactDy) <= 1e-6 * scale, "Σ dy over \(count): \(grads.sumDy) vs \(exactDy)")
                #expect(abs(grads.sumDyCentered - exactProduct) <= 1e-5 * Double(count),
                        "Σ dy·(x − μ) over \(count): \(grads.sumDyCentered) vs \(exactProduct)")
            }
        }
    }

    @Test func momentsOverStridedRuns() {
        // 3 runs of 40 values, 80 apart: the layout of one channel of a [3, 2, 40] batch.
        let x = values(240, seed: 9)
        var picked: [Double] = []
        for run in 0..<3 { for i in 0..<40 { picked.append(Double(x[run * 80 + 40 + i])) } }
        let mean = picked.reduce(0, +) / Double(picked.count)
        let variance = picked.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(picked.count)
        let moments = x.withUnsafeBufferPointer { RunSums.moments($0.baseAddress!, runs: stride(from: 40, to: 240, by: 80), length: 40) }
        #expect(abs(moments.mean - mean) <= 1e-6 * abs(mean), "mean \(moments.mean) vs \(mean)")
        #expect(abs(moments.variance - variance) <= 1e-5 * variance, "variance \(moments.variance) vs \(variance)")
    }

    /// The Float32 training forward and every gradient agree with the Float64 op to Float32 accuracy,
    /// for inner sizes below (1×3), at (4×4) and above (5×7, 17×17) the vectorised threshold.
    @Test(arguments: [[4, 3, 1, 3], [2, 5, 4, 4], [3, 2, 5, 7], [2, 3, 17, 17]])
    func float32BatchNormMatchesFloat64(_ shape: [Int]) {
        let x64 = randomTensor(shape, seed: 21, scale: 2) + Tensor.full([1], value: 1.5, dtype: .float64)
        let w64 = randomTensor([shape[1]], seed: 22), b64 = randomTensor([shape[1]], seed: 23)
        let g64 = randomTensor(shape, seed: 24)
        func run(_ dtype: DType) -> [Tensor] {
            let x = x64.cast(to: dtype).requiringGrad(), w = w64.cast(to: dtype).requiringGrad()
            let b = b64.cast(to: dtype).requiringGrad(), g = g64.cast(to: dtype)
            var mean = Tensor.zeros([shape[1]], dtype: dtype), variance = Tensor.ones([shape[1]], dtype: dtype)
            let y = batchNorm(x, weight: w, bias: b, runningMean: &mean, runningVar: &variance, training: true)
            let grads = gradients(of: (y * g).sum(), withRespectTo: [x, w, b])
            return [y] + grads + [mean, variance]
        }
        let single = run(.float32), double = run(.float64)
        for (index, name) in ["output", "grad_input", "grad_weight", "grad_bias", "running_mean", "running_var"].enumerated() {
            expectClose(single[index].cast(to: .float64), double[index], "batchNorm float32 \(name) \(shape)", tolerance: 1e-4)
        }
    }
}
