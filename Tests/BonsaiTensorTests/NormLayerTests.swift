import Testing
import BonsaiTensor

/// Layer norm: PyTorch fixture, finite differences, fused kernel against a composite reference.
@Suite struct NormLayerTests {
    @Test func matchesPyTorch() throws {
        let f = try Fixture("layernorm")
        let eps = try #require(f.metaDouble("eps"))
        let x = try f("input").requiringGrad(), w = try f("weight").requiringGrad(), b = try f("bias").requiringGrad()
        let y = layerNorm(x, weight: w, bias: b, eps: eps)
        expectClose(y, try f("output"), "layernorm output")
        let grads = gradients(of: (y * (try f("grad_output"))).sum(), withRespectTo: [x, w, b])
        expectClose(grads[0], try f("grad_input"), "layernorm grad_input")
        expectClose(grads[1], try f("grad_weight"), "layernorm grad_weight")
        expectClose(grads[2], try f("grad_bias"), "layernorm grad_bias")
    }

    @Test(arguments: [[7], [3, 5], [2, 3, 4], [4, 1]])
    func finiteDifferences(_ shape: [Int]) {
        let d = shape[shape.count - 1]
        let x = randomTensor(shape, seed: 41, scale: 2)
        let w = randomTensor([d], seed: 42), b = randomTensor([d], seed: 43)
        expectGradientsMatch([x, w, b], "layerNorm affine \(shape)") { layerNorm($0[0], weight: $0[1], bias: $0[2]) }
        expectGradientsMatch([x], "layerNorm plain \(shape)") { layerNorm($0[0], weight: nil, bias: nil) }
        expectGradientsMatch([x, w], "layerNorm weight only \(shape)") { layerNorm($0[0], weight: $0[1], bias: nil) }
        expectGradientsMatch([x, b], "layerNorm bias only \(shape)") { layerNorm($0[0], weight: nil, bias: $0[1]) }
        expectGradientsMatch([x, w, b], differentiable: [false, true, true], "layerNorm params only \(shape)") {
            layerNorm($0[0], weight: $0[1], bias: $0[2])
        }
        expectGradientsMatch([x, w, b], differentiable: [true, false, false], "layerNorm input only \(shape)") {
            layerNorm($0[0], weight: $0[1], bias: $0[2])
        }
    }

    /// A constant row normalises to 0 (output β) and its gradients stay finite.
    @Test func constantRow() {
        let x = Tensor(shape: [2, 3], scalars: [2.0, 2, 2, 1, -1, 0.5])
        let b = Tensor(shape: [3], scalars: [0.1, 0.2, 0.3])
        let y = layerNorm(x, weight: nil, bias: b)
        #expect(abs(y[0, 0] - 0.1) < 1e-12 && abs(y[0, 2] - 0.3) < 1e-12)
        expectGradientsMatch([x, b], tolerance: 1e-5, "layerNorm constant row") { layerNorm($0[0], weight: nil, bias: $0[1]) }
    }

    @Test(arguments: [[5, 7], [3, 9, 33], [1, 129], [64, 3], [301, 131], [2, 257, 64]])
    func fusedMatchesReference(_ shape: [Int]) {
        for dtype in [DType.float32, .float64] {
            let d = shape[shape.count - 1]
            let x = randomTensor(shape, seed: 51, dtype: dtype, scale: 2).shifted(by: 5).requiringGrad()
            let w = randomTensor([d], seed: 52, dtype: dtype).requiringGrad()
            let b = randomTensor([d], seed: 53, dtype: dtype).requiringGrad()
            let g = randomTensor(shape, seed: 54, dtype: dtype)
            let tolerance = dtype == .float32 ? 1e-4 : 1e-10
            Engine.withThreads(2) {
                let fused = layerNorm(x, weight: w, bias: b, eps: 1e-5)
                let mean = x.mean(axes: [-1], keepDims: true), variance = x.variance(axes: [-1], keepDims: true)
                let plain = (x - mean) / variance.shifted(by: 1e-5).sqrt() * w + b
                expectClose(fused, plain, "layerNorm \(shape) \(dtype) output", tolerance: tolerance)
                let gf = gradients(of: (fused * g).sum(), withRespectTo: [x, w, b])
                let gp = gradients(of: (plain * g).sum(), withRespectTo: [x, w, b])
                for (i, name) in ["x", "weight", "bias"].enumerated() {
                    expectClose(gf[i], gp[i], "layerNorm \(shape) \(dtype) grad \(name)", tolerance: tolerance * 10)
                }
            }
        }
    }
}
