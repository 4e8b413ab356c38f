import Foundation
import Testing
@testable import BonsaiPruning

/// FLOPs / MACs accounting (dense by hand-computed totals, pruned by `positions · nnz`) for every
/// zoo architecture, and the pruning report carrying it.
@Suite struct FlopsTests {
    static func model(_ name: String, input: InputKind, options: ArchitectureOptions = .init()) throws -> any Model {
        var rng = RandomGenerator(seed: 1)
        return try ModelZoo.make(name, input: input, classes: 10, options: options, rng: &rng)
    }

    /// Random masks of the given keep fraction on every prunable weight.
    static func randomMasks(_ model: any Model, density: Double, seed: UInt64 = 4) throws {
        var rng = RandomGenerator(seed: seed)
        var masks: [String: Tensor] = [:]
        for (path, p) in model.namedParameters() where p.role.isPrunableByDefault {
            masks[path] = Tensor(shape: p.shape, scalars: (0..<p.value.count).map { _ in
                Float(rng.next() % 1000) < Float(density * 1000) ? 1 : 0 })
        }
        try MaskSet(masks).apply(to: model)
    }

    @Test func lenet300DenseAndPruned() throws {
        let m = try Self.model("lenet300", input: .image(channels: 1, height: 28, width: 28))
        let dense = try #require(FlopCounter.count(m, input: .image(channels: 1, height: 28, width: 28)))
        #expect(dense.denseMACs == 784 * 300 + 300 * 100 + 100 * 10)
        #expect(dense.prunedMACs == dense.denseMACs)
        #expect(dense.denseFLOPs == 2 * dense.denseMACs)
        try Self.randomMasks(m, density: 0.1)
        let pruned = try #require(FlopCounter.count(m, input: .image(channels: 1, height: 28, width: 28)))
        let nnz = MaskSet(model: m).counts.kept
        #expect(pruned.prunedMACs == nnz, "one use per weight per sample")
        #expect(pruned.layers.map(\.path) == ["1.weight", "3.weight", "5.weight"])
        #expect(abs(pruned.reduction - Double(pruned.denseMACs) / Double(nnz)) < 1e-12)
    }

    @Test func lenet5CountsPerOutputPosition() throws {
        let input = InputKind.image(channels: 1, height: 28, width: 28)
        let m = try Self.model("lenet5", input: input)
        let f = try #require(FlopCounter.count(m, input: input))
        #expect(f.layers.map(\.denseMACs) == [24 * 24 * 20 * 25, 8 * 8 * 50 * 20 * 25, 800 * 500, 500 * 10])
        #expect(f.layers.map(\.positions) == [576, 64, 1, 1])
        try Self.randomMasks(m, density: 0.25)
        let g = try #require(FlopCounter.count(m, input: input))
        let masks = MaskSet(model: m)
        #expect(g.layers[0].prunedMACs == 576 * masks.keptCount("conv1.weight"))
        #expect(g.layers[1].prunedMACs == 64 * masks.keptCount("conv2.weight"))
        #expect(g.layers[2].prunedMACs == masks.keptCount("fc1.weight"))
    }

    @Test func resnet20MatchesTheLiterature() throws {
        let input = InputKind.image(channels: 3, height: 32, width: 32)
        let f = try #require(FlopCounter.count(try Self.model("resnet20", input: input), input: input))
        // 40.55 M MACs (He et al.'s option-A ResNet-20) plus our two 1×1 projection shortcuts (option B).
        let shortcuts = 16 * 16 * 32 * 16 + 8 * 8 * 64 * 32
        #expect(f.denseMACs == 40_551_040 + shortcuts)
        #expect(f.layers.count == 1 + 18 + 2 + 1)
    }

    @Test func convNetAndVGG() throws {
        let input = InputKind.image(channels: 3, height: 32, width: 32)
        let conv4 = try #require(FlopCounter.count(try Self.model("conv4", input: input), input: input))
        let expected = 1024 * 64 * 27 + 1024 * 64 * 576 + 256 * 128 * 576 + 256 * 128 * 1152 + 8192 * 256 + 256 * 256 + 2560
        #expect(conv4.denseMACs == expected)
        let vgg = try Self.model("vgg11", input: input, options: ArchitectureOptions(width: 0.25))
        let v = try #require(FlopCounter.count(vgg, input: input))
        #expect(v.layers.filter { $0.kind == "conv" }.map(\.positions) == [1024, 256, 64, 64, 16, 16, 4, 4])
        #expect(v.layers.first?.denseMACs == 1024 * 16 * 27)
        #expect(v.layers.last?.denseMACs == 128 * 10)
    }

    @Test func tinyBertCountsAttentionProducts() throws {
        let input = InputKind.tokens(vocabulary: 50, maxLength: 8)
        let m = try Self.model("tinybert", input: input, options: ArchitectureOptions(dim: 16, heads: 2, layers: 1))
        let f = try #require(FlopCounter.count(m, input: input))
        let t = 8, e = 16
        #expect(f.layers.map(\.denseMACs) == [t * 3 * e * e, t * t * e, t * t * e, t * e * e, t * e * 4 * e, t * 4 * e * e, e * 10])
        try Self.randomMasks(m, density: 0.5)
        let g = try #require(FlopCounter.count(m, input: input))
        #expect(g.layers.filter { $0.kind == "attention" }.allSatisfy { $0.prunedMACs == $0.denseMACs })
        #expect(g.layers[0].prunedMACs == t * MaskSet(model: m).keptCount("encoder.layers.0.self_attn.in_proj_weight"))
        #expect(FlopCounter.count(m, input: .image(channels: 1, height: 8, width: 8)) == nil)
    }

    @Test func codableRoundTripKeepsFlopFields() throws {
        let f = FlopsSummary(layers: [LayerFlops(path: "a", kind: "conv", positions: 4, denseMACs: 40, prunedMACs: 8)])
        let json = try JSONEncoder().encode(f)
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(object["dense_flops"] as? Int == 80 && object["pruned_macs"] as? Int == 8)
        #expect(try JSONDecoder().decode(FlopsSummary.self, from: json) == f)
    }
}
