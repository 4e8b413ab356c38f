import Testing
import BonsaiTensor

@Suite struct SmokeTests {
    @Test func linearMatchesFixture() throws {
        let f = try Fixture("linear")
        let x = try f("input").requiringGrad(), w = try f("weight").requiringGrad(), b = try f("bias").requiringGrad()
        let y = linear(x, weight: w, bias: b)
        #expect(y.requiresGrad && !y.isLeaf)
        expectClose(y, try f("output"), "output")
        let grads = gradients(of: (y * (try f("grad_output"))).sum(), withRespectTo: [x, w, b])
        expectClose(grads[0], try f("grad_input"), "grad_input")
        expectClose(grads[1], try f("grad_weight"), "grad_weight")
        expectClose(grads[2], try f("grad_bias"), "grad_bias")
    }

    @Test func arithmeticGradients() {
        let a = randomTensor([3, 4], seed: 1), b = randomTensor([4], seed: 2)
        expectGradientsMatch([a, b], "broadcast mul/add/div") { x in (x[0] * x[1] + x[1]) / (x[0] * x[0] + 1.0) }
        expectGradientsMatch([a], "softmax") { x in x[0].softmax() }
        expectGradientsMatch([a], "logSoftmax") { x in x[0].logSoftmax() }
        expectGradientsMatch([a, randomTensor([4, 5], seed: 3)], "matmul") { x in x[0].matmul(x[1]) }
    }
}
