/// Multiply-accumulate (MAC) accounting per layer and in total, dense and after pruning
/// (METHODS.md §17 "FLOPs / MACs with masks").
///
/// Conventions (per input sample, i.e. batch 1):
/// - A linear layer applied at `P` positions (1 for an image classifier, `T` tokens in a
///   transformer) costs `P · out · in` dense MACs and `P · nnz(W ⊙ m)` after pruning: only the
///   multiplies by a non-zero effective weight are counted (unstructured sparsity, as a sparse
///   kernel would execute them).
/// - A conv layer costs, at each of its `Ho·Wo` output positions, one MAC per weight:
///   `Ho·Wo · O · (C/groups) · kh · kw` dense and `Ho·Wo · nnz(W ⊙ m)` pruned. Taps that fall on
///   zero padding are counted like the others (they are multiplied in an im2col GEMM).
/// - Attention's activation × activation products (`Q·Kᵀ` and `softmax · V`) cost `T · T · E`
///   MACs each per layer, unaffected by weight pruning.
/// - FLOPs = 2 · MACs. Bias adds, normalisation, activations, pooling, softmax and embedding
///   lookups are not counted (they are O(activations), not O(weights), and papers omit them).
public struct LayerFlops: Codable, Sendable, Equatable {
    /// The weight's parameter path, or a descriptive name for an activation product.
    public var path: String
    /// "conv", "linear" or "attention".
    public var kind: String
    /// Output positions per sample the weight is applied at (`Ho·Wo`, tokens, or 1).
    public var positions: Int
    public var denseMACs: Int
    public var prunedMACs: Int

    public var denseFLOPs: Int { 2 * denseMACs }
    public var prunedFLOPs: Int { 2 * prunedMACs }

    enum CodingKeys: String, CodingKey {
        case path, kind, positions
        case denseMACs = "dense_macs", prunedMACs = "pruned_macs", denseFLOPs = "dense_flops", prunedFLOPs = "pruned_flops"
    }

    public init(path: String, kind: String, positions: Int, denseMACs: Int, prunedMACs: Int) {
        self.path = path; self.kind = kind; self.positions = positions; self.denseMACs = denseMACs; self.prunedMACs = prunedMACs
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(path: try c.decode(String.self, forKey: .path), kind: try c.decode(String.self, forKey: .kind),
                  positions: try c.decode(Int.self, forKey: .positions), denseMACs: try c.decode(Int.self, forKey: .denseMACs),
                  prunedMACs: try c.decode(Int.self, forKey: .prunedMACs))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(path, forKey: .path); try c.encode(kind, forKey: .kind); try c.encode(positions, forKey: .positions)
        try c.encode(denseMACs, forKey: .denseMACs); try c.encode(prunedMACs, forKey: .prunedMACs)
        try c.encode(denseFLOPs, forKey: .denseFLOPs); try c.encode(prunedFLOPs, forKey: .prunedFLOPs)
    }
}

/// Per-layer MACs and their totals.
public struct FlopsSummary: Codable, Sendable, Equatable {
    public var layers: [LayerFlops]
    public var denseMACs: Int
    public var prunedMACs: Int
    public var denseFLOPs: Int
    public var prunedFLOPs: Int
    /// `dense / pruned` (∞ is reported as 0 when nothing is left).
    public var reduction: Double

    enum CodingKeys: String, CodingKey {
        case layers, reduction
        case denseMACs = "dense_macs", prunedMACs = "pruned_macs", denseFLOPs = "dense_flops", prunedFLOPs = "pruned_flops"
    }

    public init(layers: [LayerFlops]) {
        self.layers = layers
        denseMACs = layers.reduce(0) { $0 + $1.denseMACs }
        prunedMACs = layers.reduce(0) { $0 + $1.prunedMACs }
        denseFLOPs = 2 * denseMACs
        prunedFLOPs = 2 * prunedMACs
        reduction = prunedMACs == 0 ? 0 : Double(denseMACs) / Double(prunedMACs)
    }
}

public enum FlopCounter {
    /// The MACs of `model` on one sample of `input` (nil for a structure the zoo does not know).
    public static func count(_ model: Module, input: InputKind) -> FlopsSummary? {
        guard let plan = InferencePlan.make(model) else { return nil }
        switch (plan, input) {
        case let (.steps(steps), .image(c, h, w)):
            var layers: [LayerFlops] = []
            _ = walk(steps, shape: [c, h, w], into: &layers)
            return FlopsSummary(layers: layers)
        case let (.transformer(bert), .tokens(_, length)):
            return FlopsSummary(layers: transformer(bert, length: Swift.min(length, bert.maxLength)))
        default:
            return nil
        }
    }

    /// Non-zeros of a parameter's effective (masked) value.
    static func nonzeros(_ p: Parameter) -> Int {
        let values = Engine.withoutGrad { p.effective }
        return values.doubles.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
    }

    /// Propagates the per-sample `shape` through `steps`, appending each weight layer's MACs.
    static func walk(_ steps: [InferenceStep], shape: [Int], into layers: inout [LayerFlops]) -> [Int] {
        var shape = shape
        for step in steps {
            switch step {
            case let .linear(path, layer):
                let positions = shape.dropLast().reduce(1, *)
                layers.append(LayerFlops(path: path, kind: "linear", positions: positions,
                                         denseMACs: positions * layer.weight.value.count,
                                         prunedMACs: positions * nonzeros(layer.weight)))
                shape = Array(shape.dropLast()) + [layer.outFeatures]
            case let .conv(path, layer):
                let out = Conv2dGeometry(stride: layer.stride, padding: layer.padding, groups: layer.groups)
                    .outputSize(height: shape[1], width: shape[2], kernelH: layer.kernel, kernelW: layer.kernel)
                let positions = out.height * out.width
                layers.append(LayerFlops(path: path, kind: "conv", positions: positions,
                                         denseMACs: positions * layer.weight.value.count,
                                         prunedMACs: positions * nonzeros(layer.weight)))
                shape = [layer.outChannels, out.height, out.width]
            case .batchNorm, .relu: break
            case let .maxPool(kernel, stride):
                shape = [shape[0], (shape[1] - kernel) / stride + 1, (shape[2] - kernel) / stride + 1]
            case let .globalAvgPool(keep): shape = keep ? [shape[0], 1, 1] : [shape[0]]
            case .flatten: shape = [shape.reduce(1, *)]
            case let .residual(body, shortcut):
                let out = walk(body, shape: shape, into: &layers)
                _ = walk(shortcut, shape: shape, into: &layers)
                shape = out
            }
        }
        return shape
    }

    /// Every encoder layer at `T` tokens: the input projection (`3E × E`), `Q·Kᵀ` and
    /// `softmax · V` (`T·T·E` each), the output projection and the two feed-forward layers; then
    /// the classifier once on the pooled vector.
    static func transformer(_ bert: TinyBert, length t: Int) -> [LayerFlops] {
        var layers: [LayerFlops] = []
        func linear(_ path: String, _ p: Parameter, positions: Int) {
            layers.append(LayerFlops(path: path, kind: "linear", positions: positions, denseMACs: positions * p.value.count,
                                     prunedMACs: positions * nonzeros(p)))
        }
        for (i, layer) in bert.layers.items.enumerated() {
            let prefix = "encoder.layers.\(i)."
            let dim = layer.linear1.inFeatures
            linear(prefix + "self_attn.in_proj_weight", layer.selfAttention.inProjWeight, positions: t)
            for name in ["scores (Q·Kᵀ)", "context (A·V)"] {
                layers.append(LayerFlops(path: prefix + "self_attn." + name, kind: "attention", positions: t * t,
                                         denseMACs: t * t * dim, prunedMACs: t * t * dim))
            }
            linear(prefix + "self_attn.out_proj.weight", layer.selfAttention.outProj.weight, positions: t)
            linear(prefix + "linear1.weight", layer.linear1.weight, positions: t)
            linear(prefix + "linear2.weight", layer.linear2.weight, positions: t)
        }
        linear("classifier.weight", bert.classifier.weight, positions: 1)
        return layers
    }
}
