import Testing
import BonsaiTensor

/// Batch norm: PyTorch fixtures (training output, gradients, running statistics, eval output),
/// finite differences in both modes, and the fused kernels against a composite reference.
@Suite struct NormBatchTests {
    // MARK: Fixtures

    @Test(arguments: ["batchnorm1d", "batchnorm2d"])
    func matchesPyTorch(_ name: String) throws {
        let f = try Fixture(name)
        let momentum = try #require(f.metaDouble("momentum")), eps = try #require(f.metaDouble("eps"))
        let x = try f("input").requiringGrad(), w = try f("weight").requiringGrad(), b = try f("bias").requiringGrad()
        var runningMean = try f("running_mean_before"), runningVar = try f("running_var_before")

        let y = batchNorm(x, weight: w, bias: b, runningMean: &runningMean, runningVar: &runningVar,
                          training: true, momentum: momentum, eps: eps)
        expectClose(y, try f("output"), "\(name) output")
        let grads = gradients(of: (y * (try f("grad_output"))).sum(), withRespectTo: [x, w, b])
        expectClose(grads[0], try f("grad_input"), "\(name) grad_input")
        expectClose(grads[1], try f("grad_weight"), "\(name) grad_weight")
        expectClose(grads[2], try f("grad_bias"), "\(name) grad_bias")
        expectClose(runningMean, try f("running_mean_after"), "\(name) running_mean_after")
        expectClose(runningVar, try f("running_var_after"), "\(name) running_var_after")

        // Eval mode with the updated statistics: the differentiable composite (inputs require grad)…
        let evalMean = runningMean, evalVar = runningVar
        let yEval = batchNorm(x, weight: w, bias: b, runningMean: &runningMean, runningVar: &runningVar,
                              training: false, momentum: momentum, eps: eps)
        #expect(yEval.requiresGrad)
        expectClose(yEval, try f("output_eval"), "\(name) output_eval (composite)")
        #expect(runningMean.doubles == evalMean.doubles && runningVar.doubles == evalVar.doubles,
                "\(name): eval mode must not change the running statistics")
        // …and the fused kernel (no graph).
        let fused = Engine.withoutGrad {
            batchNormInference(x, weight: w, bias: b, runningMean: runningMean, runningVar: runningVar, eps: eps)
        }
        #expect(!fused.requiresGrad)
        expectClose(fused, try f("output_eval"), "\(name) output_eval (fused)")
    }

    // MARK: Finite differences

    @Test(arguments: [[6, 3], [4, 3, 5], [3, 2, 3, 2], [2, 1, 2, 3]])
    func trainingGradients(_ shape: [Int]) {
        let c = shape[1]
        let x = randomTensor(shape, seed: 11, scale: 2).shifted(by: 0.5)
        let w = randomTensor([c], seed: 12), b = randomTensor([c], seed: 13)
        func run(_ x: Tensor, _ w: Tensor?, _ b: Tensor?) -> Tensor {
            var mean = Tensor.zeros([c], dtype: .float64), variance = Tensor.ones([c], dtype: .float64)
            return batchNorm(x, weight: w, bias: b, runningMean: &mean, runningVar: &variance, training: true)
        }
        expectGradientsMatch([x, w, b], "batchNorm train affine \(shape)") { run($0[0], $0[1], $0[2]) }
        expectGradientsMatch([x], "batchNorm train plain \(shape)") { run($0[0], nil, nil) }
        expectGradientsMatch([x, w], "batchNorm train weight only \(shape)") { run($0[0], $0[1], nil) }
        expectGradientsMatch([x, b], "batchNorm train bias only \(shape)") { run($0[0], nil, $0[1]) }
        // Only the parameters (the input gradient is skipped: needs[0] false).
        expectGradientsMatch([x, w, b], differentiable: [false, true, true], "batchNorm train params only \(shape)") {
            run($0[0], $0[1], $0[2])
        }
    }

    @Test(arguments: [[5, 4], [2, 3, 3, 2]])
    func evalGradients(_ shape: [Int]) {
        let c = shape[1]
        let x = randomTensor(shape, seed: 21)
        let w = randomTensor([c], seed: 22), b = randomTensor([c], seed: 23)
        let mean = randomTensor([c], seed: 24), variance = randomTensor([c], seed: 25).abs().shifted(by: 0.2)
        expectGradientsMatch([x, w, b], "batchNorm eval affine \(shape)") {
            batchNormInference($0[0], weight: $0[1], bias: $0[2], runningMean: mean, runningVar: variance)
        }
        expectGradientsMatch([x], "batchNorm eval plain \(shape)") {
            batchNormInference($0[0], weight: nil, bias: nil, runningMean: mean, runningVar: variance)
        }
    }

    /// A channel with zero variance: output is β exactly and the input gradient stays finite.
    @Test func constantChannel() {
        var values = randomTensor([4, 2], seed: 5).doubles
        for n in 0..<4 { values[n * 2 + 1] = 3 }
        let x = Tensor(shape: [4, 2], scalars: values)
        let b = Tensor(shape: [2], scalars: [0.5, -1.0])
        expectGradientsMatch([x, b], tolerance: 1e-5, "batchNorm constant channel") { xs in
            var mean = Tensor.zeros([2], dtype: .float64), variance = Tensor.ones([2], dtype: .float64)
            return batchNorm(xs[0], weight: nil, bias: xs[1], runningMean: &mean, runningVar: &variance, training: true)
        }
        var mean = Tensor.zeros([2], dtype: .float64), variance = Tensor.ones([2], dtype: .float64)
        let y = batchNorm(x, weight: nil, bias: b, runningMean: &mean, runningVar: &variance, training: true)
        for n in 0..<4 { #expect(y[n, 1] == -1.0) }
        #expect(abs(variance[1] - 0.9) < 1e-12, "running var of a constant channel decays by 1 − momentum")
    }

    // MARK: Fused kernels against a composite reference

    /// The reference: the same formulas spelled with generic ops (mean, variance, broadcasting).
    private func reference(_ x: Tensor, _ w: Tensor, _ b: Tensor, eps: Double) -> Tensor {
        var axes = [0] + Array(2..<x.rank)
        axes = axes.filter { $0 < x.rank }
        var channelShape = [Int](repeating: 1, count: x.rank)
        channelShape[1] = x.shape[1]
        let mean = x.mean(axes: axes, keepDims: true)
        let variance = x.variance(axes: axes, keepDims: true)
        return (x - mean) / variance.shifted(by: eps).sqrt() * w.reshaped(channelShape) + b.reshaped(channelShape)
    }

    @Test(arguments: [[7, 5], [3, 7, 13], [5, 3, 7, 9], [2, 17, 1, 33]])
    func fusedMatchesReference(_ shape: [Int]) {
        for dtype in [DType.float32, .float64] {
            let c = shape[1]
            let x = randomTensor(shape, seed: 31, dtype: dtype, scale: 3).shifted(by: 10).requiringGrad()
            let w = randomTensor([c], seed: 32, dtype: dtype).requiringGrad()
            let b = randomTensor([c], seed: 33, dtype: dtype).requiringGrad()
            let g = randomTensor(shape, seed: 34, dtype: dtype)
            let tolerance = dtype == .float32 ? 1e-4 : 1e-10
            Engine.withThreads(2) {
                var mean = Tensor.zeros([c], dtype: dtype), variance = Tensor.ones([c], dtype: dtype)
                let fused = batchNorm(x, weight: w, bias: b, runningMean: &mean, runningVar: &variance, training: true)
                let plain = reference(x, w, b, eps: 1e-5)
                expectClose(fused, plain, "batchNorm \(shape) \(dtype) output", tolerance: tolerance)
                let gf = gradients(of: (fused * g).sum(), withRespectTo: [x, w, b])
                let gp = gradients(of: (plain * g).sum(), withRespectTo: [x, w, b])
                for (i, name) in ["x", "weight", "bias"].enumerated() {
                    expectClose(gf[i], gp[i], "batchNorm \(shape) \(dtype) grad \(name)", tolerance: tolerance * 10)
                }
                // Running statistics against the same reference (unbiased variance).
                let axes = [0] + Array(2..<shape.count)
                let m = Double(x.count / c)
                let batchMean = x.detached().mean(axes: axes), batchVar = x.detached().variance(axes: axes)
                expectClose(mean, batchMean.scaled(by: 0.1), "batchNorm \(shape) \(dtype) running mean", tolerance: tolerance)
                expectClose(variance, batchVar.scaled(by: 0.1 * m / (m - 1)).shifted(by: 0.9),
                            "batchNorm \(shape) \(dtype) running var", tolerance: tolerance)
            }
        }
    }

    // MARK: Validation

    @Test func rejectsBadInput() {
        let x = Tensor.zeros([4, 3])
        let good = Tensor.zeros([3])
        #expect(throws: TensorError.self) {
            try checkBatchNormInput(Tensor.zeros([3]), weight: nil, bias: nil, runningMean: good, runningVar: good, training: true)
        }
        #expect(throws: TensorError.self) {
            try checkBatchNormInput(x, weight: Tensor.zeros([4]), bias: nil, runningMean: good, runningVar: good, training: true)
        }
        #expect(throws: TensorError.self) {
            try checkBatchNormInput(x, weight: nil, bias: nil, runningMean: Tensor.zeros([2]), runningVar: good, training: false)
        }
        #expect(throws: TensorError.self) {
            try checkBatchNormInput(x, weight: Tensor.zeros([3], dtype: .float64), bias: nil, runningMean: good,
                                    runningVar: good, training: true)
        }
        // One value per channel: rejected in training (as PyTorch does), fine in eval.
        #expect(throws: TensorError.self) {
            try checkBatchNormInput(Tensor.zeros([1, 3]), weight: nil, bias: nil, runningMean: good, runningVar: good, training: true)
        }
        #expect(throws: Never.self) {
            try checkBatchNormInput(Tensor.zeros([1, 3]), weight: nil, bias: nil, runningMean: good, runningVar: good, training: false)
            try checkBatchNormInput(Tensor.zeros([1, 3, 2, 2]), weight: good, bias: good, runningMean: good, runningVar: good, training: true)
        }
    }
}
