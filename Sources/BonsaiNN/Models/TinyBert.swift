/// A small BERT-style encoder classifier (post-norm, GELU, learned positions), the target of
/// movement pruning. `h = LayerNorm(tokens(ids) + positions(0..<T))`, then the encoder layers with the
/// padding mask, then the mean of `h` over real tokens into `classifier`. Keys match `TinyBert` in
/// the reference (`tokens.weight`, `encoder.layers.0.self_attn.in_proj_weight`, …).
public final class TinyBert: Module, Model {
    public let tokens: Embedding, positions: Embedding
    public let norm: LayerNorm
    public let encoder: Module
    public let layers: ModuleList<TransformerEncoderLayer>
    public let classifier: Linear
    public let maxLength: Int

    public init(vocabulary: Int = 8192, dim: Int = 128, heads: Int = 2, layers count: Int = 2, maxLength: Int = 128,
                classes: Int = 2, dropout: Double = 0, rng: inout RandomGenerator) {
        tokens = Embedding(vocabulary, dim, rng: &rng)
        positions = Embedding(maxLength, dim, rng: &rng)
        norm = LayerNorm(dim)
        layers = ModuleList((0..<count).map { _ in
            TransformerEncoderLayer(dim: dim, heads: heads, feedForward: 4 * dim, dropout: dropout, rng: &rng)
        })
        encoder = Module()
        encoder.register(child: "layers", layers)
        classifier = Linear(dim, classes, rng: &rng)
        self.maxLength = maxLength
        super.init()
        register(child: "tokens", tokens)
        register(child: "positions", positions)
        register(child: "norm", norm)
        register(child: "encoder", encoder)
        register(child: "classifier", classifier)
    }

    /// The pooled representation `[B, E]` (mean over real tokens), before the classifier.
    public func encode(_ batch: TokenBatch, context: ForwardContext) -> Tensor {
        let h = hiddenStates(batch, context: context)
        let mask = Tensor(shape: [batch.batch, batch.length, 1], scalars: batch.mask.map(Float.init)).cast(to: h.dtype)
        let counts = mask.sum(axes: [1])                                   // [B, 1]
        return (h * mask).sum(axes: [1]) / counts
    }

    /// The encoder's output for every token, `[B, T, E]` (what a masked-language-model head reads).
    public func hiddenStates(_ batch: TokenBatch, context: ForwardContext) -> Tensor {
        precondition(batch.length <= maxLength, "TinyBert: sequence length \(batch.length) exceeds max_len \(maxLength)")
        let (b, t) = (batch.batch, batch.length)
        // [B, T, E] + [T, E]: the position rows broadcast over the batch, as in the reference.
        var h = norm.forward(tokens.forward(batch.ids, shape: [b, t]) + positions.forward(Array(0..<t), shape: [t]),
                             context: context)
        let padding = batch.mask.map { $0 == 0 }
        for layer in layers.items { h = layer.forward(h, padding: padding, context: context) }
        return h
    }

    public func forward(_ input: ModelInput, context: ForwardContext) -> Tensor {
        guard case let .tokens(batch) = input else {
            preconditionFailure("TinyBert: expects token input, got a dense tensor")
        }
        return classifier.forward(encode(batch, context: context), context: context)
    }
}
