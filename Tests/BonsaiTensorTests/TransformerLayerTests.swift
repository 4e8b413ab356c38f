import Testing
import BonsaiTensor

/// `nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, activation="gelu",
/// batch_first=True)`: the PyTorch fixture (output and every gradient), finite differences with and
/// without dropout, and weights by name.
@Suite struct TransformerLayerTests {
    @Test func matchesPyTorch() throws {
        let f = try Fixture("transformer_layer")
        let heads = try #require(f.metaInt("heads")), eps = try #require(f.metaDouble("eps"))
        #expect(f.meta("activation") == "gelu" && f.meta("norm_first") == "false")
        var parameters: [String: Tensor] = [:]
        for name in TransformerEncoderLayerWeights.parameterNames { parameters[name] = try f(name).requiringGrad() }
        let weights = try TransformerEncoderLayerWeights(parameters: parameters)
        let x = try f("input").requiringGrad()
        let padding = try f.integers("padding_mask").map { $0 != 0 }
        #expect(padding.contains(true), "the fixture exercises the padding mask")

        let y = transformerEncoderLayer(x, weights: weights, heads: heads, keyPaddingMask: padding, eps: eps)
        expectClose(y, try f("output"), "transformer_layer output")
        let named = weights.namedParameters
        let grads = gradients(of: (y * (try f("grad_output"))).sum(), withRespectTo: [x] + named.map(\.tensor))
        expectClose(grads[0], try f("grad_input"), "transformer_layer grad_input")
        for (i, (name, _)) in named.enumerated() {
            expectClose(grads[i + 1], try f("grad." + name), "transformer_layer grad.\(name)")
        }
    }

    static func randomWeights(embed e: Int, feedForward ff: Int, seed: UInt64) -> TransformerEncoderLayerWeights {
        TransformerEncoderLayerWeights(
            selfAttention: AttentionTests.randomWeights(embed: e, seed: seed),
            linear1Weight: randomTensor([ff, e], seed: seed + 10, scale: 0.5), linear1Bias: randomTensor([ff], seed: seed + 11, scale: 0.2),
            linear2Weight: randomTensor([e, ff], seed: seed + 12, scale: 0.5), linear2Bias: randomTensor([e], seed: seed + 13, scale: 0.2),
            norm1Weight: randomTensor([e], seed: seed + 14).shifted(by: 1), norm1Bias: randomTensor([e], seed: seed + 15, scale: 0.2),
            norm2Weight: randomTensor([e], seed: seed + 16).shifted(by: 1), norm2Bias: randomTensor([e], seed: seed + 17, scale: 0.2))
    }

    /// Rebuilds the weights from a flat list in `namedParameters` order.
    static func weights(from xs: ArraySlice<Tensor>) -> TransformerEncoderLayerWeights {
        let names = TransformerEncoderLayerWeights.parameterNames
        let dict = Dictionary(uniqueKeysWithValues: zip(names, xs))
        return TransformerEncoderLayerWeights(
            selfAttention: MultiHeadAttentionWeights(inProjWeight: dict["self_attn.in_proj_weight"]!, inProjBias: dict["self_attn.in_proj_bias"]!,
                                                     outProjWeight: dict["self_attn.out_proj.weight"]!, outProjBias: dict["self_attn.out_proj.bias"]!),
            linear1Weight: dict["linear1.weight"]!, linear1Bias: dict["linear1.bias"]!,
            linear2Weight: dict["linear2.weight"]!, linear2Bias: dict["linear2.bias"]!,
            norm1Weight: dict["norm1.weight"]!, norm1Bias: dict["norm1.bias"]!,
            norm2Weight: dict["norm2.weight"]!, norm2Bias: dict["norm2.bias"]!)
    }

    @Test(arguments: [0.0, 0.3])
    func finiteDifferences(_ p: Double) {
        let w = Self.randomWeights(embed: 4, feedForward: 6, seed: 101)
        let x = randomTensor([2, 3, 4], seed: 102)
        let padding = [false, false, true, false, false, false]
        expectGradientsMatch([x] + w.namedParameters.map(\.tensor), tolerance: 1e-5, "transformer layer dropout \(p)") { xs in
            var rng = RandomGenerator(seed: 8)   // a fresh generator per call: the masks are fixed
            return transformerEncoderLayer(xs[0], weights: Self.weights(from: xs[1...]), heads: 2, keyPaddingMask: padding,
                                           dropout: p, training: true, rng: &rng)
        }
    }

    @Test func dropoutIsSeededAndOffInEval() {
        let w = Self.randomWeights(embed: 4, feedForward: 6, seed: 103)
        let x = randomTensor([2, 3, 4], seed: 104)
        var r1 = RandomGenerator(seed: 1), r2 = RandomGenerator(seed: 1), r3 = RandomGenerator(seed: 1)
        let a = transformerEncoderLayer(x, weights: w, heads: 2, keyPaddingMask: nil, dropout: 0.2, training: true, rng: &r1)
        let b = transformerEncoderLayer(x, weights: w, heads: 2, keyPaddingMask: nil, dropout: 0.2, training: true, rng: &r2)
        let eval = transformerEncoderLayer(x, weights: w, heads: 2, keyPaddingMask: nil, dropout: 0.2, training: false, rng: &r3)
        let plain = transformerEncoderLayer(x, weights: w, heads: 2)
        #expect(a.doubles == b.doubles)
        #expect(relativeError(a, plain) > 1e-3)
        #expect(eval.doubles == plain.doubles)
        #expect(r3 == RandomGenerator(seed: 1), "eval draws no random numbers")
    }

    @Test func weightsByPyTorchName() throws {
        let w = Self.randomWeights(embed: 4, feedForward: 6, seed: 105)
        #expect(w.namedParameters.map(\.name) == TransformerEncoderLayerWeights.parameterNames)
        let dict = Dictionary(uniqueKeysWithValues: w.namedParameters.map { ("encoder.layers.0." + $0.name, $0.tensor) })
        let read = try TransformerEncoderLayerWeights(parameters: dict, prefix: "encoder.layers.0.")
        #expect(read.modelDim == 4 && read.feedForwardDim == 6)
        for (a, b) in zip(read.namedParameters, w.namedParameters) { #expect(a.tensor.doubles == b.tensor.doubles, "\(a.name)") }
        var missing = dict
        missing["encoder.layers.0.norm2.bias"] = nil
        #expect(throws: TensorError.self) { try TransformerEncoderLayerWeights(parameters: missing, prefix: "encoder.layers.0.") }
        var misshapen = dict
        misshapen["encoder.layers.0.linear2.weight"] = Tensor.zeros([4, 5])
        #expect(throws: TensorError.self) { try TransformerEncoderLayerWeights(parameters: misshapen, prefix: "encoder.layers.0.") }
    }
}
