import Foundation
import Testing
import BonsaiNN

/// Golden files of whole models from PyTorch (`model_*`): logits, loss, every parameter gradient in
/// training mode, and the state dict after the forward (batch-norm running statistics updated).
@Suite struct ModelFixtureTests {
    static let cases: [(file: String, build: @Sendable (inout RandomGenerator) -> any Model)] = [
        ("model_lenet300", { MLP.make(rng: &$0) }),
        ("model_lenet5", { LeNet5(rng: &$0) }),
        ("model_conv4_8px", { ConvNet(depth: 4, image: 8, rng: &$0) }),
        ("model_vgg11_w0.25", { VGG.make(depth: 11, width: 0.25, rng: &$0) }),
        ("model_resnet20", { ResNet(depth: 20, rng: &$0) }),
        ("model_tinybert_small", { TinyBert(vocabulary: 50, dim: 16, heads: 2, layers: 2, maxLength: 12, rng: &$0) }),
    ]

    @Test(arguments: 0..<6)
    func modelMatchesPyTorch(_ index: Int) throws {
        let (name, build) = Self.cases[index]
        let f = try TestFixture(name)
        var rng = RandomGenerator(seed: 1)
        let model = build(&rng)

        // The state dict has exactly the reference's keys and shapes.
        let stateKeys = f.file.names.filter { $0.hasPrefix("state.") }.map { String($0.dropFirst(6)) }
        #expect(Set(model.stateDict().map(\.key)) == Set(stateKeys), "\(name): state-dict keys differ")
        for (path, parameter) in model.namedParameters() {
            parameter.assign(try f("state.\(path)"))
        }

        let input: ModelInput
        if name.contains("tinybert") {
            let ids = try f.integers("input"), mask = try f.integers("attention_mask")
            let shape = try f.file.entry("input").shape
            input = .tokens(TokenBatch(ids: ids, mask: mask, batch: shape[0], length: shape[1]))
        } else {
            input = .dense(try f("input"))
        }
        let labels = try f.integers("labels")
        let logits = model.forward(input, context: ForwardContext(training: true))
        let loss = crossEntropy(logits: logits, labels: labels)
        expectClose(logits, try f("logits"), "\(name) logits", tolerance: 1e-3)
        expectClose(loss.reshaped([1]), try f("loss"), "\(name) loss", tolerance: 1e-3)
        loss.backward()
        for (path, parameter) in model.namedParameters() {
            expectClose(parameter.grad, try f("grad.\(path)"), "\(name) grad.\(path)", tolerance: 1e-3)
        }
        for (path, buffer) in model.namedBuffers() {
            switch buffer.value {
            case let .tensor(t): expectClose(t, try f("state.\(path)"), "\(name) state.\(path)", tolerance: 1e-3)
            case let .count(n): #expect(n == (try f.integers("state.\(path)")).first, "\(name) \(path)")
            }
        }
    }
}
