import Testing
import BonsaiTensor

@Suite struct EmbeddingTests {
    @Test func matchesPyTorch() throws {
        let f = try Fixture("embedding")
        let ids = try f.integers("ids")
        let weight = try f("weight").requiringGrad()
        let y = embedding(ids, shape: [2, 4], weight: weight)
        expectClose(y, try f("output"), "embedding output")
        let grads = gradients(of: (y * (try f("grad_output"))).sum(), withRespectTo: [weight])
        expectClose(grads[0], try f("grad_weight"), "embedding grad_weight")
    }

    /// Repeated ids accumulate their gradients; unused rows get zero.
    @Test func repeatedIdsGradient() {
        let weight = randomTensor([6, 3], seed: 61)
        let ids = [2, 0, 2, 5, 2, 0]
        expectGradientsMatch([weight], "embedding repeated ids") { embedding(ids, shape: [2, 3], weight: $0[0]) }
        let w = weight.requiringGrad()
        let grad = gradients(of: embedding(ids, shape: [3, 2], weight: w).sum(), withRespectTo: [w])[0]
        #expect(grad.doubles == [2, 2, 2, 0, 0, 0, 3, 3, 3, 0, 0, 0, 0, 0, 0, 1, 1, 1])
    }

    @Test func shapesAndValues() throws {
        let weight = Tensor(shape: [3, 2], scalars: [0.0, 1, 10, 11, 20, 21])
        let y = embedding([2, 1, 0, 2], shape: [2, 1, 2], weight: weight)
        #expect(y.shape == [2, 1, 2, 2])
        #expect(y.doubles == [20, 21, 10, 11, 0, 1, 20, 21])
        let empty = try embedding(validating: [], shape: [0, 5], weight: weight)
        #expect(empty.shape == [0, 5, 2])
    }

    @Test func rejectsBadIds() {
        let weight = Tensor.zeros([4, 2])
        #expect(throws: TensorError.self) { try embedding(validating: [0, 4], shape: [2], weight: weight) }
        #expect(throws: TensorError.self) { try embedding(validating: [-1], shape: [1], weight: weight) }
        #expect(throws: TensorError.self) { try embedding(validating: [0, 1, 2], shape: [2, 2], weight: weight) }
        #expect(throws: TensorError.self) { try embedding(validating: [0], shape: [1], weight: Tensor.zeros([4])) }
        do {
            _ = try embedding(validating: [1, 7], shape: [2], weight: weight)
            Issue.record("an out-of-range id must throw")
        } catch {
            #expect("\(error)".contains("id 7 at position 1"), "message names the id and position: \(error)")
        }
    }
}
